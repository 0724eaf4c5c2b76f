//go:build !amd64

package lanehash

// hasKernel is false: only amd64 has the four-lane kernels.
const hasKernel = false

// minGroup is never reached: every message goes to crypto/sha256.
const minGroup = 2

// blocks is never called without a kernel.
func blocks(h *[lanes][8]uint32, p *[lanes]*byte, n int) {
	panic("lanehash: no kernel on this architecture")
}
