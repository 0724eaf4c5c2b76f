package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/p2p"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// network is the node's p2p side while it runs.
type network struct {
	host   *p2p.Node
	topic  *p2p.Topic
	blocks *p2p.Blocks
}

// roundsTopic splits wire.Topic(swarm), the protocol's one definition of the
// gossip topic, into the swarm and name p2p.Join takes, so the topic joined
// is exactly wire.Topic(swarm).
func roundsTopic(swarm cid.Cid) (string, string, error) {
	full := wire.Topic(swarm)
	name, ok := strings.CutPrefix(full, p2p.TopicName(swarm.String(), ""))
	if !ok || name == "" {
		return "", "", fmt.Errorf("protocol topic %q is not of the form /coldnode/<swarm>/<name>", full)
	}
	return swarm.String(), name, nil
}

// joinRounds joins the swarm's round protocol topic.
func (net *network) joinRounds(swarm cid.Cid, v p2p.Validator) error {
	s, name, err := roundsTopic(swarm)
	if err != nil {
		return err
	}
	if net.topic, err = net.host.Join(s, name, v); err != nil {
		return fmt.Errorf("join swarm topic: %w", err)
	}
	return nil
}

// p2pConfig maps the node's settings onto the p2p layer: listen addresses,
// bootstrap peers (dialled at start and again whenever fewer than LowPeers
// are connected), mDNS, the private swarm key, and the genesis allowlist,
// which the connection gater enforces in both directions.
func (n *Node) p2pConfig(psk []byte, allow []peer.ID) p2p.Config {
	pc := p2p.DefaultConfig()
	pc.ListenAddrs, pc.Bootstrap, pc.MDNS = n.cfg.Listen, n.cfg.Bootstrap, !n.cfg.NoMDNS
	pc.PSK, pc.Allow = psk, allow
	if n.cfg.LowPeers > 0 {
		pc.LowPeers = n.cfg.LowPeers
	}
	if n.cfg.ReconnectEvery > 0 {
		pc.ReconnectEvery = n.cfg.ReconnectEvery
	}
	return pc
}

// startNetwork starts the libp2p host, admitting only allow when it is not
// empty, and waits for the bootstrap dials.
func (n *Node) startNetwork(ctx context.Context, key crypto.PrivKey, allow []peer.ID) (*network, error) {
	if _, err := p2p.ParseBootstrap(n.cfg.Bootstrap); err != nil {
		return nil, hint(err, "a bootstrap address looks like /ip4/127.0.0.1/tcp/4011/p2p/12D3KooW... (see `coldnode id` on that node)")
	}
	psk, err := loadSwarmKey(n.repo)
	if err != nil {
		return nil, err
	}
	if err := checkListen(n.cfg.Listen); err != nil {
		return nil, err
	}
	host, err := p2p.New(ctx, n.p2pConfig(psk, allow), key, n.repo.Path, n.log.With("subsystem", "p2p"),
		p2p.WithRejections(func(_ peer.ID, reason string) { n.metrics.Rejected(gossipReason(reason)) }))
	if err != nil {
		if strings.Contains(err.Error(), "address already in use") {
			return nil, hint(err, "another program uses a --listen port; choose another (port 0 picks a free one)")
		}
		return nil, fmt.Errorf("start p2p host: %w", err)
	}
	host.ServeDAG()
	if err := host.DialBootstrap(ctx); err != nil {
		host.Close()
		return nil, bootstrapHint(err, len(allow) > 0)
	}
	if len(n.cfg.Bootstrap) > 0 {
		n.log.Info("connected", "peers", len(host.Peers()))
	}
	return &network{host: host, blocks: host.Blocks()}, nil
}

func bootstrapHint(err error, allowlist bool) error {
	if allowlist {
		return hint(err, "this swarm has an allowlist: the bootstrap peers and this node (`coldnode id`) must both be on it")
	}
	return hint(err, "check the addresses and that those nodes run (`coldnode id` on them prints their addresses)")
}

// loadSwarmKey reads the repository's swarm.key (kubo's pre-shared key
// format) when there is one: only peers with the same key can connect.
func loadSwarmKey(r *Repo) ([]byte, error) {
	path := r.File("swarm.key")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	psk, err := p2p.LoadSwarmKey(path)
	if err != nil {
		return nil, fmt.Errorf("private swarm key: %w", err)
	}
	return psk, nil
}

// close shuts the host down, waiting for its goroutines.
func (net *network) close() error {
	if net.topic != nil {
		net.topic.Close()
	}
	return net.host.Close()
}

// genesisBlock returns the swarm's genesis block from the local store or,
// on first join, from the bootstrap peers through a host without an
// allowlist (the allowlist is in the genesis), which is closed again so the
// real host can start with the allowlist in its connection gater.
func (n *Node) genesisBlock(ctx context.Context, key crypto.PrivKey, swarm cid.Cid) ([]byte, error) {
	if gb, err := localGenesis(ctx, n.repo, swarm); err != nil || gb != nil {
		return gb, err
	}
	net, err := n.startNetwork(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	defer net.close()
	gb, err := loadGenesis(ctx, net.blocks, swarm, n.cfg.GenesisTimeout)
	if err != nil {
		return nil, err
	}
	if err := net.blocks.Put(ctx, swarm, gb); err != nil {
		return nil, fmt.Errorf("store genesis: %w", err)
	}
	return gb, nil
}

// localGenesis reads the genesis from the repository's block store without
// any network; nil when it is not there yet.
func localGenesis(ctx context.Context, r *Repo, swarm cid.Cid) ([]byte, error) {
	bs, err := p2p.OpenBlocks(blocksDir(r), nil)
	if err != nil {
		return nil, err
	}
	defer bs.Close()
	if ok, err := bs.Has(ctx, swarm); err != nil || !ok {
		return nil, err
	}
	blk, err := bs.GetBlock(ctx, swarm)
	if err != nil {
		return nil, err
	}
	return blk.RawData(), nil
}

// loadGenesis returns the swarm's genesis block: from the local store, else
// from peers, bounded by timeout.
func loadGenesis(ctx context.Context, blocks *p2p.Blocks, swarm cid.Cid, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	blk, err := blocks.GetBlock(ctx, swarm)
	if err != nil {
		if ctx.Err() != nil {
			return nil, hint(fmt.Errorf("no peer served swarm %s within %v", swarm, timeout),
				"check --swarm (the ID `coldnode init` printed) and --bootstrap (a running node of that swarm)")
		}
		return nil, fmt.Errorf("fetch genesis %s: %w", swarm, err)
	}
	if _, err := wire.DecodeGenesis(blk.RawData()); err != nil {
		return nil, fmt.Errorf("swarm %s: %w", swarm, err)
	}
	return blk.RawData(), nil
}

// fetch makes c local: over the direct DAG stream from a connected peer that
// holds it, falling back to bitswap (p2p.FetchFrom). With into set, a
// direct fetch also gathers the file in its memory, and data returns it
// (p2p.FetchFromInto).
func (s store) fetch(ctx context.Context, c cid.Cid, maxBytes int64, progress p2p.Progress, into *gather) (n int64, data []byte, err error) {
	switch {
	case s.host == nil:
		n, err = s.blocks.Fetch(ctx, c, maxBytes, progress)
	case into == nil:
		n, err = s.host.FetchFrom(ctx, holderFirst(ctx, s.host.Peers()), c, maxBytes, progress)
	default:
		n, data, err = s.host.FetchFromInto(ctx, holderFirst(ctx, s.host.Peers()), c, maxBytes, progress, into.buf, into.max)
	}
	return n, data, err
}

// gather is memory a fetch may gather its file in: *buf, grown up to max
// bytes.
type gather struct {
	buf *[]byte
	max int64
}

// store adapts p2p.Blocks to the weightStore the trainer and fusion use.
type store struct {
	blocks   *p2p.Blocks
	host     *p2p.Node // nil offline: fetch by bitswap only
	metrics  *Metrics
	timeout  time.Duration
	progress *Progress
	log      *slog.Logger
	stall    time.Duration // 0: none; see withStall
}

// errStalled ends a fetch that received nothing for the store's stall time.
var errStalled = errors.New("fetch stalled: no data from any peer")

// withStall returns the store with fetches that give up after d without a
// block arriving, instead of waiting out the whole timeout. A delta whose
// only holder crashed, or that no connected peer had yet when asked, then
// fails soon and is asked for again (from the peers connected by then) on
// the state machine's next retry.
func (s store) withStall(d time.Duration) store {
	s.stall = d
	return s
}

// ReadFile makes the file c local (fetching it, capped at maxBytes) and
// returns its bytes.
func (s store) ReadFile(ctx context.Context, c cid.Cid, maxBytes int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	n, err := s.makeLocal(ctx, c, maxBytes)
	if err != nil {
		return nil, err
	}
	return s.readLocal(ctx, c, n, maxBytes)
}

// MakeLocal fetches the file c unless it is stored (capped at maxBytes)
// and returns its size, for readLocal.
func (s store) MakeLocal(ctx context.Context, c cid.Cid, maxBytes int64) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.makeLocal(ctx, c, maxBytes)
}

// MakeLocalInto is MakeLocal gathering a fetched file in into's memory:
// data is the file when a direct fetch brought it whole there, else nil
// (it was stored already, or came otherwise), and the caller reads it
// from the store.
func (s store) MakeLocalInto(ctx context.Context, c cid.Cid, maxBytes int64, into gather) (n int64, data []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.makeLocalInto(ctx, c, maxBytes, &into)
}

// readLocal returns the bytes of the local file c of n bytes, in new
// memory of its size (readLocalInto).
func (s store) readLocal(ctx context.Context, c cid.Cid, n, maxBytes int64) ([]byte, error) {
	return s.readLocalInto(ctx, c, n, maxBytes, new([]byte))
}

// readLocalInto is readLocal into the memory *buf lends (p2p ReadInto:
// each leaf read straight into place), grown to the file's n bytes if
// short; *buf is left holding the memory used, for the next read. A file
// over maxBytes is p2p.ErrTooLarge.
func (s store) readLocalInto(ctx context.Context, c cid.Cid, n, maxBytes int64, buf *[]byte) ([]byte, error) {
	if need := n + p2p.ReadIntoHeadroom; n <= maxBytes && int64(cap(*buf)) < need {
		*buf = make([]byte, need)
	}
	data, used, err := s.blocks.ReadInto(ctx, c, *buf, maxBytes)
	if used != nil {
		*buf = used
	}
	return data, err
}

// storedFile is a stored file read in place, a block at a time (p2p.File).
type storedFile interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// OpenFile makes the file c local (fetching it, capped at maxBytes) and
// opens it for reading in place, without holding it whole. The store's GC
// waits until it is closed.
func (s store) OpenFile(ctx context.Context, c cid.Cid, maxBytes int64) (storedFile, error) {
	if _, err := s.MakeLocal(ctx, c, maxBytes); err != nil {
		return nil, err
	}
	f, err := s.blocks.Open(ctx, c)
	if err != nil {
		return nil, err
	}
	if f.Size() > maxBytes {
		f.Close()
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", c, f.Size(), maxBytes)
	}
	return f, nil
}

// makeLocal fetches c unless it is stored whole, logging and timing a
// fetch, and returns its size. A stored file is not fetched again: a
// fetch of it would stream it whole from a peer (every node holds the
// round's base) only to find each block already there.
func (s store) makeLocal(ctx context.Context, c cid.Cid, maxBytes int64) (int64, error) {
	n, _, err := s.makeLocalInto(ctx, c, maxBytes, nil)
	return n, err
}

// makeLocalInto is makeLocal, gathering a fetched file in into when set
// (MakeLocalInto).
func (s store) makeLocalInto(ctx context.Context, c cid.Cid, maxBytes int64, into *gather) (int64, []byte, error) {
	if n, ok, err := s.blocks.Stored(ctx, c); err != nil || ok {
		n, err = storedSize(c, n, maxBytes, err)
		return n, nil, err
	}
	start := time.Now()
	faultPoint("fetch")
	label := "fetch …" + c.String()[max(0, len(c.String())-8):]
	progress := func(done, total int64) { s.progress.Update(label, done, total, "bytes") }
	if s.stall > 0 {
		var stop func()
		ctx, progress, stop = stallWatch(ctx, s.stall, progress)
		defer stop()
	}
	n, data, err := s.fetch(ctx, c, maxBytes, progress, into)
	s.progress.Done()
	if err != nil {
		if errors.Is(context.Cause(ctx), errStalled) {
			return 0, nil, fmt.Errorf("%s: %w for %v", c, errStalled, s.stall)
		}
		return 0, nil, err
	}
	s.metrics.ObserveFetch(n, time.Since(start))
	s.log.Info("fetched", "cid", c, "bytes", n, "seconds", fmt.Sprintf("%.3f", time.Since(start).Seconds()), "in_memory", data != nil)
	return n, data, nil
}

// storedSize is makeLocal's answer for a file stored whole: its size,
// unless that is over the cap a fetch would have applied.
func storedSize(c cid.Cid, n, maxBytes int64, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	if n > maxBytes {
		return 0, fmt.Errorf("%s: %w: %d bytes stored, cap %d", c, p2p.ErrTooLarge, n, maxBytes)
	}
	return n, nil
}

// ImportBytes stores b as a UnixFS file, durably: callers log the CID next.
func (s store) ImportBytes(ctx context.Context, b []byte) (cid.Cid, error) {
	c, err := s.blocks.ImportBytes(ctx, b)
	if err != nil {
		return cid.Undef, err
	}
	return c, s.blocks.Sync(ctx)
}

// stallWatch derives a context that is cancelled with errStalled when d
// passes without a call of the returned progress (which calls next).
func stallWatch(ctx context.Context, d time.Duration, next p2p.Progress) (context.Context, p2p.Progress, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	t := time.AfterFunc(d, func() { cancel(errStalled) })
	progress := func(done, total int64) {
		t.Reset(d)
		next(done, total)
	}
	return ctx, progress, func() { t.Stop(); cancel(nil) }
}

// Import stores what r holds as a UnixFS file, durably.
func (s store) Import(ctx context.Context, r io.Reader) (cid.Cid, error) {
	c, err := s.blocks.Import(ctx, r)
	if err != nil {
		return cid.Undef, err
	}
	return c, s.blocks.Sync(ctx)
}
