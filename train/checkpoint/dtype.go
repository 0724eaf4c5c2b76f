package checkpoint

import "fmt"

// DType is a safetensors element type, spelled as in the format ("F32", ...).
type DType string

// The element types the format defines.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

var dtypeSizes = map[DType]int{
	F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, Bool: 1,
}

// Size returns the width of one element in bytes, or an error for a type the
// format does not define.
func (d DType) Size() (int, error) {
	n, ok := dtypeSizes[d]
	if !ok {
		return 0, fmt.Errorf("unknown dtype %q", string(d))
	}
	return n, nil
}

// IsFloat reports whether d holds floating-point values.
func (d DType) IsFloat() bool {
	return d == F64 || d == F32 || d == F16 || d == BF16
}
