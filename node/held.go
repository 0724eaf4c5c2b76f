package node

import (
	"sync"

	"github.com/ipfs/go-cid"
)

// heldKeep is the number of fused bases a node holds in memory: the head's
// and one more, which covers a speculative fusion of the round computed
// beside the final one (consensus's build backoff) without letting it push
// the head's base out.
const heldKeep = 2

// heldShare is the part of the memory budget held bases may take: heldKeep
// bases, the one a fusion is writing and a spare buffer must fit in it.
// A node whose body is large against its memory (item 6 of
// docs/benchmarks.md: 501 MB in 1360 MiB) streams its bases as before.
const heldShare = 16

// heldBases keeps the node's newest fused bases in memory, as the fusion
// wrote them, beside their durable copy in the store. The trainer reads
// the head's base from here when it starts and when it takes the delta,
// and the next round's fusion reads it as its parent: no held base is read
// back from the store, and none passes through the page cache, where on
// some VMs each new page costs a trap to the host (docs/benchmarks.md,
// "Fused bases held in memory"). A held base's bytes never change: any
// number of readers share them. Buffers are reused once a base is both
// evicted and no longer read, so the node touches no new memory for its
// bases after the first rounds. A nil *heldBases holds nothing.
//
// It is a small buffer pool shared by the fusion workers and the trainer,
// guarded by mu; no method blocks while holding it.
type heldBases struct {
	budget int64 // the node's memory budget (Config.MemoryBudget)

	mu       sync.Mutex
	held     []*heldBase // oldest first, at most heldKeep
	spares   [][]byte    // buffers no base holds, for the next fusions; at most heldKeep+1
	prepared bool        // prepare made the buffers
}

// heldBase is one fused base in memory.
type heldBase struct {
	c       cid.Cid
	b       []byte
	readers int  // under heldBases.mu
	evicted bool // no longer held: the buffer is freed by the last reader
}

// newHeldBases returns the holder for a node with memory budget (bytes, 0
// for none). Without a budget nothing is held: a node that cannot tell
// how much memory it has keeps to the streamed path.
func newHeldBases(budget int64) *heldBases {
	if budget <= 0 {
		return nil
	}
	return &heldBases{budget: budget}
}

// fits reports whether bases of size bytes are held: heldKeep of them,
// one being written and a spare within 1/heldShare of the budget.
func (h *heldBases) fits(size int64) bool {
	return h != nil && size > 0 && (heldKeep+2)*size <= h.budget/heldShare
}

// holding reports whether bases are held: prepare found that they fit.
func (h *heldBases) holding() bool {
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.prepared
}

// prepare makes the buffers the bases of size bytes need, heldKeep+1 of
// them, and touches every page, the first time it is called with a size
// that fits: the pages fault in now, on the trainer's first start, rather
// than in the fusions that close the first rounds, where each fault of a
// new page costs the whole swarm on some VMs. The buffers stay live, so
// collections that give memory back (debug.FreeOSMemory) keep them.
func (h *heldBases) prepare(size int64) {
	if !h.fits(size) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.prepared {
		return
	}
	h.prepared = true
	for range heldKeep + 1 {
		b := make([]byte, size)
		clear(b) // make leaves fresh pages untouched
		h.spares = append(h.spares, b[:0])
	}
}

// buffer returns an empty buffer of capacity at least size for a fusion to
// write a base of size bytes into, or nil when such bases are not held.
// The caller hands it back with hold or drop.
func (h *heldBases) buffer(size int64) []byte {
	if !h.fits(size) {
		return nil
	}
	h.mu.Lock()
	var b []byte
	if n := len(h.spares); n > 0 {
		b, h.spares = h.spares[n-1], h.spares[:n-1]
	}
	h.mu.Unlock()
	if int64(cap(b)) < size {
		b = make([]byte, 0, size)
	}
	return b[:0]
}

// hold keeps b, the bytes of the stored file c that a fusion wrote, and
// evicts the oldest base beyond heldKeep.
func (h *heldBases) hold(c cid.Cid, b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, x := range h.held {
		if x.c.Equals(c) { // the same fusion again: the bytes are the same
			h.free(b)
			return
		}
	}
	h.held = append(h.held, &heldBase{c: c, b: b})
	if len(h.held) > heldKeep {
		old := h.held[0]
		h.held = h.held[1:]
		old.evicted = true
		if old.readers == 0 {
			h.free(old.b)
		}
	}
}

// drop takes back a buffer from buffer that holds no base (its fusion
// failed).
func (h *heldBases) drop(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.free(b)
}

// free keeps b for the next fusions, unless heldKeep+1 buffers are kept
// already; under mu.
func (h *heldBases) free(b []byte) {
	if len(h.spares) <= heldKeep {
		h.spares = append(h.spares, b[:0])
	}
}

// get returns the bytes of base c and the function that ends their use,
// or nil when c is not held. The bytes stay valid until then.
func (h *heldBases) get(c cid.Cid) ([]byte, func()) {
	if h == nil {
		return nil, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, x := range h.held {
		if x.c.Equals(c) {
			x.readers++
			return x.b, sync.OnceFunc(func() { h.done(x) })
		}
	}
	return nil, nil
}

// done ends one reader's use of x.
func (h *heldBases) done(x *heldBase) {
	h.mu.Lock()
	defer h.mu.Unlock()
	x.readers--
	if x.readers == 0 && x.evicted {
		h.free(x.b)
	}
}
