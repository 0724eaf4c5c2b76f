package node

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ipfs/go-cid"
)

const journalFile = "blocks.journal"

// journal lists, one CID a line, every consensus block the node persisted,
// in order. A restart replays them into a fresh state machine. Each line is
// appended and synced after its block is durably in the store (the caller
// syncs the store first), so a crash loses at most the line being written,
// whose block the swarm re-announces anyway; opening the journal cuts such
// a torn line, so the next line appended is not glued to it.
type journal struct {
	f    *os.File
	seen map[cid.Cid]bool // already in the file
}

func openJournal(r *Repo) (*journal, []cid.Cid, error) {
	path := r.File(journalFile)
	if _, err := cutTornTail(path); err != nil {
		return nil, nil, fmt.Errorf("block journal: %w", err)
	}
	cids, err := readJournal(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open block journal: %w", err)
	}
	j := &journal{f: f, seen: make(map[cid.Cid]bool, len(cids))}
	for _, c := range cids {
		j.seen[c] = true
	}
	return j, cids, nil
}

// readJournal parses the journal, skipping a torn last line.
func readJournal(path string) ([]cid.Cid, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read block journal: %w", err)
	}
	defer f.Close()
	var out []cid.Cid
	seen := map[cid.Cid]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c, err := cid.Decode(strings.TrimSpace(sc.Text()))
		if err != nil || seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, c)
	}
	return out, sc.Err()
}

// append records c durably.
func (j *journal) append(c cid.Cid) error {
	if j.seen[c] {
		return nil
	}
	j.seen[c] = true
	if _, err := j.f.WriteString(c.String() + "\n"); err != nil {
		return fmt.Errorf("block journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("block journal: %w", err)
	}
	return nil
}

func (j *journal) close() error { return j.f.Close() }

// cutTornTail truncates an append-only journal after its last newline, so a
// line torn by a crash (or a full disk) is dropped instead of being glued to
// the next line appended. It reports how many bytes it cut.
func cutTornTail(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	keep := int64(bytes.LastIndexByte(b, '\n') + 1)
	if keep == int64(len(b)) {
		return 0, nil
	}
	if err := os.Truncate(path, keep); err != nil {
		return 0, fmt.Errorf("cut torn last line: %w", err)
	}
	return int64(len(b)) - keep, nil
}
