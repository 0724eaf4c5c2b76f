package fusionfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train/checkpoint"
)

func save(t *testing.T, dir, name string, v ...float32) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f := &checkpoint.File{Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("body.w", []int{len(v)}, v),
		checkpoint.NewF32("head.w", []int{1}, []float32{7}),
	}}
	if err := checkpoint.Save(path, f); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFuseFiles(t *testing.T) {
	dir := t.TempDir()
	base := save(t, dir, "base", 1, 2)
	deltas := []Delta{
		{Path: save(t, dir, "d1", 2, 0), ID: "b"},
		{Path: save(t, dir, "d2", 0, 4), ID: "a"},
	}
	out := filepath.Join(dir, "out")
	st, err := FuseFiles(base, deltas, fusion.DefaultRule, out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := checkpoint.Encode(&checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.w", []int{2}, []float32{2, 4})}})
	if !bytes.Equal(got, want) || st.Bytes != int64(len(want)) {
		t.Fatalf("fused file %q (stats %+v), want %q", got, st, want)
	}
}

// A failed fusion leaves neither the output nor a temporary file.
func TestFuseFilesFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	base := save(t, dir, "base", 1, 2)
	bad := save(t, dir, "bad", 1, 2, 3)
	out := filepath.Join(dir, "out")
	_, err := FuseFiles(base, []Delta{{Path: bad, ID: "x"}}, fusion.DefaultRule, out)
	if !errors.Is(err, fusion.ErrMismatch) {
		t.Fatalf("got %v, want ErrMismatch", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries after a failed fusion, want base and bad only", len(entries))
	}
	if _, err := FuseFiles(base, []Delta{{Path: filepath.Join(dir, "nope"), ID: "x"}}, fusion.DefaultRule, out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing delta: %v", err)
	}
}
