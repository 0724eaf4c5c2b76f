package node

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/coldnode/coldnode/consensus"
	"github.com/ipfs/go-cid"
)

const verdictsFile = "verdicts.journal"

// DefaultNormBound is the largest L2 norm of a delta's body that `coldnode
// init` writes into a new genesis (wire.Params.NormBound; the protocol's own
// default, 0, is unbounded). The node's check rejects a larger delta with
// reason "norm". It is sized from honest deltas measured with `coldnode lab`
// (docs/reliability.md, "Norm bound"): the text models' honest deltas at
// the node's default training stay under about a tenth of it, while the
// same deltas x100 exceed it. A swarm with another model, much more data per
// round or more epochs should measure its own (`coldnode init --norm-bound`).
const DefaultNormBound = 1000

// verdicts remembers, across restarts, the delta checks that passed and the
// fusions this node computed itself ("check <contribution>", "fuse <key>
// <fused>", one a line, appended and synced). A restart replays the chain
// from the genesis; with these the replay needs neither the deltas of final
// rounds, which garbage collection removed and whose authors may be
// offline, nor the old fused files. Only the node's own results are
// recorded, so trusting them trusts no one else. The loop goroutine owns it.
type verdicts struct {
	f       *os.File
	checked map[cid.Cid]bool
	fused   map[string]cid.Cid
	failed  map[cid.Cid]string // reason label of a failed check, until its Rejected event
}

// maxFailed bounds failed: a check whose event never comes (the state
// machine pruned the contribution meanwhile) must not grow it forever.
const maxFailed = 4096

func openVerdicts(r *Repo) (*verdicts, error) {
	v := &verdicts{checked: map[cid.Cid]bool{}, fused: map[string]cid.Cid{}, failed: map[cid.Cid]string{}}
	if _, err := cutTornTail(r.File(verdictsFile)); err != nil {
		return nil, fmt.Errorf("verdicts: %w", err)
	}
	if err := v.load(r.File(verdictsFile)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(r.File(verdictsFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open verdicts: %w", err)
	}
	v.f = f
	return v, nil
}

// load reads the file, skipping malformed lines (a torn last line).
func (v *verdicts) load(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read verdicts: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v.parse(strings.Fields(sc.Text()))
	}
	return sc.Err()
}

func (v *verdicts) parse(f []string) {
	switch {
	case len(f) == 2 && f[0] == "check":
		if c, err := cid.Decode(f[1]); err == nil {
			v.checked[c] = true
		}
	case len(f) == 3 && f[0] == "fuse":
		if c, err := cid.Decode(f[2]); err == nil {
			v.fused[f[1]] = c
		}
	}
}

// known answers a check or fusion from an earlier result; nil when unknown.
func (v *verdicts) check(c cid.Cid) consensus.Message {
	if v == nil || !v.checked[c] {
		return nil
	}
	return consensus.Checked{Contribution: c}
}

func (v *verdicts) fuse(key string) consensus.Message {
	if v == nil {
		return nil
	}
	if c, ok := v.fused[key]; ok {
		return consensus.Fused{Key: key, Fused: c}
	}
	return nil
}

// record remembers a successful check or fusion the node did itself, and
// why a check failed (for reason).
func (v *verdicts) record(msg consensus.Message) error {
	line := ""
	switch m := msg.(type) {
	case consensus.Checked:
		v.noteFailure(m)
		if m.Err == nil && !m.Unavailable && !v.checked[m.Contribution] {
			v.checked[m.Contribution] = true
			line = "check " + m.Contribution.String()
		}
	case consensus.Fused:
		if _, ok := v.fused[m.Key]; m.Err == nil && !ok && !strings.ContainsAny(m.Key, " \n") {
			v.fused[m.Key] = m.Fused
			line = "fuse " + m.Key + " " + m.Fused.String()
		}
	}
	if line == "" {
		return nil
	}
	if _, err := v.f.WriteString(line + "\n"); err != nil {
		return fmt.Errorf("verdicts: %w", err)
	}
	return v.f.Sync()
}

func (v *verdicts) close() error { return v.f.Close() }

// noteFailure keeps the reason label of a failed check, classified from the
// node's own error value, for the Rejected event it leads to.
func (v *verdicts) noteFailure(m consensus.Checked) {
	if m.Err == nil || m.Unavailable {
		return
	}
	if len(v.failed) >= maxFailed {
		clear(v.failed)
	}
	v.failed[m.Contribution] = checkReason(m.Err)
}

// reason is the label of a Rejected event: for a delta this node's check
// failed, the reason noted then; otherwise classified from the event's text.
func (v *verdicts) reason(e consensus.Rejected) string {
	if v != nil && (e.Cause == consensus.CauseDelta || strings.HasPrefix(e.Reason, "delta check: ")) {
		if r, ok := v.failed[e.CID]; ok {
			delete(v.failed, e.CID)
			return r
		}
	}
	return eventReason(e)
}
