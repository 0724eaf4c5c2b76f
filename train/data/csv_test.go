package data

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCSVRoundTrip: texts written by encoding/csv (commas, quotes, newlines,
// CRLF, non-ASCII) come back from Load unchanged.
func TestCSVRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"a", "b c", ",", "\"", "\n", "é", "東", "'", " ", ";", "\t", "\r\n"}
	var want []string
	path := filepath.Join(t.TempDir(), "r.csv")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(fh)
	w.UseCRLF = true
	w.Write([]string{"label", "text"})
	for i := range 300 {
		var b strings.Builder
		b.WriteString("x") // never blank: a blank CSV line is an error by design
		for range rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		w.Write([]string{[]string{"p", "q"}[i%2], text})
		want = append(want, strings.ReplaceAll(text, "\r\n", "\n"))
	}
	w.Flush()
	if err := fh.Close(); err != nil || w.Error() != nil {
		t.Fatal(err, w.Error())
	}
	task, err := Load(path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if got := texts(append(task.Train, task.Test...)); !slices.Equal(got, want) {
		t.Errorf("round trip changed texts: got %d, want %d", len(got), len(want))
	}
}
