package lanehash

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// The kernel is used exactly when the processor's flags, as Linux lists
// them, have the instructions it needs.
func TestDetectMatchesCPUInfo(t *testing.T) {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	sc := bufio.NewScanner(bytes.NewReader(info))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "flags" {
			flags = strings.Fields(v)
			break
		}
	}
	if flags == nil {
		t.Fatal("no flags line in /proc/cpuinfo")
	}
	want := slices.Contains(flags, "sha_ni") && slices.Contains(flags, "ssse3") && slices.Contains(flags, "sse4_1")
	if hasKernel != want {
		t.Fatalf("hasKernel = %v, /proc/cpuinfo says %v", hasKernel, want)
	}
}

// Both kernels, where the processor runs them, and the fallback give
// crypto/sha256's digests: the tests of lanehash_test.go run only the path
// this processor picked.
func TestEveryKernelMatchesSHA256(t *testing.T) {
	if !hasKernel {
		t.Logf("no SHA extensions: only crypto/sha256 runs here")
		return
	}
	defer func(b func(*[lanes][8]uint32, *[lanes]*byte, int)) { blocks = b }(blocks)
	for _, w := range []bool{false, true} {
		if w && !wide {
			t.Logf("no AVX-512VL: blocks4x not run")
			continue
		}
		blocks = pick(w)
		checkEdges(t)
	}
	hasKernel = false // a processor without the SHA extensions
	defer func() { hasKernel = true }()
	checkEdges(t)
}

// checkEdges checks four messages of each length around the padding's
// edges, and of 64 KiB and 1 MiB + 1.
func checkEdges(t *testing.T) {
	t.Helper()
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 1 << 16, 1<<20 + 1} {
		checkSums(t, messages(r, 4, n))
	}
}
