package fusion

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// memShapes is a ~42 MB body (a 65,536 x 128 embedding and a 2,048 x 1,024
// layer) plus a head that fusion skips.
var memShapes = []struct {
	name  string
	shape []int
}{
	{"body.embed", []int{65536, 128}},
	{"body.l1.bias", []int{1024}},
	{"body.l1.weight", []int{2048, 1024}},
	{"head.w", []int{128, 4}},
}

// writeMemInputs saves a base and n deltas with memShapes in dir and returns
// their paths and the body size in bytes.
func writeMemInputs(t testing.TB, dir string, n int) ([]string, int64) {
	var paths []string
	var body int64
	for k := range n + 1 {
		f := &checkpoint.File{}
		x := uint32(2654435761 * uint32(k+1))
		for _, s := range memShapes {
			v := make([]float32, elems(s.shape))
			for i := range v {
				x ^= x << 13
				x ^= x >> 17
				x ^= x << 5
				v[i] = float32(int32(x)>>8) * 1e-9
			}
			f.Tensors = append(f.Tensors, checkpoint.NewF32(s.name, s.shape, v))
			if k == 0 && !checkpoint.IsHead(s.name) {
				body += int64(4 * len(v))
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("in-%d.safetensors", k))
		if err := checkpoint.Save(p, f); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths, body
}

// openFiles opens the files as streaming readers (os.File.ReadAt: tensor
// data stays in the page cache, not in the process).
func openFiles(t testing.TB, paths []string) (*checkpoint.Reader, []Input) {
	var rs []*checkpoint.Reader
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		r, err := checkpoint.Open(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	ins := make([]Input, len(rs)-1)
	for i, r := range rs[1:] {
		ins[i] = Input{ID: strconv.Itoa(i), Delta: r}
	}
	return rs[0], ins
}

// heapSampler records the largest live heap seen while it runs.
type heapSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			h.peak = max(h.peak, s[0].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	})
	return h
}

func (h *heapSampler) done() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak
}

func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// procStatus reads a kB field (VmRSS, VmHWM) of /proc/self/status in bytes;
// 0 where there is no such file.
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkFusePeakMemory fuses 8 deltas into a ~42 MB body, from files to
// a file, and reports the process's memory against the body size:
//
//	peak-heap/body   largest live Go heap sampled during Fuse (whole process)
//	alloc/body       bytes Fuse allocated (an upper bound on its heap growth)
//	peak-RSS/body    the process's peak resident set during Fuse (VmHWM,
//	                 reset before the call), test harness included
//
// go test -run '^$' -bench PeakMemory -benchtime 3x ./consensus/fusion/
func BenchmarkFusePeakMemory(b *testing.B) {
	dir := b.TempDir()
	paths, body := writeMemInputs(b, dir, 8)
	base, ins := openFiles(b, paths)
	var heap, alloc uint64
	var rss int64
	for b.Loop() {
		b.StopTimer()
		out, err := os.Create(filepath.Join(dir, "fused.safetensors"))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		debug.FreeOSMemory()
		os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM; ignored where unsupported
		a0, h := allocated(), sampleHeap()
		b.StartTimer()
		if _, err := Fuse(out, base, ins, DefaultRule); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		heap, alloc, rss = max(heap, h.done()), max(alloc, allocated()-a0), max(rss, procStatus("VmHWM"))
		out.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(body)/1e6, "body-MB")
	b.ReportMetric(float64(heap)/float64(body), "peak-heap/body")
	b.ReportMetric(float64(alloc)/float64(body), "alloc/body")
	b.ReportMetric(float64(rss)/float64(body), "peak-RSS/body")
}

// Fuse's allocations do not grow with the model: fusing 8 deltas of a
// body with a 2 Mi-element tensor (8 MiB, eight spans) allocates about
// ten span buffers (base, output and one per delta, 1 MiB each), not ten
// copies of the tensor. An allocation per tensor read, as before, would
// be 72 MiB here.
func TestFuseAllocationBounded(t *testing.T) {
	big := make([]float32, 2<<20)
	for i := range big {
		big[i] = float32(i%1000) * 1e-3
	}
	base := open(t, vec("body.big", big, "body.small", []float32{1, 2, 3}))
	var ins []Input
	for k := range 8 {
		ins = append(ins, Input{ID: strconv.Itoa(k), Delta: open(t, vec("body.big", big, "body.small", []float32{1, 2, 3}))})
	}
	for _, rule := range []string{"mean", "clip:1,median"} {
		a0 := allocated()
		if _, err := fuse(io.Discard, base, ins, mustRule(t, rule), 2); err != nil {
			t.Fatal(err)
		}
		got := allocated() - a0
		limit := uint64((len(ins)+2)*spanElems*4) + 1<<20 // buffers + small change
		if got > limit {
			t.Errorf("%s: Fuse allocated %d bytes, want at most %d (span buffers)", rule, got, limit)
		}
	}
}
