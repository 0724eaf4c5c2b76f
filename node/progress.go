package node

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress draws one progress bar line on a terminal, redrawing in place, or
// (when not a terminal) writes nothing: the node logs milestones instead.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	last  time.Time
	shown bool
}

// NewProgress returns a bar drawing on w when on is set.
func NewProgress(w io.Writer, on bool) *Progress { return &Progress{w: w, on: on} }

// Update redraws the bar for done of total units, at most ten times a second.
func (p *Progress) Update(label string, done, total int64, unit string) {
	if p == nil || !p.on || total <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.last) < 100*time.Millisecond && done < total {
		return
	} else {
		p.last = now
	}
	const width = 30
	fill := int(done * width / total)
	if fill > width {
		fill = width
	}
	fmt.Fprintf(p.w, "\r%-22s [%s%s] %3d%% %d/%d %s ", label, strings.Repeat("=", fill),
		strings.Repeat(" ", width-fill), done*100/total, done, total, unit)
	p.shown = true
}

// Done ends the bar's line.
func (p *Progress) Done() {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\n")
		p.shown = false
	}
}
