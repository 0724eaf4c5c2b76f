package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// The node's collector setting applies unless GOGC is in the environment
// or the flag is 0.
func TestSetGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	setGCPercent(25)
	if got := debug.SetGCPercent(100); got != 25 {
		t.Errorf("GOGC %d after setGCPercent(25), want 25", got)
	}
	setGCPercent(0)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC %d after setGCPercent(0), want the previous 100", got)
	}
	t.Setenv("GOGC", "100")
	setGCPercent(25)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC %d after setGCPercent(25) with GOGC=100 in the environment, want 100", got)
	}
}

// The memory watcher writes a heap profile once the live heap grows and
// reports the peak resident set split by kind.
func TestMemProfile(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status on this system")
	}
	path := filepath.Join(t.TempDir(), "heap.prof")
	var out bytes.Buffer
	stop := startMemProfile(path, time.Millisecond, &out)
	var keep [][]byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		keep = append(keep, make([]byte, 1<<20))
		debug.FreeOSMemory() // a collection the watcher sees
		time.Sleep(2 * time.Millisecond)
		if st, err := os.Stat(path); (err == nil && st.Size() > 0) || time.Now().After(deadline) {
			break
		}
	}
	stop()
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("no heap profile written: %v", err)
	}
	if !strings.Contains(out.String(), "memprofile: at the largest RSS") || !strings.Contains(out.String(), "heap/live=") {
		t.Errorf("report %q lacks the peak's split", out.String())
	}
	anon, file := procRSS()
	if anon <= 0 || file <= 0 {
		t.Errorf("procRSS = %d, %d; want both positive", anon, file)
	}
	_ = keep
}
