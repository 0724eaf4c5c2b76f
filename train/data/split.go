package data

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"sort"
)

// HeldOut moves frac of each class of train into dev, for early stopping.
// Within a class it takes the examples of lowest content hash (see
// ContentHash), so the choice depends only on the examples, never on their
// order or on a seed; at least one example of every class stays in rest.
// Both results keep train's order; train itself is not modified. A frac that
// is not in (0, 1) holds nothing out.
func HeldOut(train []Example, frac float64) (rest, dev []Example) {
	return stratify(train, frac)
}

// ContentHash is the stable hash splits are made by: FNV-1a 64 over a kind
// byte ('t' or 'f') and the text's UTF-8 bytes or the features' float32 bits
// in little-endian order. The label is not hashed.
func ContentHash(e Example) uint64 {
	h := fnv.New64a()
	if e.Features != nil {
		var b [4]byte
		h.Write([]byte{'f'})
		for _, v := range e.Features {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
		return h.Sum64()
	}
	h.Write([]byte{'t'})
	h.Write([]byte(e.Text))
	return h.Sum64()
}

// quota is how many of a class of n examples go to the held-out side:
// frac*n rounded half up, leaving at least one behind.
func quota(n int, frac float64) int {
	k := int(math.Floor(frac*float64(n) + 0.5))
	if k > n-1 {
		k = n - 1
	}
	return max(k, 0)
}

// stratify splits ex into (kept, picked) with picked holding quota(n_c, frac)
// examples of each class c, those of lowest (hash, position).
func stratify(ex []Example, frac float64) (kept, picked []Example) {
	if !(frac > 0 && frac < 1) {
		return append([]Example(nil), ex...), nil
	}
	take := pick(ex, frac)
	for i, e := range ex {
		if take[i] {
			picked = append(picked, e)
		} else {
			kept = append(kept, e)
		}
	}
	return kept, picked
}

// pick marks the examples stratify moves. Classes are independent, so the
// order in which they are visited does not matter.
func pick(ex []Example, frac float64) []bool {
	hashes := make([]uint64, len(ex))
	byClass := make(map[int][]int)
	for i, e := range ex {
		hashes[i] = ContentHash(e)
		byClass[e.Label] = append(byClass[e.Label], i)
	}
	take := make([]bool, len(ex))
	for _, idx := range byClass {
		sort.Slice(idx, func(a, b int) bool {
			ha, hb := hashes[idx[a]], hashes[idx[b]]
			return ha < hb || (ha == hb && idx[a] < idx[b])
		})
		for _, i := range idx[:quota(len(idx), frac)] {
			take[i] = true
		}
	}
	return take
}
