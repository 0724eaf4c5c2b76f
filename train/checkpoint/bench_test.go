package checkpoint

import (
	"bytes"
	"fmt"
	"testing"
)

// benchFile is 16 MiB of F32 in 16 tensors, the size of a small body.
func benchFile() *File {
	f := &File{Meta: map[string]string{"round": "1"}}
	for i := range 16 {
		v := make([]float32, 256*1024)
		for j := range v {
			v[j] = float32(i*j) * 1e-6
		}
		f.Tensors = append(f.Tensors, NewF32(fmt.Sprintf("body.layer%02d.weight", i), []int{256, 1024}, v))
	}
	return f
}

func BenchmarkEncode(b *testing.B) {
	f := benchFile()
	b.SetBytes(16 << 20)
	for b.Loop() {
		if _, err := Encode(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	enc, err := Encode(benchFile())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(16 << 20)
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineCopy is the floor Encode and Decode are compared with:
// one copy of the same bytes into a fresh buffer.
func BenchmarkBaselineCopy(b *testing.B) {
	enc, err := Encode(benchFile())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(16 << 20)
	for b.Loop() {
		_ = bytes.Clone(enc)
	}
}
