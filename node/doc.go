// Package node runs one coldnode peer: it is the composition root that wires
// training (package train), the peer-to-peer layer (package p2p) and the
// round protocol (package consensus) together, and the only package that
// imports all three.
//
// It owns:
//   - the repository directory (Repo): a flock so one process holds it (a
//     SIGKILLed holder never blocks a restart), config.json, the identity key
//     (made by p2p), the block store directory (p2p's), the block journal, the
//     round index (rounds/, state.json), the node's own contribution log with
//     its task heads (contributions/), the journal of its own check and
//     fusion results (verdicts.journal), and the API address and token files;
//   - the keep policy: what the block store pins (genesis, the chain's
//     records, bases and fused files from the final record up, deltas of
//     non-final rounds, its own contributions) and garbage collection, every
//     Config.GCEvery rounds and offline through CollectGarbage;
//   - the Ready loop (Node.Run): one goroutine owns the consensus.Machine,
//     feeds it gossip, ticks and worker results, and does the I/O its Ready
//     asks for in order (persist, publish, fetch/check/fuse, events), then
//     Advance; training runs in its own goroutine and reports on a channel;
//     every goroutine is waited for before Run returns;
//   - the local HTTP API (loopback, bearer token) and its client, the Offline
//     reader used when no node runs, both behind the Backend interface;
//   - the node's Prometheus metrics, slog logging and terminal progress.
//
// It does not own: protocol rules and wire formats (consensus, consensus/wire),
// fusion math (consensus/fusion), transport and block storage (p2p), models
// and finetuning (train), flag parsing (cmd/coldnode).
//
// Invariants: a block is in the store and journalled before any announcement
// that may make a peer ask for it; the node's own delta and head are logged
// before it proposes the contribution; every file is written atomically
// (checkpoint.WriteFileAtomic) except the append-only journal, whose torn last
// line is ignored on replay.
//
// Usage:
//
//	swarm, _ := node.Init(ctx, dir, node.DefaultInitOptions())
//	repo, _ := node.Open(dir)
//	defer repo.Close()
//	cfg := node.DefaultConfig()
//	cfg.Dataset, cfg.Rounds = "data/sst2", 3
//	n, _ := node.New(repo, cfg, node.WithLogger(logger))
//	err := n.Run(ctx) // until ctx ends or the chain has 3 rounds
//
// and, from another process, b, done, _ := node.Connect(ctx, dir) gives the
// running node's API (or the repository itself) as a Backend.
package node
