package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// startCPUProfile profiles the process into path until the returned
// function runs.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// memSample is what the memory watcher reads at one moment: the kernel's
// view of the process and the Go runtime's split of its own memory.
type memSample struct {
	rssAnon, rssFile int64 // /proc/self/status, bytes
	m                []metrics.Sample
}

// memClasses are the runtime's memory classes the watcher reports (their
// sum is /memory/classes/total:bytes, all the memory the runtime mapped).
var memClasses = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/metadata/mspan/inuse:bytes",
	"/memory/classes/other:bytes",
	"/memory/classes/profiling/buckets:bytes",
	"/memory/classes/total:bytes",
	"/gc/cycles/total:gc-cycles",
	"/gc/gomemlimit:bytes",
}

func newMemSample() memSample {
	s := memSample{m: make([]metrics.Sample, len(memClasses))}
	for i, n := range memClasses {
		s.m[i].Name = n
	}
	return s
}

func (s *memSample) read() {
	metrics.Read(s.m)
	s.rssAnon, s.rssFile = procRSS()
}

func (s *memSample) value(name string) int64 {
	for _, m := range s.m {
		if m.Name == name && m.Value.Kind() == metrics.KindUint64 {
			return int64(m.Value.Uint64())
		}
	}
	return 0
}

// procRSS reads RssAnon and RssFile (+RssShmem) from /proc/self/status;
// zeros where there is none.
func procRSS() (anon, file int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "RssAnon":
			anon = n << 10
		case "RssFile", "RssShmem":
			file += n << 10
		}
	}
	return anon, file
}

// startMemProfile watches the process's memory every interval until the
// returned function runs: after each collection whose live heap is the
// largest so far it collects again and writes the heap profile (the live
// objects at that moment) to path, and it remembers the sample of the largest resident
// set. The stop function writes both peaks, split, to w.
func startMemProfile(path string, every time.Duration, w io.Writer) func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		watchMemory(path, every, w, stop)
	}()
	return func() {
		close(stop)
		<-done
	}
}

func watchMemory(path string, every time.Duration, w io.Writer, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	cur, peak := newMemSample(), newMemSample()
	var cycles, live, maxLive int64
	for {
		select {
		case <-stop:
			reportMemory(w, path, peak, maxLive)
			return
		case <-t.C:
		}
		cur.read()
		if cur.rssAnon+cur.rssFile > peak.rssAnon+peak.rssFile {
			peak.rssAnon, peak.rssFile = cur.rssAnon, cur.rssFile
			copy(peak.m, cur.m)
		}
		if c := cur.value("/gc/cycles/total:gc-cycles"); c != cycles {
			cycles, live = c, cur.value("/gc/heap/live:bytes")
			if live > maxLive {
				maxLive = live
				if err := writeHeapProfile(path); err != nil {
					fmt.Fprintf(w, "memprofile: %v\n", err)
				}
			}
		}
	}
}

// writeHeapProfile collects garbage first: the heap profile describes the
// heap as of the last finished collection but is published only at the
// next, so without this it would lag the live heap just measured.
func writeHeapProfile(path string) error {
	runtime.GC()
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	return os.Rename(tmp, path)
}

func reportMemory(w io.Writer, path string, peak memSample, maxLive int64) {
	mb := func(n int64) string { return fmt.Sprintf("%.1f", float64(n)/1e6) }
	fmt.Fprintf(w, "memprofile: largest live heap %s MB (profile %s)\n", mb(maxLive), path)
	fmt.Fprintf(w, "memprofile: at the largest RSS %s MB: anon %s, file %s;", mb(peak.rssAnon+peak.rssFile), mb(peak.rssAnon), mb(peak.rssFile))
	for _, m := range peak.m {
		if m.Value.Kind() == metrics.KindUint64 && strings.HasSuffix(m.Name, ":bytes") {
			fmt.Fprintf(w, " %s=%s", strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(m.Name, "/memory/classes/"), "/gc/"), ":bytes"), mb(int64(m.Value.Uint64())))
		}
	}
	fmt.Fprintln(w)
}
