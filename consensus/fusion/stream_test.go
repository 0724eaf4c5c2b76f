package fusion

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// eventLog records reads and writes in the order Fuse makes them.
type eventLog struct{ events []string }

type loggedReaderAt struct {
	name string
	r    *bytes.Reader
	log  *eventLog
}

func (l loggedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if len(p) > 64 { // tensor data, not the header
		l.log.events = append(l.log.events, "r:"+l.name)
	}
	return l.r.ReadAt(p, off)
}

func (l *eventLog) Write(p []byte) (int, error) {
	l.events = append(l.events, "w")
	return len(p), nil
}

func loggedOpen(t *testing.T, name string, f *checkpoint.File, log *eventLog) *checkpoint.Reader {
	b, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := checkpoint.Open(loggedReaderAt{name, bytes.NewReader(b), log}, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Fuse writes the header before reading any tensor, then reads each body
// tensor of the base and of every delta and writes it before touching the
// next: one tensor per input in memory at a time. Heads are never read.
func TestStreamsTensorByTensor(t *testing.T) {
	body := func(v float32) *checkpoint.File {
		big := make([]float32, 100)
		for i := range big {
			big[i] = v
		}
		return vec("body.a", big, "body.b", big, "body.c", big, "head.z", big)
	}
	log := &eventLog{}
	base := loggedOpen(t, "base", body(1), log)
	ins := []Input{{ID: "y", Delta: loggedOpen(t, "y", body(2), log)}, {ID: "x", Delta: loggedOpen(t, "x", body(3), log)}}
	log.events = nil
	if _, err := Fuse(log, base, ins, DefaultRule); err != nil {
		t.Fatal(err)
	}
	per := "r:base r:x r:y w"
	want := "w " + strings.TrimSpace(strings.Repeat(per+" ", 3))
	if got := strings.Join(log.events, " "); got != want {
		t.Fatalf("events\n%s\nwant\n%s", got, want)
	}
	// Clip reads every delta once first, tensor by tensor, for its norm.
	log.events = nil
	if _, err := Fuse(log, base, ins, Rule{Kind: Mean, Clip: 1}); err != nil {
		t.Fatal(err)
	}
	norms := "r:x r:x r:x r:y r:y r:y"
	if got := strings.Join(log.events, " "); got != norms+" "+want {
		t.Fatalf("clip events\n%s\nwant\n%s", got, fmt.Sprint(norms, " ", want))
	}
}
