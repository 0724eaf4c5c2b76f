package lab

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// logger writes progress lines with the elapsed time; safe for concurrent use.
type logger struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newLogger(w io.Writer) *logger { return &logger{w: w, start: time.Now()} }

func (l *logger) printf(format string, args ...any) {
	if l == nil || l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	el := time.Since(l.start).Round(time.Second)
	fmt.Fprintf(l.w, "[%8s] %s\n", el, fmt.Sprintf(format, args...))
}
