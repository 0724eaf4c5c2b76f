package checkpoint

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzDecode: Decode never panics, rejects only with ErrCorrupt, and what it
// accepts re-encodes to a canonical fixed point holding the same tensors.
// Seeds: testdata/fuzz/FuzzDecode, plus the files the other tests build.
func FuzzDecode(f *testing.F) {
	enc, err := Encode(sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	if torch, err := os.ReadFile("testdata/torch_model.safetensors"); err == nil {
		f.Add(torch)
	}
	for _, c := range corruptCases {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %q does not wrap ErrCorrupt", err)
			}
			return
		}
		for _, x := range got.Tensors {
			x.CheckFinite()
			x.F32()
		}
		canon, err := Encode(got)
		if err != nil {
			t.Fatalf("re-encoding an accepted file: %v", err)
		}
		again, err := Decode(canon)
		if err != nil || !equalFiles(got, again) {
			t.Fatalf("canonical form decodes to %+v, %v; want %+v", again, err, got)
		}
		if twice, _ := Encode(again); !bytes.Equal(twice, canon) {
			t.Fatal("canonical encoding is not a fixed point")
		}
	})
}
