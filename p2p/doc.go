// Package p2p is coldnode's transport and block store: a libp2p host with
// discovery, private-swarm controls, signed gossip topics and a persistent,
// content-addressed block store served and fetched over bitswap.
//
// What it owns:
//   - the host (TCP and QUIC, Noise and TLS, yamux, an explicit resource
//     manager), its persistent Ed25519 identity (LoadOrCreateIdentity), the
//     known-peers file, bootstrap dialling, mDNS and an optional Kademlia DHT
//     with AutoNAT, hole punching and the relay client;
//   - private swarms: a kubo-style swarm.key pre-shared key (LoadSwarmKey) and a
//     peer-ID allowlist enforced by a connection gater;
//   - gossipsub topics (/coldnode/<swarm>/<name>) whose messages are signed
//     envelopes (package p2p/envelope) checked by cheap validators, plus a
//     caller hook that returns Accept, Reject or Ignore;
//   - Blocks: a pebble-backed blockstore, blockservice and bitswap; UnixFS
//     import/export with the fixed profile of package p2p/ufs; records by CID;
//     fetch with deadline, size cap and progress; recursive and direct pins
//     and garbage collection.
//
// What it does not own: what payloads mean (consensus encodes records and
// announcements), when to publish or fetch (the node's Ready loop), the
// repository layout beyond the paths it is given, and metrics export.
//
// Invariants: every goroutine this package starts is owned by a Node, a Topic
// or Blocks and is waited for by its Close; every block returned by GetBlock
// or Fetch has been checked against its CID; gossip payloads are never larger
// than envelope.MaxSize.
//
// Usage:
//
//	key, _ := p2p.LoadOrCreateIdentity(filepath.Join(repo, "identity.key"))
//	n, _ := p2p.New(ctx, p2p.DefaultConfig(), key, repo, logger)
//	defer n.Close()
//	t, _ := n.Join("my-swarm", p2p.TopicHeads, validate)
//	go func() { for m := range t.Messages() { ... } }()
//	root, _ := n.Blocks().ImportFile(ctx, "delta.safetensors")
//	_ = t.Publish(ctx, announcement(root))
//	_, _ = n.Blocks().Fetch(ctx, other, 1<<30, nil)
package p2p
