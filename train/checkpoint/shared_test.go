package checkpoint

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Save streams the tensors to the file; the bytes are exactly Encode's.
func TestSaveWritesEncodeBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.safetensors")
	f := sample()
	if err := Save(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("saved %d bytes differ from the %d of Encode", len(got), len(want))
	}
}

func TestDecodeSharedSharesTheBytes(t *testing.T) {
	b, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	f, err := DecodeShared(b)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !equalFiles(f, copied) {
		t.Fatal("DecodeShared and Decode differ")
	}
	for _, tn := range f.Tensors {
		if len(tn.Data) == 0 {
			continue
		}
		tn.Data[0] ^= 0xff
		if again, _ := Decode(b); equalFiles(again, copied) {
			t.Fatalf("tensor %s does not share the file's bytes", tn.Name)
		}
		tn.Data[0] ^= 0xff
	}
	if _, err := DecodeShared(b[:len(b)-1]); err == nil {
		t.Error("truncated file accepted")
	}
}

func TestSharedF32SharesTheSlice(t *testing.T) {
	v := []float32{1, -2, 3.5}
	tn := SharedF32("x", []int{3}, v)
	if !bytes.Equal(tn.Data, NewF32("x", []int{3}, v).Data) {
		t.Fatal("SharedF32 bytes differ from NewF32")
	}
	v[1] = 7
	got, err := tn.F32()
	if err != nil || got[1] != 7 {
		t.Errorf("write to the slice not seen: %v, %v", got, err)
	}
	if e := SharedF32("e", []int{0}, nil); len(e.Data) != 0 || e.check() != nil {
		t.Errorf("empty tensor: %d bytes, %v", len(e.Data), e.check())
	}
}

// F32View checks the data against the shape, as F32 does.
func TestF32ViewChecksSize(t *testing.T) {
	tn := NewF32("x", []int{3}, []float32{1, 2, 3})
	tn.Shape = []int{4}
	if _, err := tn.F32View(); err == nil {
		t.Error("12 bytes viewed as 4 floats")
	}
}
