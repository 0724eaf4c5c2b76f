package checkpoint

import (
	"encoding/binary"
	"fmt"
	"sort"
	"unicode/utf8"
)

// Header returns the first bytes Encode would produce for a file with this
// metadata and these tensors: the 8-byte length prefix and the padded JSON
// header. Only each tensor's Name, DType and Shape are used (Data may be
// nil); the data, in name order, would follow. A caller that computes
// tensors piece by piece writes Header and then the pieces, and gets the
// bytes of Encode without holding any tensor whole.
func Header(meta map[string]string, tensors []Tensor) ([]byte, error) {
	ts := append([]Tensor(nil), tensors...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	sizes := make([]int64, len(ts))
	for i, t := range ts {
		if t.Name == metadataKey || !utf8.ValidString(t.Name) {
			return nil, fmt.Errorf("encode: tensor name %q is reserved or not valid UTF-8", t.Name)
		}
		n, err := byteSize(t.DType, t.Shape)
		if err != nil {
			return nil, fmt.Errorf("encode: tensor %q: %w", t.Name, err)
		}
		sizes[i] = n
	}
	header, err := encodeHeader(meta, ts, sizes)
	if err != nil {
		return nil, err
	}
	out := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(header)), uint64(len(header)))
	return append(out, header...), nil
}
