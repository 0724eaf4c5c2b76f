package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/coldnode/coldnode/consensus/wire"
	"github.com/coldnode/coldnode/p2p"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// topicName is the p2p topic name of the round protocol; the full topic is
// /coldnode/<swarm tag>/rounds-v1 (p2p topic names allow no slash).
const topicName = "rounds-v1"

// network is the node's p2p side while it runs.
type network struct {
	host   *p2p.Node
	topic  *p2p.Topic
	blocks *p2p.Blocks
}

// topicSwarm shortens the swarm ID to the 48 characters p2p allows in a
// topic name: the last 48 of the CID string, which are all hash.
func topicSwarm(swarm cid.Cid) string {
	s := swarm.String()
	if len(s) > 48 {
		s = s[len(s)-48:]
	}
	return s
}

// startNetwork starts the libp2p host and dials the bootstrap peers.
func (n *Node) startNetwork(ctx context.Context, key crypto.PrivKey) (*network, error) {
	pc := p2p.DefaultConfig()
	pc.ListenAddrs, pc.Bootstrap, pc.MDNS = n.cfg.Listen, nil, !n.cfg.NoMDNS
	if psk, err := loadSwarmKey(n.repo); err != nil {
		return nil, err
	} else if psk != nil {
		pc.PSK = psk
		n.log.Info("private swarm: using swarm.key")
	}
	if _, err := p2p.ParseBootstrap(n.cfg.Bootstrap); err != nil {
		return nil, hint(err, "a bootstrap address looks like /ip4/127.0.0.1/tcp/4011/p2p/12D3KooW... (see `coldnode id` on that node)")
	}
	host, err := p2p.New(ctx, pc, key, n.repo.Path, n.log.With("subsystem", "p2p"))
	if err != nil {
		if strings.Contains(err.Error(), "address already in use") {
			return nil, hint(err, "another program uses a --listen port; choose another (port 0 picks a free one)")
		}
		return nil, fmt.Errorf("start p2p host: %w", err)
	}
	net := &network{host: host, blocks: host.Blocks()}
	if err := n.bootstrap(ctx, net); err != nil {
		host.Close()
		return nil, err
	}
	return net, nil
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

// bootstrap dials every bootstrap address; it fails only when all fail.
func (n *Node) bootstrap(ctx context.Context, net *network) error {
	var errs []error
	for _, a := range n.cfg.Bootstrap {
		if err := net.host.Connect(ctx, a); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a, err))
			continue
		}
		n.log.Info("connected", "bootstrap", a)
	}
	if len(errs) > 0 && len(errs) == len(n.cfg.Bootstrap) {
		return hint(fmt.Errorf("no bootstrap peer reachable: %w", errors.Join(errs...)),
			"check the addresses and that those nodes run (`coldnode id` on them prints their addresses)")
	}
	return nil
}

// close shuts the host down, waiting for its goroutines.
func (net *network) close() error {
	if net.topic != nil {
		net.topic.Close()
	}
	return net.host.Close()
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

// store adapts p2p.Blocks to the weightStore the trainer and fusion use.
type store struct {
	blocks   *p2p.Blocks
	metrics  *Metrics
	timeout  time.Duration
	progress *Progress
	log      *slog.Logger
}

// ReadFile makes the file c local (fetching it, capped at maxBytes) and
// returns its bytes.
func (s store) ReadFile(ctx context.Context, c cid.Cid, maxBytes int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	start := time.Now()
	local, _ := s.blocks.Has(ctx, c)
	var progress p2p.Progress
	if !local {
		label := "fetch …" + c.String()[max(0, len(c.String())-8):]
		progress = func(done, total int64) { s.progress.Update(label, done, total, "bytes") }
	}
	n, err := s.blocks.Fetch(ctx, c, maxBytes, progress)
	if !local {
		s.progress.Done()
	}
	if err != nil {
		return nil, err
	}
	if !local {
		s.metrics.ObserveFetch(n, time.Since(start))
		s.log.Info("fetched", "cid", c, "bytes", n, "seconds", fmt.Sprintf("%.3f", time.Since(start).Seconds()))
	}
	var buf bytes.Buffer
	if err := s.blocks.Export(ctx, c, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ImportBytes stores b as a UnixFS file.
func (s store) ImportBytes(ctx context.Context, b []byte) (cid.Cid, error) {
	return s.blocks.ImportBytes(ctx, b)
}
