package lanehash

import (
	"testing"
)

// BenchmarkKernels hashes a 40 MiB body's leaves with each kernel this
// processor runs (blocks4x needs AVX-512VL), against crypto/sha256 as in
// BenchmarkLeaves.
func BenchmarkKernels(b *testing.B) {
	if !hasKernel {
		b.Skip("no SHA extensions: no kernel to run")
	}
	defer func(k func(*[lanes][8]uint32, *[lanes]*byte, int)) { blocks = k }(blocks)
	for _, k := range []struct {
		name string
		wide bool
	}{{"blocks4", false}, {"blocks4x", true}} {
		w := k.wide
		if w && !wide {
			continue
		}
		b.Run(k.name, func(b *testing.B) {
			blocks = pick(w)
			benchLeaves(b, 40)
		})
	}
}
