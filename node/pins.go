package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/p2p"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// pinSet collects the pins the policy wants; a CID wanted both ways is
// pinned recursively.
type pinSet map[cid.Cid]bool // CID -> direct

func (s pinSet) direct(c cid.Cid) {
	if _, ok := s[c]; !ok && c.Defined() {
		s[c] = true
	}
}

func (s pinSet) recursive(c cid.Cid) {
	if c.Defined() {
		s[c] = false
	}
}

func (s pinSet) list() []p2p.Pin {
	out := make([]p2p.Pin, 0, len(s))
	for c, d := range s {
		out = append(out, p2p.Pin{CID: c, Direct: d})
	}
	return out
}

// keepPolicy is what a repository must keep, computed from its files alone
// (config, state.json, rounds/, the block journal, the own-contribution
// log), so the running node and `coldnode repo gc` agree:
//
//   - the genesis block (direct) and the genesis weights (recursive);
//   - every record of the chosen chain and its contribution blocks (direct:
//     tiny, and a restart replays the chain from the genesis);
//   - the base and fused files of the records from the final one (the
//     finality horizon) up to the head (recursive);
//   - the contributions on the bases of non-final rounds and on the head's
//     base, which may still be counted or merged, with their deltas, and
//     records above the final round that lost the fork choice (direct);
//   - the node's own contributions and deltas, whatever their round, so the
//     swarm can still verify (and late joiners recompute) every round.
//
// Everything else (fused files below the horizon, other peers' deltas of
// final rounds, stale contributions and losing records of final rounds) is
// left unpinned for GC.
type keepPolicy struct {
	repo *Repo
	bs   *p2p.Blocks
	self peer.ID // "" when the repository has no identity yet
}

func (k keepPolicy) pins(ctx context.Context) ([]p2p.Pin, error) {
	cfg, err := k.repo.LoadConfig()
	if err != nil {
		return nil, err
	}
	swarm, err := parseCID(cfg.Swarm)
	if err != nil {
		return nil, fmt.Errorf("swarm ID: %w", err)
	}
	set := pinSet{}
	weights, err := k.genesis(ctx, swarm, set)
	if err != nil {
		return nil, err
	}
	live, final, err := k.chain(set, weights)
	if err != nil {
		return nil, err
	}
	if err := k.journal(ctx, set, live, final); err != nil {
		return nil, err
	}
	if err := k.own(set); err != nil {
		return nil, err
	}
	return set.list(), nil
}

func (k keepPolicy) genesis(ctx context.Context, swarm cid.Cid, set pinSet) (cid.Cid, error) {
	blk, err := k.bs.GetBlock(ctx, swarm)
	if err != nil {
		return cid.Undef, fmt.Errorf("genesis: %w", err)
	}
	g, err := wire.DecodeGenesis(blk.RawData())
	if err != nil {
		return cid.Undef, fmt.Errorf("genesis %s: %w", swarm, err)
	}
	set.direct(swarm)
	set.recursive(g.Weights)
	return g.Weights, nil
}

// chain pins the indexed chain and returns the live bases (those whose
// contributions may still count) and the final round.
func (k keepPolicy) chain(set pinSet, weights cid.Cid) (map[cid.Cid]bool, uint64, error) {
	x := k.repo.Index()
	st, err := x.State()
	if err != nil {
		return nil, 0, err
	}
	rounds, err := x.Rounds()
	if err != nil {
		return nil, 0, err
	}
	final := max(st.Height-st.Finality, 0)
	live := map[cid.Cid]bool{weights: final == 0}
	for _, ri := range rounds {
		base, fused := mustCID(ri.Base), mustCID(ri.Fused)
		set.direct(mustCID(ri.Record))
		for _, c := range ri.Contributions {
			set.direct(mustCID(c.CID))
			if ri.Round > final {
				set.recursive(mustCID(c.Delta))
			}
		}
		if ri.Round >= final {
			set.recursive(base)
			set.recursive(fused)
		}
		live[base] = live[base] || ri.Round > final
	}
	if b, err := cid.Decode(st.Base); err == nil {
		live[b] = true
	}
	return live, uint64(final), nil
}

// journal pins the stored contributions on live bases (and the node's own,
// on any base) with their deltas, and the records above the final round.
func (k keepPolicy) journal(ctx context.Context, set pinSet, live map[cid.Cid]bool, final uint64) error {
	cids, err := readJournal(k.repo.File(journalFile))
	if err != nil {
		return err
	}
	for _, c := range cids {
		if ok, err := k.bs.Has(ctx, c); err != nil || !ok {
			continue
		}
		blk, err := k.bs.GetBlock(ctx, c)
		if err != nil {
			return err
		}
		if ct, err := wire.DecodeContribution(blk.RawData()); err == nil {
			if live[ct.Base] || (k.self != "" && ct.Peer == k.self) {
				set.direct(c)
				set.recursive(ct.Delta)
			}
		} else if r, err := wire.DecodeRecord(blk.RawData()); err == nil && r.Round > final {
			set.direct(c)
		}
	}
	return nil
}

// own pins every delta the node logged as its own (an own delta is logged
// before its contribution is proposed, so this also covers one in flight).
func (k keepPolicy) own(set pinSet) error {
	ents, err := os.ReadDir(k.repo.File(ownDir))
	if err != nil {
		return fmt.Errorf("own contributions: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".head.json") {
			continue
		}
		var own OwnContribution
		if err := readJSON(filepath.Join(k.repo.File(ownDir), name), &own); err != nil {
			return err
		}
		set.recursive(mustCID(own.Delta))
	}
	return nil
}

// mustCID parses a CID the node wrote itself; a bad one yields cid.Undef,
// which the pin set ignores.
func mustCID(s string) cid.Cid {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef
	}
	return c
}
