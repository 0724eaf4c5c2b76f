package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
)

// kind is the type of one decoded CBOR data item. Only the subset of
// dag-cbor this package writes exists: no negative integers, booleans, null,
// undefined, half or single floats, indefinite lengths or tags other than 42.
type kind uint8

const (
	kUint kind = iota + 1
	kBytes
	kText
	kArray
	kMap
	kCID
	kFloat
)

var kindNames = map[kind]string{
	kUint: "unsigned integer", kBytes: "byte string", kText: "text string",
	kArray: "array", kMap: "map", kCID: "CID (tag 42)", kFloat: "float64",
}

func (k kind) String() string { return kindNames[k] }

// item is one CBOR data item. Map entries are kept in key order.
type item struct {
	kind kind
	u    uint64
	f    float64
	b    []byte // bytes, text or CID bytes
	list []item
	keys []string
	vals []item
}

// CBOR major types.
const (
	majUint  = 0
	majBytes = 2
	majText  = 3
	majArray = 4
	majMap   = 5
	majTag   = 6
	majOther = 7
)

const (
	tagCID     = 42
	float64Hdr = 0xfb
	maxDepth   = 6
)

func uintItem(v uint64) item   { return item{kind: kUint, u: v} }
func textItem(s string) item   { return item{kind: kText, b: []byte(s)} }
func bytesItem(b []byte) item  { return item{kind: kBytes, b: b} }
func floatItem(f float64) item { return item{kind: kFloat, f: f} }
func cidItem(c cid.Cid) item   { return item{kind: kCID, b: c.Bytes()} }
func arrayItem(l []item) item  { return item{kind: kArray, list: l} }
func mapItem(m map[string]item) item {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	vals := make([]item, len(keys))
	for i, k := range keys {
		vals[i] = m[k]
	}
	return item{kind: kMap, keys: keys, vals: vals}
}

// keyLess is the dag-cbor map key order: shorter keys first, then bytewise.
func keyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// appendHead appends a CBOR head with the shortest argument encoding.
func appendHead(dst []byte, major byte, v uint64) []byte {
	m := major << 5
	switch {
	case v < 24:
		return append(dst, m|byte(v))
	case v <= math.MaxUint8:
		return append(dst, m|24, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, m|25), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, m|26), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, m|27), v)
	}
}

// appendItem appends the canonical encoding of it.
func appendItem(dst []byte, it item) []byte {
	switch it.kind {
	case kUint:
		return appendHead(dst, majUint, it.u)
	case kBytes:
		return append(appendHead(dst, majBytes, uint64(len(it.b))), it.b...)
	case kText:
		return append(appendHead(dst, majText, uint64(len(it.b))), it.b...)
	case kCID:
		dst = appendHead(dst, majTag, tagCID)
		dst = appendHead(dst, majBytes, uint64(len(it.b)+1))
		return append(append(dst, 0), it.b...)
	case kFloat:
		return binary.BigEndian.AppendUint64(append(dst, float64Hdr), math.Float64bits(it.f))
	case kArray:
		dst = appendHead(dst, majArray, uint64(len(it.list)))
		for _, e := range it.list {
			dst = appendItem(dst, e)
		}
		return dst
	case kMap:
		return appendMap(dst, it)
	}
	panic(fmt.Sprintf("wire: encode of invalid item kind %d", it.kind))
}

func appendMap(dst []byte, it item) []byte {
	dst = appendHead(dst, majMap, uint64(len(it.keys)))
	for i, k := range it.keys {
		dst = appendItem(dst, textItem(k))
		dst = appendItem(dst, it.vals[i])
	}
	return dst
}

// decodeCanonical parses data as exactly one item and then checks that the
// canonical encoding of that item is byte-for-byte the input, so every
// non-minimal length, unsorted map or other alternative spelling is refused.
func decodeCanonical(data []byte, limit int) (item, error) {
	if len(data) > limit {
		return item{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), limit)
	}
	d := decoder{data: data}
	it, err := d.item(0)
	if err != nil {
		return item{}, err
	}
	if d.pos != len(data) {
		return item{}, fmt.Errorf("%w: %d trailing bytes after the item", ErrMalformed, len(data)-d.pos)
	}
	if !bytes.Equal(appendItem(nil, it), data) {
		return item{}, fmt.Errorf("%w: not the canonical dag-cbor encoding", ErrNonCanonical)
	}
	return it, nil
}

type decoder struct {
	data []byte
	pos  int
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrMalformed, d.pos, fmt.Sprintf(format, args...))
}

// head reads a major type and its argument; indefinite lengths and the
// reserved additional values are refused.
func (d *decoder) head() (byte, byte, uint64, error) {
	if d.pos >= len(d.data) {
		return 0, 0, 0, d.errorf("unexpected end of input")
	}
	b := d.data[d.pos]
	d.pos++
	major, info := b>>5, b&0x1f
	if info < 24 {
		return major, info, uint64(info), nil
	}
	n := map[byte]int{24: 1, 25: 2, 26: 4, 27: 8}[info]
	if n == 0 {
		return 0, 0, 0, d.errorf("additional information %d (indefinite or reserved) not allowed", info)
	}
	if len(d.data)-d.pos < n {
		return 0, 0, 0, d.errorf("unexpected end of input in a %d-byte argument", n)
	}
	var v uint64
	for _, c := range d.data[d.pos : d.pos+n] {
		v = v<<8 | uint64(c)
	}
	d.pos += n
	return major, info, v, nil
}

func (d *decoder) item(depth int) (item, error) {
	if depth > maxDepth {
		return item{}, d.errorf("nesting deeper than %d", maxDepth)
	}
	major, info, v, err := d.head()
	if err != nil {
		return item{}, err
	}
	switch major {
	case majUint:
		return uintItem(v), nil
	case majBytes, majText:
		return d.str(major, v)
	case majArray:
		return d.array(v, depth)
	case majMap:
		return d.mapping(v, depth)
	case majTag:
		return d.tag(v)
	case majOther:
		return d.float(info, v)
	}
	return item{}, d.errorf("major type %d (negative integer) not allowed", major)
}

func (d *decoder) str(major byte, n uint64) (item, error) {
	if n > uint64(len(d.data)-d.pos) {
		return item{}, d.errorf("string of %d bytes runs past the end", n)
	}
	b := d.data[d.pos : d.pos+int(n)]
	d.pos += int(n)
	if major == majBytes {
		return bytesItem(b), nil
	}
	if !utf8.Valid(b) {
		return item{}, d.errorf("text string is not valid UTF-8")
	}
	return item{kind: kText, b: b}, nil
}

func (d *decoder) array(n uint64, depth int) (item, error) {
	if n > uint64(len(d.data)-d.pos) {
		return item{}, d.errorf("array of %d items cannot fit in the rest of the input", n)
	}
	list := make([]item, 0, n)
	for i := uint64(0); i < n; i++ {
		e, err := d.item(depth + 1)
		if err != nil {
			return item{}, err
		}
		list = append(list, e)
	}
	return arrayItem(list), nil
}

func (d *decoder) mapping(n uint64, depth int) (item, error) {
	if n > uint64(len(d.data)-d.pos)/2 {
		return item{}, d.errorf("map of %d entries cannot fit in the rest of the input", n)
	}
	it := item{kind: kMap, keys: make([]string, 0, n), vals: make([]item, 0, n)}
	for i := uint64(0); i < n; i++ {
		k, err := d.item(depth + 1)
		if err != nil {
			return item{}, err
		}
		if k.kind != kText {
			return item{}, d.errorf("map key is a %s, want a text string", k.kind)
		}
		if i > 0 && !keyLess(it.keys[i-1], string(k.b)) {
			return item{}, fmt.Errorf("%w: map key %q duplicated or out of dag-cbor order", ErrNonCanonical, k.b)
		}
		v, err := d.item(depth + 1)
		if err != nil {
			return item{}, err
		}
		it.keys, it.vals = append(it.keys, string(k.b)), append(it.vals, v)
	}
	return it, nil
}

func (d *decoder) tag(t uint64) (item, error) {
	if t != tagCID {
		return item{}, d.errorf("tag %d not allowed (only 42, CID)", t)
	}
	b, err := d.item(maxDepth)
	if err != nil {
		return item{}, err
	}
	if b.kind != kBytes || len(b.b) < 2 || b.b[0] != 0 {
		return item{}, d.errorf("tag 42 must wrap a byte string starting with 0x00")
	}
	c, err := cid.Cast(b.b[1:])
	if err != nil {
		return item{}, d.errorf("bad CID: %v", err)
	}
	if c.Version() != 1 {
		return item{}, d.errorf("CID %s is version %d, want 1", c, c.Version())
	}
	return item{kind: kCID, b: b.b[1:]}, nil
}

func (d *decoder) float(info byte, v uint64) (item, error) {
	if info != 27 {
		return item{}, d.errorf("simple value or float with additional information %d not allowed (only float64)", info)
	}
	f := math.Float64frombits(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return item{}, d.errorf("float is NaN or infinite")
	}
	return floatItem(f), nil
}
