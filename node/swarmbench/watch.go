package swarmbench

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// watch follows the nodes' logs until each has logged a head of a round.
type watch struct {
	procs   []*proc
	offset  []int64
	partial [][]byte // an unfinished last line per log
	reached []bool
	pattern []byte
}

func newWatch(procs []*proc, round int) *watch {
	return &watch{procs: procs, offset: make([]int64, len(procs)), partial: make([][]byte, len(procs)),
		reached: make([]bool, len(procs)), pattern: fmt.Appendf(nil, " msg=head round=%d ", round)}
}

// scan reads what each log gained since the last scan.
func (w *watch) scan() {
	for i, p := range w.procs {
		if !w.reached[i] {
			w.reached[i] = w.grep(i, p.logPath)
		}
	}
}

// grep reads log i from its offset and reports whether a complete line
// holds the pattern.
func (w *watch) grep(i int, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, w.offset[i], 1<<40))
	if err != nil {
		return false
	}
	w.offset[i] += int64(len(b))
	buf := append(w.partial[i], b...)
	cut := bytes.LastIndexByte(buf, '\n') + 1
	w.partial[i] = append([]byte(nil), buf[cut:]...)
	return bytes.Contains(buf[:cut], w.pattern)
}

func (w *watch) all() bool {
	for _, r := range w.reached {
		if !r {
			return false
		}
	}
	return true
}
