package swarmbench

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/coldnode/coldnode/node"
)

// logOf renders records the way a node logs them (slog's text handler) and
// parses them back.
func logOf(t *testing.T, recs ...slog.Record) []line {
	t.Helper()
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	for _, r := range recs {
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	buf.WriteString("round 1 head bafy... (a stdout line, not a record)\n")
	lines, err := parseLog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(recs) {
		t.Fatalf("parsed %d records of %d", len(lines), len(recs))
	}
	return lines
}

func rec(at time.Time, level slog.Level, msg string, args ...any) slog.Record {
	r := slog.NewRecord(at, level, msg, 0)
	r.Add(args...)
	return r
}

// TestRoundFigures times a scripted two-node round: the overhead runs from
// the last announcement to the last adoption of the final record; an
// earlier head with another record does not count.
func TestRoundFigures(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	info := slog.LevelInfo
	a := logOf(t,
		rec(at(0), info, "training", "round", 1, "task", "x y"),
		rec(at(800), info, "trained", "round", 1),
		rec(at(1000), info, "proposed", "round", 1, "cid", "c1"),
		rec(at(1200), info, "head", "round", 1, "record", "other"),
		rec(at(2000), slog.LevelDebug, "checked", "contribution", "c2", "seconds", "0.300"),
		rec(at(2150), slog.LevelDebug, "fused", "round", 1, "seconds", 0.25),
		rec(at(2200), info, "head", "round", 1, "record", "final"),
		rec(at(2300), info, "fetched", "cid", "d", "bytes", 1000))
	b := logOf(t,
		rec(at(100), info, "training", "round", 1),
		rec(at(1500), info, "trained", "round", 1),
		rec(at(1700), info, "proposed", "round", 1, "cid", "c2"),
		rec(at(1800), slog.LevelDebug, "checked", "contribution", "c1", "seconds", "0.100"),
		rec(at(1850), slog.LevelDebug, "fused", "round", 1, "seconds", 0.15),
		rec(at(1900), info, "built record", "round", 1, "record", "final"),
		rec(at(1950), info, "head", "round", 1, "record", "final"))
	r := roundFigures([][]line{a, b}, node.RoundInfo{Round: 1, Record: "final"})
	want := Round{Round: 1, Record: "final", LastProposed: at(1700), FirstHead: at(1950), LastHead: at(2200),
		Overhead: 500 * time.Millisecond, Build: 200 * time.Millisecond, Train: 1400 * time.Millisecond,
		Checks: 300 * time.Millisecond, Fuse: 250 * time.Millisecond}
	if r != want {
		t.Errorf("round figures\n got %+v\nwant %+v", r, want)
	}
	if p := procFigures(&proc{name: "a"}, a); p.FetchBytes != 1000 || p.Fetches != 1 || p.Heads != 2 {
		t.Errorf("proc figures %+v", p)
	}
	if got := a[0].Attr["task"]; got != "x y" {
		t.Errorf("quoted value parsed as %q", got)
	}
}

// TestAgree requires the same record and fused base in every chain.
func TestAgree(t *testing.T) {
	c := []node.RoundInfo{{Round: 1, Record: "r1", Fused: "f1"}, {Round: 2, Record: "r2", Fused: "f2"}}
	fork := []node.RoundInfo{c[0], {Round: 2, Record: "r2x", Fused: "f2"}}
	for _, tc := range []struct {
		chains [][]node.RoundInfo
		n      int
		want   bool
	}{
		{[][]node.RoundInfo{c, c}, 2, true},
		{[][]node.RoundInfo{c, fork}, 2, false},
		{[][]node.RoundInfo{c, fork}, 1, true},
		{[][]node.RoundInfo{c, c[:1]}, 2, false},
	} {
		if got := agree(tc.chains, tc.n); got != tc.want {
			t.Errorf("agree(%v, %d) = %v, want %v", tc.chains, tc.n, got, tc.want)
		}
	}
}
