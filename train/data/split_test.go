package data

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// synthetic makes n examples spread over classes with a skewed distribution.
func synthetic(n, classes int) []Example {
	out := make([]Example, n)
	for i := range out {
		out[i] = Example{Text: fmt.Sprintf("example %d", i), Label: (i * i) % classes}
	}
	return out
}

func TestQuota(t *testing.T) {
	cases := []struct {
		n    int
		frac float64
		want int
	}{{1, 0.2, 0}, {2, 0.2, 0}, {3, 0.2, 1}, {5, 0.2, 1}, {7, 0.2, 1}, {8, 0.2, 2}, {10, 0.25, 3}, {2, 0.9, 1}, {0, 0.5, 0}}
	for _, c := range cases {
		if got := quota(c.n, c.frac); got != c.want {
			t.Errorf("quota(%d, %v) = %d, want %d", c.n, c.frac, got, c.want)
		}
	}
}

func TestHeldOutStratified(t *testing.T) {
	train := synthetic(1000, 7)
	before := slices.Clone(train)
	rest, dev := HeldOut(train, 0.1)
	if !slices.EqualFunc(train, before, func(a, b Example) bool { return a.Text == b.Text && a.Label == b.Label }) {
		t.Fatal("HeldOut modified its input")
	}
	all, r, d := Counts(train, 7), Counts(rest, 7), Counts(dev, 7)
	for c := range all {
		if d[c] != quota(all[c], 0.1) || r[c]+d[c] != all[c] || (all[c] > 0 && r[c] == 0) {
			t.Errorf("class %d: %d examples split %d/%d, want dev %d", c, all[c], r[c], d[c], quota(all[c], 0.1))
		}
	}
	// Each side keeps the input order, and together they are the input.
	if !isSubsequence(rest, train) || !isSubsequence(dev, train) || len(rest)+len(dev) != len(train) {
		t.Error("rest and dev are not an order-preserving partition of train")
	}
}

func isSubsequence(sub, of []Example) bool {
	j := 0
	for _, e := range of {
		if j < len(sub) && sub[j].Text == e.Text {
			j++
		}
	}
	return j == len(sub)
}

// TestHeldOutOrderFree: the held-out set depends on the examples, not on
// their order.
func TestHeldOutOrderFree(t *testing.T) {
	train := synthetic(500, 3)
	_, dev := HeldOut(train, 0.2)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		shuffled := slices.Clone(train)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		_, dev2 := HeldOut(shuffled, 0.2)
		if !slices.Equal(texts(dev), texts(dev2)) {
			t.Fatal("held-out set changed when the input was shuffled")
		}
	}
}

func texts(ex []Example) []string {
	out := make([]string, len(ex))
	for i, e := range ex {
		out[i] = e.Text
	}
	slices.Sort(out)
	return out
}

func TestHeldOutNoFraction(t *testing.T) {
	train := synthetic(10, 2)
	for _, frac := range []float64{0, -1, 1} {
		rest, dev := HeldOut(train, frac)
		if len(rest) != 10 || dev != nil {
			t.Errorf("HeldOut(frac %v) = %d, %d; want everything kept", frac, len(rest), len(dev))
		}
	}
}

func TestContentHash(t *testing.T) {
	// FNV-1a 64 of "ta": offset basis, xor 't', multiply, xor 'a', multiply.
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	h = (h ^ 't') * prime
	h = (h ^ 'a') * prime
	if got := ContentHash(Example{Text: "a", Label: 3}); got != h {
		t.Errorf("ContentHash(text a) = %#x, want %#x", got, h)
	}
	if ContentHash(Example{Features: []float32{0}}) == ContentHash(Example{Features: []float32{float32(negZero())}}) {
		t.Error("0 and -0 hash alike: the hash must cover the float bits")
	}
}

func negZero() float64 { z := 0.0; return -z }

// TestSplitFileOrderFree: shuffling a file's lines does not change which
// examples Load puts in Test.
func TestSplitFileOrderFree(t *testing.T) {
	var lines []string
	for i := range 200 {
		lines = append(lines, fmt.Sprintf(`{"text":"sentence number %d","label":"c%d"}`, i, i%3))
	}
	shuffled := slices.Clone(lines)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	dir := writeFiles(t, map[string]string{
		"a.jsonl": strings.Join(lines, "\n") + "\n",
		"b.jsonl": strings.Join(shuffled, "\n") + "\n",
	})
	a, errA := Load(filepath.Join(dir, "a.jsonl"), DefaultOptions())
	b, errB := Load(filepath.Join(dir, "b.jsonl"), DefaultOptions())
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if !slices.Equal(texts(a.Test), texts(b.Test)) || len(a.Test) != 39 { // 13 of 67, 67 and 66
		t.Errorf("test sets differ or have the wrong size (%d)", len(a.Test))
	}
}
