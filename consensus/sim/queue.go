package sim

import (
	"container/heap"
	"time"
)

// event is something that happens at a simulated time; seq breaks ties so
// the order is total and runs are reproducible.
type event struct {
	at  time.Duration
	seq uint64
	do  func()
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// at schedules do after delay d from now.
func (s *sim) at(d time.Duration, do func()) {
	s.seq++
	heap.Push(&s.queue, event{at: s.now + d, seq: s.seq, do: do})
}

// loop runs events until the queue is empty or stop is set.
func (s *sim) loop() {
	for len(s.queue) > 0 && !s.stop {
		e := heap.Pop(&s.queue).(event)
		s.now = e.at
		e.do()
	}
}
