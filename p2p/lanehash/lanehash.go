package lanehash

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// Size is the length of a digest.
const Size = sha256.Size

// lanes is how many messages the kernel hashes at once.
const lanes = 4

// Lanes returns how many messages of equal length Sum256 hashes at once on
// this processor: 1 when it falls back to crypto/sha256.
func Lanes() int {
	if hasKernel {
		return lanes
	}
	return 1
}

// Sum256 sets dst[i] to the SHA-256 digest of msgs[i]. It panics if the two
// lengths differ.
func Sum256(dst [][Size]byte, msgs [][]byte) {
	if len(dst) != len(msgs) {
		panic("lanehash: dst and msgs differ in length")
	}
	if !hasKernel || len(msgs) < minGroup {
		sumEach(dst, msgs)
		return
	}
	order := byLength(msgs)
	for len(order) > 0 {
		n := 1
		for n < min(lanes, len(order)) && len(msgs[order[n]]) == len(msgs[order[0]]) {
			n++
		}
		sumGroup(dst, msgs, order[:n])
		order = order[n:]
	}
}

// sumEach hashes one message at a time.
func sumEach(dst [][Size]byte, msgs [][]byte) {
	for i, m := range msgs {
		dst[i] = sha256.Sum256(m)
	}
}

// byLength returns the indexes of msgs, the shortest first; equal lengths
// keep their order.
func byLength(msgs [][]byte) []int {
	order := make([]int, len(msgs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(msgs[a]), len(msgs[b])) })
	return order
}

// sumGroup hashes the messages at idx, all of one length, at once; fewer
// than minGroup go to crypto/sha256 one by one.
func sumGroup(dst [][Size]byte, msgs [][]byte, idx []int) {
	if len(idx) < minGroup {
		for _, i := range idx {
			dst[i] = sha256.Sum256(msgs[i])
		}
		return
	}
	var group [lanes][]byte
	for l := range group {
		group[l] = msgs[idx[min(l, len(idx)-1)]] // spare lanes repeat the last
	}
	sums := sum4(&group)
	for l, i := range idx {
		dst[i] = sums[l]
	}
}

// initial is the initial hash value H(0) (FIPS 180-4, 5.3.3).
var initial = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// sum4 hashes four messages of one length with the kernel: the whole
// blocks in place, then each message's padded tail.
func sum4(msgs *[lanes][]byte) [lanes][Size]byte {
	var h [lanes][8]uint32
	for l := range h {
		h[l] = initial
	}
	n := len(msgs[0])
	if full := n / 64; full > 0 {
		var p [lanes]*byte
		for l := range p {
			p[l] = &msgs[l][0]
		}
		blocks(&h, &p, full)
	}
	var tails [lanes][128]byte
	var p [lanes]*byte
	k := 0
	for l := range tails {
		k = pad(&tails[l], msgs[l][n-n%64:], uint64(n))
		p[l] = &tails[l][0]
	}
	blocks(&h, &p, k)
	var out [lanes][Size]byte
	for l := range out {
		for i, v := range h[l] {
			binary.BigEndian.PutUint32(out[l][4*i:], v)
		}
	}
	return out
}

// pad writes the last partial block of a message of n bytes into t with
// its padding and length (FIPS 180-4, 5.1.1) and returns how many 64-byte
// blocks that makes: 1, or 2 when the length does not fit after the tail.
func pad(t *[128]byte, tail []byte, n uint64) int {
	copy(t[:], tail)
	t[len(tail)] = 0x80
	k := 1
	if len(tail) >= 56 {
		k = 2
	}
	binary.BigEndian.PutUint64(t[64*k-8:], n*8)
	return k
}
