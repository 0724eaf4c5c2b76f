package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"slices"
	"testing"
)

// torchSummary is testdata/torch_model.json, written by
// testdata/make_torch.py from the same PyTorch state_dict as
// testdata/torch_model.safetensors (see the script for the command).
type torchSummary struct {
	Metadata map[string]string `json:"metadata"`
	File     string            `json:"file_sha256"`
	Tensors  []struct {
		Name   string    `json:"name"`
		DType  DType     `json:"dtype"`
		Shape  []int     `json:"shape"`
		First  []float64 `json:"first"`
		Sum    float64   `json:"sum"`
		SHA256 string    `json:"sha256"`
	} `json:"tensors"`
}

func loadTorchFixture(t *testing.T) ([]byte, torchSummary) {
	t.Helper()
	b, err := os.ReadFile("testdata/torch_model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	j, err := os.ReadFile("testdata/torch_model.json")
	if err != nil {
		t.Fatal(err)
	}
	var s torchSummary
	if err := json.Unmarshal(j, &s); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != s.File {
		t.Fatal("torch_model.safetensors does not match torch_model.json; rerun make_torch.py")
	}
	return b, s
}

// TestTorchFixture decodes a file PyTorch wrote (tensors in state_dict order,
// an F16 and an I64 tensor, metadata) and checks every tensor against the
// values PyTorch reported.
func TestTorchFixture(t *testing.T) {
	b, want := loadTorchFixture(t)
	f := mustDecode(t, b)
	if !reflect.DeepEqual(f.Meta, want.Metadata) {
		t.Errorf("metadata %v, want %v", f.Meta, want.Metadata)
	}
	if len(f.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(want.Tensors))
	}
	for _, w := range want.Tensors {
		got, ok := f.Get(w.Name)
		if !ok {
			t.Errorf("missing tensor %q", w.Name)
			continue
		}
		sum := sha256.Sum256(got.Data)
		if got.DType != w.DType || !slices.Equal(got.Shape, w.Shape) || hex.EncodeToString(sum[:]) != w.SHA256 {
			t.Errorf("%s: %s %v, want %s %v and torch's bytes", w.Name, got.DType, got.Shape, w.DType, w.Shape)
		}
		checkValues(t, got, w.First, w.Sum)
	}
	if !IsHead("classifier.weight") || len(f.Head().Tensors) != 2 {
		t.Errorf("head tensors %d, want classifier.weight and classifier.bias", len(f.Head().Tensors))
	}
}

// checkValues compares a tensor's leading values exactly and its sum to
// within float64 summation-order noise.
func checkValues(t *testing.T, x Tensor, first []float64, sum float64) {
	t.Helper()
	vals := values(t, x)
	var total float64
	for _, v := range vals {
		total += v
	}
	for i, w := range first {
		if vals[i] != w {
			t.Errorf("%s[%d] = %v, torch says %v", x.Name, i, vals[i], w)
		}
	}
	if math.Abs(total-sum) > 1e-9*math.Max(1, math.Abs(sum)) {
		t.Errorf("%s: sum %v, torch says %v", x.Name, total, sum)
	}
}

func values(t *testing.T, x Tensor) []float64 {
	if x.DType == I64 {
		out := make([]float64, len(x.Data)/8)
		for i := range out {
			out[i] = float64(int64(binary.LittleEndian.Uint64(x.Data[8*i:])))
		}
		return out
	}
	v, err := x.F32()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(v))
	for i, f := range v {
		out[i] = float64(f)
	}
	return out
}

// TestTorchReencode: the PyTorch file is not canonical (its tensors are in
// state_dict order), but its canonical re-encoding keeps every tensor and
// is a fixed point.
func TestTorchReencode(t *testing.T) {
	b, _ := loadTorchFixture(t)
	f := mustDecode(t, b)
	canon := mustEncode(t, f)
	if bytes.Equal(canon, b) {
		t.Fatal("the fixture is already canonical; it no longer tests reordering")
	}
	again := mustDecode(t, canon)
	if !equalFiles(f, again) || !bytes.Equal(mustEncode(t, again), canon) {
		t.Error("canonical re-encoding of the torch file is not stable")
	}
}
