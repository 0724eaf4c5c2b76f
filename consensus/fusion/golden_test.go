package fusion

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the generator")

const goldenDir = "testdata/golden"

// goldenRules are fused from the golden inputs; their outputs' sha256 are
// in testdata/golden/expected.txt and must be the same on every processor
// (.ci/fusion-arm64.sh runs this test on arm64 under qemu).
// Delta norms are about 0.075, 0.15, 0.22 and 0.30, so each clip bound
// scales some deltas and leaves others.
var goldenRules = []string{"mean", "weighted", "median", "trimmed:0.2", "clip:0.1,mean",
	"clip:0.2,weighted", "clip:0.16,median", "clip:0.25,trimmed:0.25"}

func TestGolden(t *testing.T) {
	if *update {
		writeGoldenInputs(t)
	}
	t.Run("default", testGolden)
	viewInputs = true
	t.Run("views", testGolden)
	viewInputs = false
	if useVector {
		useVector = false
		defer func() { useVector = true }()
		t.Run("portable", testGolden)
	}
}

func testGolden(t *testing.T) {
	base, ins := readGoldenInputs(t)
	var lines []string
	for _, rs := range goldenRules {
		rule := mustRule(t, rs)
		out := fuseBytes(t, base, ins, rule, 2)
		if rule.Clip > 0 {
			checkSomeClipped(t, base, ins, rule)
		}
		sum := sha256.Sum256(out)
		lines = append(lines, rs+" "+hex.EncodeToString(sum[:]))
	}
	path := filepath.Join(goldenDir, "expected.txt")
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readLines(t, path)
	if strings.Join(want, "\n") != strings.Join(lines, "\n") {
		t.Fatalf("fused sha256 differ from %s:\ngot:\n%s\nwant:\n%s", path, strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func checkSomeClipped(t *testing.T, base *checkpoint.Reader, ins []Input, rule Rule) {
	st, err := Fuse(io.Discard, base, ins, rule)
	if err != nil {
		t.Fatal(err)
	}
	clipped := 0
	for _, s := range st.Scales {
		if s < 1 {
			clipped++
		}
	}
	if clipped == 0 || clipped == len(st.Scales) {
		t.Errorf("%s clips %d of %d deltas (norms %v); pick a bound between", rule, clipped, len(st.Scales), st.Norms)
	}
}

func readLines(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
	}
	defer f.Close()
	var out []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		out = append(out, sc.Text())
	}
	return out
}

// goldenShapes: a tensor of more than one chunk, odd sizes so chunk tails
// are exercised, a scalar, and a head that must be dropped. (Splitting
// across goroutines is covered by TestOrderAndWorkersIndependent.)
var goldenShapes = []struct {
	name  string
	shape []int
}{
	{"body.emb", []int{301, 16}},
	{"body.l1.bias", []int{33}},
	{"body.l1.weight", []int{33, 17}},
	{"body.scale", []int{}},
	{"head.out", []int{4, 33}},
}

// writeGoldenInputs writes base.safetensors and seven deltas; delta-6 is
// laid out in reverse name order, as a foreign writer might.
func writeGoldenInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(2212, 1378))
	gen := func(scale float64, meta map[string]string) *checkpoint.File {
		f := &checkpoint.File{Meta: meta}
		for _, s := range goldenShapes {
			v := make([]float32, elems(s.shape))
			for i := range v {
				v[i] = float32(scale * rng.NormFloat64())
			}
			f.Tensors = append(f.Tensors, checkpoint.NewF32(s.name, s.shape, v))
		}
		return f
	}
	if err := checkpoint.Save(filepath.Join(goldenDir, "base.safetensors"), gen(1, map[string]string{"coldnode.model": "golden"})); err != nil {
		t.Fatal(err)
	}
	for k := range 7 {
		d := gen(0.001*float64(1+k%4), map[string]string{ExamplesKey: fmt.Sprint(100 + 37*k)})
		data, err := checkpoint.Encode(d)
		if k == 6 {
			data = reversedLayout(t, d)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(goldenDir, fmt.Sprintf("delta-%d.safetensors", k)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readGoldenInputs(t *testing.T) (*checkpoint.Reader, []Input) {
	base := openFile(t, filepath.Join(goldenDir, "base.safetensors"))
	var ins []Input
	for k := 6; k >= 0; k-- {
		name := fmt.Sprintf("delta-%d.safetensors", k)
		ins = append(ins, Input{ID: name, Delta: openFile(t, filepath.Join(goldenDir, name))})
	}
	return base, ins
}

func openFile(t *testing.T, path string) *checkpoint.Reader {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
	}
	return openBytes(t, b)
}
