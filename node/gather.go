package node

import "sync"

// gatherShare is the part of the memory budget that deltas gathered in
// memory by their fetch may take (beside the held bases' own share).
const gatherShare = 16

// gatherMax caps the deltas gathered in memory at once.
const gatherMax = 16

// gatherSlots bounds the deltas a node's checks gather in memory as they
// fetch them (store.MakeLocalInto): such a delta's leaves are read from
// the stream straight into memory lent by rawBufs and stored from there,
// around the page cache, so its check reads nothing back from the store,
// and its bytes pass through no page-cache page, which on some VMs costs a
// trap to the host for each new page (docs/benchmarks.md, "Deltas checked
// from the memory their fetch wrote"). A gathered delta is held from its
// fetch until it is judged, also while the node waits for its own training
// or for a check slot, so each slot reserves a genesis file's worth of
// memory (no delta is gathered past it): as many slots as fit in
// 1/gatherShare of the budget, at most gatherMax. A nil *gatherSlots (no
// budget) gathers nothing: the fetch stores the delta and the check reads
// it back, as before.
//
// Fetch workers take and release slots concurrently; mu guards used.
type gatherSlots struct {
	budget int64

	mu   sync.Mutex
	used int
}

// newGatherSlots returns the slots of a node with memory budget (bytes, 0
// for none).
func newGatherSlots(budget int64) *gatherSlots {
	if budget <= 0 {
		return nil
	}
	return &gatherSlots{budget: budget}
}

// slots is how many deltas of at most size bytes are gathered at once.
func (g *gatherSlots) slots(size int64) int64 {
	if g == nil || size <= 0 {
		return 0
	}
	return min(gatherMax, g.budget/gatherShare/size)
}

// take reserves a slot for a delta of at most size bytes and returns its
// release, which may be called more than once; ok is false when no slot
// is free.
func (g *gatherSlots) take(size int64) (release func(), ok bool) {
	k := g.slots(size)
	if k == 0 {
		return nil, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if int64(g.used) >= k {
		return nil, false
	}
	g.used++
	var once sync.Once
	return func() { once.Do(g.release) }, true
}

func (g *gatherSlots) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.used--
}
