package deltaenc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// MetaKey is the safetensors metadata key an encoded delta carries with
// its tensor encoding (Encoding.Tensors), e.g. "rows+int8". A delta
// without it is a plain float32 delta.
const MetaKey = "coldnode.encoding"

// Companion tensor suffixes: name+RowsSuffix holds the stored rows of
// tensor name, name+ScaleSuffix the per-row int8 scales.
const (
	RowsSuffix  = "#rows"
	ScaleSuffix = "#scale"
)

// ErrEncoding is wrapped by every error about a malformed encoded delta or
// encoding name.
var ErrEncoding = errors.New("deltaenc: bad delta encoding")

// Values is how an encoded delta stores each value.
type Values uint8

// The value types.
const (
	FP32 Values = iota // float32, exact
	FP16               // IEEE binary16, round to nearest even
	BF16               // bfloat16, round to nearest even
	Int8               // int8 times a float32 scale per row (maxabs/127)
)

var valueNames = [...]string{FP32: "fp32", FP16: "fp16", BF16: "bf16", Int8: "int8"}

var valueDTypes = [...]checkpoint.DType{FP32: checkpoint.F32, FP16: checkpoint.F16, BF16: checkpoint.BF16, Int8: checkpoint.I8}

func (v Values) String() string { return valueNames[v] }

// DType is the safetensors dtype a tensor's values are stored in.
func (v Values) DType() checkpoint.DType { return valueDTypes[v] }

// Encoding says how a node writes its delta file.
type Encoding struct {
	Values Values
	// Rows stores, for every tensor of rank 2 or more, only the rows
	// (slices along the first dimension) with a nonzero bit, plus their
	// indices: the embedding rows a contributor's batches touched.
	Rows bool
	// Zstd wraps the whole file in one zstd frame.
	Zstd bool
}

// Dense is the plain float32 delta, the protocol's original format.
var Dense = Encoding{}

// Default is the encoding a node uses unless configured otherwise: rows
// touched, int8 with a scale per row, zstd (see docs/benchmarks.md,
// "Bytes per contribution").
var Default = Encoding{Values: Int8, Rows: true, Zstd: true}

// String is the canonical name: "dense", or the parts "rows", the value
// type (when not fp32) and "zstd" joined by "+", e.g. "rows+int8+zstd";
// "dense+zstd" for a compressed float32 delta.
func (e Encoding) String() string {
	var parts []string
	if e.Rows {
		parts = append(parts, "rows")
	}
	if e.Values != FP32 {
		parts = append(parts, e.Values.String())
	}
	if len(parts) == 0 {
		parts = append(parts, "dense")
	}
	if e.Zstd {
		parts = append(parts, "zstd")
	}
	return strings.Join(parts, "+")
}

// Tensors is the encoding of the tensors alone (without zstd): the value
// of MetaKey. It is "" for Dense, which carries no key.
func (e Encoding) Tensors() string {
	e.Zstd = false
	if e == Dense {
		return ""
	}
	return e.String()
}

// Parse reads an encoding name: parts joined by "+", in any order, each at
// most once: "dense" or "fp32" (float32 values, the default), "fp16",
// "bf16", "int8", "rows", "zstd". Examples: "dense", "bf16",
// "rows+int8", "rows+fp16+zstd".
func Parse(s string) (Encoding, error) {
	var e Encoding
	seen := map[string]bool{}
	values := false
	for _, p := range strings.Split(s, "+") {
		if seen[p] {
			return Encoding{}, fmt.Errorf("%w: %q names %q twice", ErrEncoding, s, p)
		}
		seen[p] = true
		switch p {
		case "rows":
			e.Rows = true
		case "zstd":
			e.Zstd = true
		default:
			v, ok := parseValues(p)
			if !ok {
				return Encoding{}, fmt.Errorf("%w: unknown part %q in %q (want dense, fp16, bf16, int8, rows, zstd joined by +)", ErrEncoding, p, s)
			}
			if values {
				return Encoding{}, fmt.Errorf("%w: %q names two value types", ErrEncoding, s)
			}
			e.Values, values = v, true
		}
	}
	return e, nil
}

func parseValues(p string) (Values, bool) {
	if p == "dense" {
		return FP32, true
	}
	for v, name := range valueNames {
		if p == name {
			return Values(v), true
		}
	}
	return 0, false
}

// parseTensors reads the MetaKey value of an encoded file.
func parseTensors(s string) (Encoding, error) {
	e, err := Parse(s)
	if err != nil {
		return Encoding{}, err
	}
	if e.Zstd {
		return Encoding{}, fmt.Errorf("%w: metadata %s=%q names zstd, which wraps the file and is not a tensor encoding", ErrEncoding, MetaKey, s)
	}
	return e, nil
}

// rowsOf splits a shape into rows and columns: rank 2 or more is
// shape[0] rows of the product of the other dimensions; rank 0 and 1 are
// one row.
func rowsOf(shape []int) (rows, cols int) {
	if len(shape) < 2 {
		return 1, prod(shape)
	}
	return shape[0], prod(shape[1:])
}

func prod(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
