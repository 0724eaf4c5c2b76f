package train

import (
	"runtime"
	"testing"
)

var collectSink []byte

// Collect(true) keeps the pages it frees for the heap to reuse;
// Collect(false) gives them back to the system.
func TestCollectKeepsFreedPagesWhenAsked(t *testing.T) {
	for _, keep := range []bool{true, false} {
		collectSink = make([]byte, 64<<20)
		for i := 0; i < len(collectSink); i += 4096 {
			collectSink[i] = 1
		}
		collectSink = nil
		Collect(keep)
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		retained := int64(m.HeapIdle) - int64(m.HeapReleased)
		if keep && retained < 32<<20 || !keep && retained > 16<<20 {
			t.Errorf("Collect(%v): %d MiB of free heap retained", keep, retained>>20)
		}
	}
}
