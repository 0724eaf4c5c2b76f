package node

import (
	"context"
	goruntime "runtime"
)

// slots bounds how many workers of one kind run at once. A delta check holds
// the whole delta in memory several times over (the decoded tensors, the
// canonical re-encoding, the genesis it is matched against), so checking
// every contribution of a large round at once would need tens of bodies of
// memory; with one slot per CPU they run as fast and hold a few. Fetches
// run before a slot is taken, so a slow fetch never holds up a check.
type slots chan struct{}

// checkSlots is the number of delta checks that may run at once.
func checkSlots() slots { return make(slots, max(2, goruntime.GOMAXPROCS(0))) }

// acquire waits for a free slot; false when ctx ended first.
func (s slots) acquire(ctx context.Context) bool {
	select {
	case s <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s slots) release() { <-s }
