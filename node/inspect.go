package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/p2p"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/deltaenc"
	"github.com/coldnode/coldnode/train/model"
	"github.com/ipfs/go-cid"
)

// readRecord reads and decodes a round record.
func readRecord(ctx context.Context, bs *p2p.Blocks, c cid.Cid) (*wire.Record, error) {
	blk, err := bs.GetBlock(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", c, err)
	}
	return wire.DecodeRecord(blk.RawData())
}

// readContribution reads a contribution into its summary.
func readContribution(ctx context.Context, bs *p2p.Blocks, c cid.Cid) (ContributionInfo, error) {
	blk, err := bs.GetBlock(ctx, c)
	if err != nil {
		return ContributionInfo{}, fmt.Errorf("contribution %s: %w", c, err)
	}
	ct, err := wire.DecodeContribution(blk.RawData())
	if err != nil {
		return ContributionInfo{}, err
	}
	return ContributionInfo{CID: c.String(), Peer: ct.Peer.String(), Task: ct.Task, Delta: ct.Delta.String(),
		Examples: int64(ct.Examples), Metrics: ct.Metrics}, nil
}

// showObject decodes whatever c names: a consensus block (dag-cbor) or a
// weights file (UnixFS), from the local store only.
func showObject(ctx context.Context, bs *p2p.Blocks, s string) (Object, error) {
	c, err := parseCID(s)
	if err != nil {
		return Object{}, err
	}
	if ok, err := bs.Has(ctx, c); err != nil || !ok {
		return Object{}, fmt.Errorf("%s is not in this repository: %w", c, ErrNotFound)
	}
	if c.Type() != cid.DagCBOR {
		return showFile(ctx, bs, c)
	}
	blk, err := bs.GetBlock(ctx, c)
	if err != nil {
		return Object{}, err
	}
	return decodeObject(c, blk.RawData())
}

func decodeObject(c cid.Cid, b []byte) (Object, error) {
	o := Object{CID: c.String(), Size: int64(len(b))}
	if g, err := wire.DecodeGenesis(b); err == nil {
		o.Kind, o.Body = "genesis", genesisView(g)
		return o, nil
	}
	if r, err := wire.DecodeRecord(b); err == nil {
		o.Kind, o.Body = "record", recordView(r)
		return o, nil
	}
	ct, err := wire.DecodeContribution(b)
	if err != nil {
		return o, fmt.Errorf("%s is not a genesis, record or contribution: %w", c, err)
	}
	o.Kind, o.Body = "contribution", contributionView(ct)
	return o, nil
}

func recordView(r *wire.Record) any {
	cs := make([]string, len(r.Contributions))
	for i, c := range r.Contributions {
		cs[i] = c.String()
	}
	return map[string]any{"swarm": r.Swarm.String(), "round": r.Round, "parent": r.Parent.String(),
		"base": r.Base.String(), "contributions": cs, "fused": r.Fused.String()}
}

func contributionView(c *wire.Contribution) any {
	return map[string]any{"swarm": c.Swarm.String(), "round": c.Round, "base": c.Base.String(),
		"delta": c.Delta.String(), "peer": c.Peer.String(), "task": c.Task, "examples": c.Examples,
		"metrics": c.Metrics, "signature": c.Sig}
}

type paramsView struct {
	Quorum    int      `json:"quorum"`
	Window    string   `json:"window"`
	Deadline  string   `json:"deadline"`
	Rule      string   `json:"rule"`
	Finality  int      `json:"finality"`
	Allow     []string `json:"allow,omitempty"`
	MaxDelta  int64    `json:"max_delta"`
	NormBound float64  `json:"norm_bound"`
}

func genesisView(g *wire.Genesis) any {
	p := g.Params
	pv := paramsView{Quorum: p.Quorum, Window: p.Window.String(), Deadline: p.Deadline.String(), Rule: p.Rule,
		Finality: p.Finality, MaxDelta: p.MaxDelta, NormBound: p.NormBound}
	for _, a := range p.Allow {
		pv.Allow = append(pv.Allow, a.String())
	}
	return map[string]any{"name": g.Name, "model": g.Model, "weights": g.Weights.String(), "params": pv}
}

type tensorView struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

// showFile summarises a safetensors file: metadata and tensor shapes.
func showFile(ctx context.Context, bs *p2p.Blocks, c cid.Cid) (Object, error) {
	var buf sizedBuffer
	if err := bs.Export(ctx, c, &buf); err != nil {
		return Object{}, fmt.Errorf("read %s: %w", c, err)
	}
	o := Object{CID: c.String(), Kind: "file", Size: int64(len(buf.b))}
	if deltaenc.Compressed(buf.b) {
		o.Kind, o.Body = "delta", map[string]string{"note": "an encoded delta in a zstd frame (docs/protocol.md §7.1); `coldnode export` writes it decoded"}
		return o, nil
	}
	f, err := checkpoint.Decode(buf.b)
	if err != nil {
		o.Body = map[string]string{"note": "not a safetensors file: " + err.Error()}
		return o, nil
	}
	ts := make([]tensorView, len(f.Tensors))
	for i, t := range f.Tensors {
		ts[i] = tensorView{Name: t.Name, DType: string(t.DType), Shape: t.Shape}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	o.Kind = "weights"
	o.Body = map[string]any{"meta": f.Meta, "tensors": ts}
	return o, nil
}

type sizedBuffer struct{ b []byte }

func (s *sizedBuffer) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }

// exportFile writes the weights file c with the node's own task head as
// mode asks (see HeadMode).
func exportFile(ctx context.Context, bs *p2p.Blocks, repo *Repo, s string, mode HeadMode, w io.Writer) error {
	c, err := parseCID(s)
	if err != nil {
		return err
	}
	if ok, err := bs.Has(ctx, c); err != nil || !ok {
		return fmt.Errorf("%s is not in this repository: %w", c, ErrNotFound)
	}
	if c.Type() == cid.DagCBOR {
		return fmt.Errorf("%s is a genesis, record or contribution, not a weights file (see `coldnode show`): %w", c, ErrBadRequest)
	}
	head, err := ownHeadFor(repo, c.String(), mode)
	if err != nil {
		return err
	}
	return writeWeights(ctx, bs, repo, c, head, w)
}

// writeWeights writes the stored weights file c to w as plain safetensors,
// with head's tensors added when head is not nil.
func writeWeights(ctx context.Context, bs *p2p.Blocks, repo *Repo, c cid.Cid, head *checkpoint.File, w io.Writer) error {
	encoded, err := isEncodedDelta(ctx, bs, c)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	if head == nil && !encoded {
		return bs.Export(ctx, c, w)
	}
	var buf sizedBuffer
	if err := bs.Export(ctx, c, &buf); err != nil {
		return err
	}
	body, err := decodeWeights(ctx, bs, repo, buf.b, encoded)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	if head != nil {
		body = withHead(body, head)
	}
	return checkpoint.Write(w, body)
}

// isEncodedDelta reports whether the stored file c is a delta in one of
// the compact encodings (train/deltaenc): a zstd frame, or a safetensors
// file whose metadata names its encoding. Only the first bytes and the
// header are read.
func isEncodedDelta(ctx context.Context, bs *p2p.Blocks, c cid.Cid) (bool, error) {
	f, err := bs.Open(ctx, c)
	if err != nil {
		return false, err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if n, _ := f.ReadAt(magic, 0); deltaenc.Compressed(magic[:n]) {
		return true, nil
	}
	r, err := checkpoint.Open(f, f.Size())
	if err != nil {
		return false, nil // not safetensors: exported as stored, as before
	}
	return deltaenc.Encoded(r), nil
}

// decodeWeights decodes a stored weights file; an encoded delta is decoded
// to its float32 values against the swarm's genesis layout, so that an
// export is always a plain safetensors file.
func decodeWeights(ctx context.Context, bs *p2p.Blocks, repo *Repo, b []byte, encoded bool) (*checkpoint.File, error) {
	if !encoded {
		return checkpoint.Decode(b)
	}
	layout, err := genesisLayoutIn(ctx, bs, repo)
	if err != nil {
		return nil, fmt.Errorf("decode the delta: %w", err)
	}
	r, err := deltaenc.Open(b, deltaenc.Limit(layout))
	if err != nil {
		return nil, err
	}
	return deltaenc.DecodeFile(r, layout)
}

// genesisLayoutIn reads the layout (names, shapes, dtypes) of the genesis
// weights of the repository's swarm from the block store.
func genesisLayoutIn(ctx context.Context, bs *p2p.Blocks, repo *Repo) (*checkpoint.Reader, error) {
	cfg, err := repo.LoadConfig()
	if err != nil {
		return nil, err
	}
	sc, err := cid.Decode(cfg.Swarm)
	if err != nil {
		return nil, fmt.Errorf("swarm %q in the repository config: %w", cfg.Swarm, err)
	}
	blk, err := bs.GetBlock(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("genesis %s: %w", sc, err)
	}
	g, err := wire.DecodeGenesis(blk.RawData())
	if err != nil {
		return nil, fmt.Errorf("genesis %s: %w", sc, err)
	}
	f, err := bs.Open(ctx, g.Weights)
	if err != nil {
		return nil, fmt.Errorf("genesis weights %s: %w", g.Weights, err)
	}
	defer f.Close()
	layout, err := layoutAt(f, f.Size())
	if err != nil {
		return nil, fmt.Errorf("genesis weights %s: %w", g.Weights, err)
	}
	return layout, nil
}

// ownHeadFor picks the own head mode asks for on base; nil for none.
func ownHeadFor(repo *Repo, base string, mode HeadMode) (*checkpoint.File, error) {
	if mode == HeadNone {
		return nil, nil
	}
	if head, err := repo.OwnHead(base); err == nil {
		return head, nil
	}
	if mode != HeadLatest {
		return nil, nil
	}
	own, err := repo.LatestOwn()
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("this node has trained no task head yet (export without --head): %w", err)
	}
	if err != nil {
		return nil, err
	}
	return repo.OwnHead(own.Base)
}

// withHead replaces body's task heads with head's, and takes head's model
// configuration (it carries the head's classes).
func withHead(body, head *checkpoint.File) *checkpoint.File {
	out := &checkpoint.File{Meta: body.Meta}
	for _, t := range body.Tensors {
		if !checkpoint.IsHead(t.Name) {
			out.Tensors = append(out.Tensors, t)
		}
	}
	out.Tensors = append(out.Tensors, head.Tensors...)
	if cfg, ok := head.Meta[model.MetaKey]; ok {
		out.Meta = map[string]string{model.MetaKey: cfg}
		for k, v := range body.Meta {
			if k != model.MetaKey {
				out.Meta[k] = v
			}
		}
	}
	return out
}
