package node

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

func TestHumanLogLine(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(&buf, true, slog.LevelInfo).With("node", 2)
	l.Debug("hidden")
	l.Info("head", "round", 3, "reason", "two words")
	line := buf.String()
	if !regexp.MustCompile(`^\d\d:\d\d:\d\d INFO  head node=2 round=3 reason="two words"\n$`).MatchString(line) {
		t.Fatalf("log line %q", line)
	}
}

func TestProgressDrawsOnlyOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	NewProgress(&buf, false).Update("x", 1, 2, "steps")
	if buf.Len() != 0 {
		t.Fatalf("progress drew off a terminal: %q", buf.String())
	}
	p := NewProgress(&buf, true)
	p.Update("train", 5, 10, "steps")
	p.Done()
	if s := buf.String(); !strings.Contains(s, " 50% 5/10 steps") || !strings.HasSuffix(s, "\n") {
		t.Fatalf("progress %q", s)
	}
}
