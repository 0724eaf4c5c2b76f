package data

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// clickbait is the largest text task in the shared datasets: 25,600 train
// and 6,400 test lines.
var clickbait = filepath.Join(datasets, "clickbait")

func fileBytes(b *testing.B, paths ...string) int64 {
	var n int64
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			b.Fatalf("benchmark data: %v", err)
		}
		n += st.Size()
	}
	return n
}

func BenchmarkLoadClickbait(b *testing.B) {
	b.SetBytes(fileBytes(b, filepath.Join(clickbait, "train.jsonl"), filepath.Join(clickbait, "test.jsonl")))
	for b.Loop() {
		if _, err := Load(clickbait, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadMNISTSmall(b *testing.B) {
	dir := filepath.Join(datasets, "mnist_small")
	b.SetBytes(fileBytes(b, filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "test.jsonl")))
	for b.Loop() {
		if _, err := Load(dir, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineUnmarshalClickbait is the naive floor: scan the same
// files and json.Unmarshal each line into a two-string struct, with no
// validation, labels or splits.
func BenchmarkBaselineUnmarshalClickbait(b *testing.B) {
	paths := []string{filepath.Join(clickbait, "train.jsonl"), filepath.Join(clickbait, "test.jsonl")}
	b.SetBytes(fileBytes(b, paths...))
	for b.Loop() {
		for _, p := range paths {
			if err := unmarshalAll(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func unmarshalAll(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var out []struct{ Text, Label string }
	for sc.Scan() {
		var r struct{ Text, Label string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return err
		}
		out = append(out, r)
	}
	return sc.Err()
}
