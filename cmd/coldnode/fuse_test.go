package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train/checkpoint"
)

// runFuse runs "coldnode fuse args..." in-process and returns stdout.
func runFuse(t *testing.T, args ...string) (string, error) {
	t.Helper()
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.RunContext(context.Background(), append([]string{"coldnode", "fuse"}, args...))
	return out.String(), err
}

func saveVec(t *testing.T, path string, meta map[string]string, v ...float32) {
	t.Helper()
	f := &checkpoint.File{Meta: meta, Tensors: []checkpoint.Tensor{
		checkpoint.NewF32("body.w", []int{len(v)}, v),
		checkpoint.NewF32("head.w", []int{1}, []float32{5}),
	}}
	if err := checkpoint.Save(path, f); err != nil {
		t.Fatal(err)
	}
}

func TestFuseCommand(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	saveVec(t, p("base"), nil, 1, 1)
	saveVec(t, p("d1"), map[string]string{fusion.ExamplesKey: "3"}, 4, 0)
	saveVec(t, p("d2"), map[string]string{fusion.ExamplesKey: "1"}, 0, 8)

	// Flags after the delta files work too.
	out, err := runFuse(t, "--base", p("base"), p("d1"), p("d2"), "-o", p("mean"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := fileCID(p("mean"))
	if err != nil || strings.TrimSpace(out) != id {
		t.Fatalf("printed %q, fused file's CID is %q (%v)", out, id, err)
	}
	want := map[string][]float32{
		"mean":          {3, 5}, // (4+0)/2, (0+8)/2
		"weighted":      {4, 3}, // metadata 3:1
		"weighted-flag": {2, 7}, // --examples 1,3
	}
	if _, err := runFuse(t, "--base", p("base"), "--rule", "weighted", p("d1"), p("d2"), "-o", p("weighted")); err != nil {
		t.Fatal(err)
	}
	if _, err := runFuse(t, "--base", p("base"), "--rule=weighted", "--examples", "1,3", "-o", p("weighted-flag"), p("d1"), p("d2")); err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		f, err := checkpoint.Load(p(name))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := f.Tensors[0].F32()
		if len(f.Tensors) != 1 || got[0] != w[0] || got[1] != w[1] {
			t.Errorf("%s: tensors %v values %v, want body.w = %v only", name, f.Tensors, got, w)
		}
	}
}

func TestFuseCommandErrors(t *testing.T) {
	dir := t.TempDir()
	base, d := filepath.Join(dir, "base"), filepath.Join(dir, "d")
	saveVec(t, base, nil, 1, 1)
	saveVec(t, d, nil, 1, 2, 3)
	cases := map[string][]string{
		"--base FILE is required":       {d, "-o", "x"},
		"-o FILE is required":           {"--base", base, d},
		"no DELTA files":                {"--base", base, "-o", "x"},
		"unknown flag --nope":           {"--base", base, d, "--nope", "1", "-o", "x"},
		"--examples has 2 counts for 1": {"--base", base, "--examples", "1,2", d, "-o", "x"},
		`unknown rule "avg"`:            {"--base", base, "--rule", "avg", d, "-o", "x"},
		`tensor "body.w": fusion: delta does not match base: shape [3], base has [2]`: {"--base", base, d, "-o", filepath.Join(dir, "out")},
	}
	for want, args := range cases {
		_, err := runFuse(t, args...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("fuse %v: %v, want error containing %q", args, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("a failed fuse left an output file: %v", err)
	}
}
