package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Index is the repository's round index: one JSON file per round of the
// node's current chain (rounds/00000007.json) and state.json naming the head.
// Files are written atomically, rounds before the state that points at them,
// so a crash leaves at worst a round file the state does not count yet.
type Index struct{ dir string }

// State is the head as last persisted.
type State struct {
	Head     string `json:"head"` // record CID of the newest closed round; "" before the first
	Height   int64  `json:"height"`
	Base     string `json:"base"` // the current base: the head's fused CID, or the genesis body
	Finality int64  `json:"finality"`
}

// Index returns the repository's round index.
func (r *Repo) Index() *Index { return &Index{dir: r.Path} }

func (x *Index) roundPath(n int64) string {
	return filepath.Join(x.dir, roundsDir, fmt.Sprintf("%08d.json", n))
}

// SaveRound writes one round.
func (x *Index) SaveRound(ri RoundInfo) error {
	if err := writeJSON(x.roundPath(ri.Round), ri); err != nil {
		return fmt.Errorf("save round %d: %w", ri.Round, err)
	}
	return nil
}

// Round reads one round, with its finality computed from the state.
func (x *Index) Round(n int64) (RoundInfo, error) {
	st, err := x.State()
	if err != nil {
		return RoundInfo{}, err
	}
	if n < 1 || n > st.Height {
		return RoundInfo{}, fmt.Errorf("round %d (the head is round %d): %w", n, st.Height, ErrNotFound)
	}
	var ri RoundInfo
	if err := readJSON(x.roundPath(n), &ri); err != nil {
		return ri, fmt.Errorf("load round %d: %w", n, err)
	}
	ri.Final = st.Height-ri.Round >= st.Finality
	return ri, nil
}

// Rounds reads every round up to the head, oldest first.
func (x *Index) Rounds() ([]RoundInfo, error) {
	st, err := x.State()
	if err != nil {
		return nil, err
	}
	names, err := x.roundNumbers()
	if err != nil {
		return nil, err
	}
	var out []RoundInfo
	for _, n := range names {
		if n > st.Height {
			break
		}
		ri, err := x.Round(n)
		if err != nil {
			return nil, err
		}
		out = append(out, ri)
	}
	return out, nil
}

func (x *Index) roundNumbers() ([]int64, error) {
	ents, err := os.ReadDir(filepath.Join(x.dir, roundsDir))
	if err != nil {
		return nil, fmt.Errorf("read round index: %w", err)
	}
	var ns []int64
	for _, e := range ents {
		base, ok := strings.CutSuffix(e.Name(), ".json")
		if n, err := strconv.ParseInt(base, 10, 64); ok && err == nil {
			ns = append(ns, n)
		}
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
	return ns, nil
}

// State reads the persisted head; a fresh repository has the zero state.
func (x *Index) State() (State, error) {
	var st State
	err := readJSON(filepath.Join(x.dir, stateFile), &st)
	if errors.Is(err, os.ErrNotExist) {
		return State{}, nil
	}
	return st, err
}

// SaveState writes the head pointer.
func (x *Index) SaveState(st State) error {
	if err := writeJSON(filepath.Join(x.dir, stateFile), st); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// rewindTo moves the persisted head st back to the parent of low, the
// oldest round about to be rewritten, when st counts that round; see
// runtime.indexChain.
func (x *Index) rewindTo(st State, low RoundInfo) error {
	if st.Height < low.Round {
		return nil
	}
	back := State{Head: low.Parent, Height: low.Round - 1, Base: low.Base, Finality: st.Finality}
	if back.Height == 0 {
		back.Head = ""
	}
	return x.SaveState(back)
}
