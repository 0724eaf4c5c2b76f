package p2p

import "sync"

// gcGate is the store's shared/exclusive lock: imports, fetches, reads and
// open files share it; GC and Close take it alone. Unlike sync.RWMutex, a
// waiting exclusive holder does not stop new shared holders: one goroutine
// may hold it shared twice (a fusion reads an open base file while the
// fused file is imported in another goroutine that waits on it), and with
// sync.RWMutex a GC queued between the two would deadlock all three. GC
// waits instead until no one holds it shared.
type gcGate struct {
	mu     sync.Mutex
	idle   *sync.Cond // signalled when shared drops to zero
	shared int
	alone  bool
}

func (g *gcGate) init() {
	if g.idle == nil {
		g.idle = sync.NewCond(&g.mu)
	}
}

// RLock takes the gate shared, waiting only while it is held alone.
func (g *gcGate) RLock() {
	g.mu.Lock()
	g.init()
	for g.alone {
		g.idle.Wait()
	}
	g.shared++
	g.mu.Unlock()
}

// RUnlock releases a shared hold.
func (g *gcGate) RUnlock() {
	g.mu.Lock()
	g.shared--
	if g.shared < 0 {
		panic("p2p: gcGate.RUnlock without RLock")
	}
	if g.shared == 0 {
		g.idle.Broadcast()
	}
	g.mu.Unlock()
}

// Lock takes the gate alone once no one holds it.
func (g *gcGate) Lock() {
	g.mu.Lock()
	g.init()
	for g.alone || g.shared > 0 {
		g.idle.Wait()
	}
	g.alone = true
	g.mu.Unlock()
}

// Unlock releases the exclusive hold.
func (g *gcGate) Unlock() {
	g.mu.Lock()
	g.alone = false
	g.idle.Broadcast()
	g.mu.Unlock()
}
