package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	f := sample()
	if err := Save(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !equalFiles(f, got) {
		t.Error("Load(Save(f)) differs from f")
	}
	// Saving over an existing file replaces it and leaves no temporary file.
	if err := Save(path, &File{Tensors: []Tensor{NewF32("x", []int{1}, []float32{1})}}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after two saves, want 1", len(entries))
	}
	if got, _ := Load(path); len(got.Tensors) != 1 {
		t.Errorf("second save not visible: %d tensors", len(got.Tensors))
	}
}

func TestSaveRejectsBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	err := Save(path, &File{Tensors: []Tensor{{Name: "a", DType: F32, Shape: []int{2}}}})
	if err == nil {
		t.Fatal("Save accepted a tensor without data")
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("failed Save left a file behind (%v)", statErr)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(bad)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt file: %v, want ErrCorrupt naming %s", err, bad)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "no", "such", "dir"), []byte{1}); err == nil {
		t.Error("WriteFileAtomic into a missing directory succeeded")
	}
}

// TestReaderStreams reads tensors one at a time from an open file.
func TestReaderStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.safetensors")
	f := sample()
	if err := Save(path, f); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	r, err := Open(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"body.empty", "body.half", "body.ids", "body.scalar", "body.w", "classifier.weight", "head.b"}; !slices.Equal(r.Names(), want) {
		t.Errorf("Names = %q", r.Names())
	}
	dt, shape, ok := r.Info("body.w")
	if !ok || dt != F32 || !slices.Equal(shape, []int{2, 3}) {
		t.Errorf("Info(body.w) = %s %v %v", dt, shape, ok)
	}
	shape[0] = 99
	r.Names()[0] = "mutated"
	if _, again, _ := r.Info("body.w"); again[0] != 2 || r.Names()[0] != "body.empty" {
		t.Error("callers can mutate the reader through Info or Names")
	}
	if _, _, ok := r.Info("nope"); ok {
		t.Error("Info found a missing tensor")
	}
	if _, err := r.Tensor("nope"); err == nil {
		t.Error("Tensor read a missing tensor")
	}
	w, err := r.Tensor("body.w")
	if want, _ := f.Get("body.w"); err != nil || string(w.Data) != string(want.Data) {
		t.Errorf("Tensor(body.w) = %v, %v", w, err)
	}
}
