package node

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FaultEnv names the environment variable of the crash-test hook. It is
// unset in normal use, and then faultPoint does nothing.
//
// COLDNODE_FAULT=PHASE[:N[:DELAY]] makes the process kill itself with SIGKILL
// DELAY (a Go duration, default 0) after it enters PHASE for the N-th time
// (default 1). The phases are:
//
//	train    local finetuning starts
//	import   the node's own delta is about to be written to the block store
//	fetch    a record or file starts arriving from peers
//	fuse     a fusion starts
//	persist  a consensus block or the head pointer is about to be written
//
// With a DELAY the kill lands wherever the node is by then (inside the
// training loop, an import, a fetch...). Before dying the process writes
// "fault point PHASE#N: SIGKILL" to stderr, so a test knows what it hit.
// cmd/coldnode TestCrashRecovery drives it.
const FaultEnv = "COLDNODE_FAULT"

// faultPhases are the phases faultPoint knows.
var faultPhases = []string{"train", "import", "fetch", "fuse", "persist"}

type faultPlan struct {
	phase string
	nth   int64
	delay time.Duration

	mu   sync.Mutex
	seen int64
}

var (
	faultOnce sync.Once
	fault     *faultPlan // nil: off
)

// parseFault reads a FaultEnv value.
func parseFault(v string) (*faultPlan, error) {
	parts := strings.Split(v, ":")
	p := &faultPlan{phase: parts[0], nth: 1}
	known := false
	for _, ph := range faultPhases {
		known = known || ph == p.phase
	}
	if !known || len(parts) > 3 {
		return nil, fmt.Errorf("%s=%q: want PHASE[:N[:DELAY]] with PHASE one of %s", FaultEnv, v, strings.Join(faultPhases, ", "))
	}
	var err error
	if len(parts) > 1 {
		if p.nth, err = strconv.ParseInt(parts[1], 10, 64); err != nil || p.nth < 1 {
			return nil, fmt.Errorf("%s=%q: N must be a positive integer", FaultEnv, v)
		}
	}
	if len(parts) > 2 {
		if p.delay, err = time.ParseDuration(parts[2]); err != nil || p.delay < 0 {
			return nil, fmt.Errorf("%s=%q: bad DELAY", FaultEnv, v)
		}
	}
	return p, nil
}

func loadFault() {
	v := os.Getenv(FaultEnv)
	if v == "" {
		return
	}
	p, err := parseFault(v)
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldnode:", err)
		os.Exit(2)
	}
	fault = p
}

// faultPoint marks that the node enters phase; see FaultEnv.
func faultPoint(phase string) {
	faultOnce.Do(loadFault)
	if fault == nil || fault.phase != phase {
		return
	}
	fault.mu.Lock()
	fault.seen++
	hit := fault.seen == fault.nth
	fault.mu.Unlock()
	if !hit {
		return
	}
	kill := func() {
		fmt.Fprintf(os.Stderr, "fault point %s#%d: SIGKILL\n", phase, fault.nth)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	if fault.delay == 0 {
		kill()
	}
	time.AfterFunc(fault.delay, kill)
}
