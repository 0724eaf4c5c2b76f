package lanehash

import "golang.org/x/sys/cpu"

// hasKernel reports whether this processor has the instructions blocks4
// uses: the SHA extensions, SSSE3 and SSE4.1.
var hasKernel = detect()

func detect() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	_, b7, _, _ := cpuid(7, 0)
	ssse3, sse41, sha := c1&(1<<9) != 0, c1&(1<<19) != 0, b7&(1<<29) != 0
	return ssse3 && sse41 && sha
}

// wide reports whether the processor (and the OS) also offer AVX-512 on
// 128-bit registers, which blocks4x needs for its sixteen extra registers.
var wide = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

// blocks runs n compressions of each lane, lane l on the n 64-byte blocks
// at p[l], updating h[l] (a..h): blocks4x where it runs, else blocks4.
var blocks = pick(wide)

// pick returns the kernel to use.
func pick(wide bool) func(h *[lanes][8]uint32, p *[lanes]*byte, n int) {
	if wide {
		return blocks4x
	}
	return blocks4
}

// minGroup is the fewest messages of one length worth a kernel. Either
// hashes four in the time crypto/sha256 takes for fewer than two
// (BenchmarkKernels: blocks4x 2.5x, blocks4 2.1x), so two are worth it.
const minGroup = 2

//go:noescape
func blocks4(h *[lanes][8]uint32, p *[lanes]*byte, n int)

//go:noescape
func blocks4x(h *[lanes][8]uint32, p *[lanes]*byte, n int)

//go:noescape
func cpuid(leaf, sub uint32) (a, b, c, d uint32)
