// Package fusionfs runs fusion.Fuse over safetensors files on disk.
//
// It owns opening the input files and writing the fused file atomically (a
// temporary file in the output's directory, synced, then renamed), so a
// failed fusion never leaves a partial base behind. The math, validation
// and ordering are fusion's; this package only does the file I/O that
// fusion, a pure package, leaves to its callers.
package fusionfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/coldnode/coldnode/consensus/fusion"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
)

// Delta names one delta file to fuse.
type Delta struct {
	// Path of the safetensors file.
	Path string
	// ID orders the deltas; the swarm uses the file's CID string.
	ID string
	// Examples for the Weighted rule; zero reads fusion.ExamplesKey from
	// the file's metadata.
	Examples int64
}

// FuseFiles fuses the deltas into the base at basePath and writes the
// result to outPath atomically.
func FuseFiles(basePath string, deltas []Delta, rule fusion.Rule, outPath string) (fusion.Stats, error) {
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	open := func(path string) (*checkpoint.Reader, error) {
		f, r, err := openReader(path)
		if f != nil {
			files = append(files, f)
		}
		return r, err
	}
	base, err := open(basePath)
	if err != nil {
		return fusion.Stats{}, err
	}
	ins := make([]fusion.Input, len(deltas))
	for i, d := range deltas {
		r, err := openDelta(d.Path, base, open)
		if err != nil {
			return fusion.Stats{}, err
		}
		ins[i] = fusion.Input{ID: d.ID, Examples: d.Examples, Delta: r}
	}
	return writeAtomic(outPath, base, ins, rule)
}

// openDelta opens a delta file: a zstd-wrapped encoded delta (see
// train/deltaenc) is read whole and inflated within the base layout's
// bound; any other file is streamed by open.
func openDelta(path string, base *checkpoint.Reader, open func(string) (*checkpoint.Reader, error)) (*checkpoint.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	f.Close()
	if err != nil || !deltaenc.Compressed(magic) {
		return open(path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := fusion.OpenDelta(b, base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func openReader(path string) (*os.File, *checkpoint.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return f, nil, err
	}
	r, err := checkpoint.Open(f, fi.Size())
	if err != nil {
		return f, nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, r, nil
}

func writeAtomic(path string, base *checkpoint.Reader, ins []fusion.Input, rule fusion.Rule) (fusion.Stats, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fusion.Stats{}, err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	st, err := fusion.Fuse(w, base, ins, rule)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, fmt.Errorf("fuse into %s: %w", path, err)
	}
	return st, os.Rename(tmp.Name(), path)
}
