package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// raw builds a safetensors file from a header string and data, padding
// nothing: the header is taken as given.
func raw(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// withLength builds a file whose length prefix is n, whatever follows.
func withLength(n uint64, rest string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

const okEntry = `{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`

var corruptCases = []struct {
	name string
	b    []byte
	msg  string
}{
	{"empty", nil, "shorter than the 8-byte"},
	{"short", []byte{1, 0, 0}, "shorter than the 8-byte"},
	{"header length past end", withLength(100, `{}`), "exceeds the file"},
	{"huge header length", withLength(1<<62, `{}`), "exceeds the file"},
	{"max uint64 header length", withLength(^uint64(0), `{}`), "exceeds the file"},
	{"zero header length", withLength(0, ""), "header"},
	{"invalid JSON", raw(`{"a":`, nil), "header"},
	{"not an object", raw(`[1,2]`, nil), "not a JSON object"},
	{"not UTF-8", raw("{\"a\xff\":1}", nil), "UTF-8"},
	{"data after object", raw(`{}x`, nil), "data after the JSON object"},
	{"second object", raw(`{}{}`, nil), "data after the JSON object"},
	{"duplicate tensor", raw(`{"a":`+okEntry+`,"a":`+okEntry+`}`, make([]byte, 8)), `duplicate key "a"`},
	{"duplicate entry key", raw(`{"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), `duplicate key "dtype"`},
	{"duplicate metadata key", raw(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `duplicate key "k"`},
	{"metadata not strings", raw(`{"__metadata__":{"k":1}}`, nil), `value of "k"`},
	{"metadata not object", raw(`{"__metadata__":[1]}`, nil), "__metadata__"},
	{"unknown dtype", raw(`{"a":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}}`, make([]byte, 2)), `unknown dtype "F8"`},
	{"shape byte mismatch", raw(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), "needs 12 bytes, offsets give 8"},
	{"negative dim", raw(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, make([]byte, 8)), "negative"},
	{"overflowing shape", raw(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), "exceeds"},
	{"shape not ints", raw(`{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}`, make([]byte, 8)), `field "shape"`},
	{"missing shape", raw(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, make([]byte, 8)), `missing field "shape"`},
	{"null shape", raw(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,8]}}`, make([]byte, 8)), `missing field "shape"`},
	{"missing dtype", raw(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), `missing field "dtype"`},
	{"missing offsets", raw(`{"a":{"dtype":"F32","shape":[0]}}`, nil), `missing field "data_offsets"`},
	{"unknown field", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, make([]byte, 8)), `unknown field "x"`},
	{"three offsets", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}`, make([]byte, 8)), "3 numbers"},
	{"one offset", raw(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0]}}`, nil), "1 numbers"},
	{"negative offset", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}`, nil), "bad data_offsets"},
	{"reversed offsets", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, make([]byte, 8)), "bad data_offsets"},
	{"entry not object", raw(`{"a":[1]}`, nil), `tensor "a"`},
	{"overlap", raw(`{"a":`+okEntry+`,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "overlap or gap"},
	{"gap", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)), "overlap or gap"},
	{"gap at start", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "overlap or gap"},
	{"trailing bytes", raw(`{"a":`+okEntry+`}`, make([]byte, 9)), "covers 8 bytes, data section has 9"},
	{"data past end", raw(`{"a":`+okEntry+`}`, make([]byte, 4)), "covers 8 bytes, data section has 4"},
	{"bytes with no tensors", raw(`{}`, []byte{1}), "covers 0 bytes"},
}

func TestDecodeCorrupt(t *testing.T) {
	for _, c := range corruptCases {
		f, err := Decode(c.b)
		if err == nil {
			t.Errorf("%s: decoded %+v, want an error", c.name, f)
			continue
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %q, want ErrCorrupt containing %q", c.name, err, c.msg)
		}
	}
}

// TestZeroSizeTensorLast is a regression test: a zero-element tensor whose
// offset is the end of the file made bytes.Reader.ReadAt return io.EOF, so
// Decode rejected a valid file.
func TestZeroSizeTensorLast(t *testing.T) {
	b := raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}`, make([]byte, 4))
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if z, ok := f.Get("z"); !ok || len(z.Data) != 0 || len(z.Shape) != 1 {
		t.Errorf("tensor z = %+v", z)
	}
	only := mustEncode(t, &File{Tensors: []Tensor{NewF32("e", []int{0}, nil)}})
	mustDecode(t, only)
}

// eofReader returns io.EOF together with a full read at the end of its
// data, as the io.ReaderAt contract allows.
type eofReader struct{ b []byte }

func (r eofReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := bytes.NewReader(r.b).ReadAt(p, off)
	if err == nil && off+int64(n) == int64(len(r.b)) {
		err = io.EOF
	}
	return n, err
}

func TestReaderAtEOFWithFullRead(t *testing.T) {
	b := mustEncode(t, sample())
	r, err := Open(eofReader{b}, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	last := r.Names()[len(r.Names())-1]
	if _, err := r.Tensor(last); err != nil {
		t.Errorf("last tensor: %v", err)
	}
}

func TestOpenShortSource(t *testing.T) {
	b := mustEncode(t, sample())
	r, err := Open(bytes.NewReader(b[:len(b)-1]), int64(len(b)))
	if err != nil {
		t.Fatal(err) // the header is intact; only the last tensor is cut
	}
	var lastErr error
	for _, n := range r.Names() {
		if _, err := r.Tensor(n); err != nil {
			lastErr = err
		}
	}
	if !errors.Is(lastErr, io.ErrUnexpectedEOF) {
		t.Errorf("reading past a short source gave %v, want io.ErrUnexpectedEOF", lastErr)
	}
}
