package swarmbench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// line is one logfmt record of a node's log (slog's text handler).
type line struct {
	Time time.Time
	Msg  string
	Attr map[string]string
}

// kept are the messages the report reads; a verbose log is mostly
// libp2p debug lines, which are skipped before they are split.
var kept = []string{"proposed", "built record", "head", "training", "trained", "fused", "checked", "fetched"}

// parseLog reads a node's log records with the kept messages; other lines
// (other messages, the per-round stdout lines) are skipped.
func parseLog(r io.Reader) ([]line, error) {
	var out []line
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if !keep(sc.Bytes()) {
			continue
		}
		kv := splitLogfmt(sc.Text())
		t, err := time.Parse(time.RFC3339Nano, kv["time"])
		if err != nil || kv["msg"] == "" {
			continue
		}
		out = append(out, line{Time: t, Msg: kv["msg"], Attr: kv})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	return out, nil
}

// splitLogfmt splits key=value pairs; a value may be a Go-quoted string.
func splitLogfmt(s string) map[string]string {
	kv := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || strings.ContainsAny(s[:eq], " \t\"") {
			return kv
		}
		key := s[:eq]
		val, rest := value(s[eq+1:])
		kv[key] = val
		s = rest
	}
	return kv
}

// value takes one value off the front of s: quoted or up to a space.
func value(s string) (string, string) {
	if strings.HasPrefix(s, `"`) {
		if q, err := strconv.QuotedPrefix(s); err == nil {
			v, _ := strconv.Unquote(q)
			return v, s[len(q):]
		}
	}
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// round returns the line's round attribute, or -1.
func (l line) round() int {
	r, err := strconv.Atoi(l.Attr["round"])
	if err != nil {
		return -1
	}
	return r
}

func (l line) int64(key string) int64 {
	v, _ := strconv.ParseInt(l.Attr[key], 10, 64)
	return v
}

func (l line) seconds(key string) time.Duration {
	v, err := strconv.ParseFloat(l.Attr[key], 64)
	if err != nil {
		return 0
	}
	return time.Duration(v * float64(time.Second))
}

// keep reports whether a log line carries one of the kept messages.
func keep(b []byte) bool {
	b = append(b[:len(b):len(b)], ' ') // a message without attributes ends the line
	for _, m := range kept {
		if bytes.Contains(b, []byte(" msg="+m+" ")) || bytes.Contains(b, []byte(` msg="`+m+`" `)) {
			return true
		}
	}
	return false
}
