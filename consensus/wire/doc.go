// Package wire holds the byte formats of the round protocol: the swarm's
// Genesis, a peer's signed Contribution, a round Record and the gossip
// Announcement that carries them.
//
// Every type is encoded as deterministic dag-cbor (a strict subset: maps with
// text keys in length-then-bytewise order, shortest integer heads, definite
// lengths, float64 only, CIDs as tag 42) and identified by a CIDv1 with the
// dag-cbor codec and a sha2-256 multihash. Decoders are strict: unknown or
// missing fields, wrong types, oversize values, unsupported versions and any
// byte sequence that is not the canonical encoding are refused with an error
// that wraps one of the package's sentinel errors, so one value has exactly
// one encoding and one CID on every peer.
//
// The package owns encoding, decoding, content identifiers and contribution
// signatures. It does not own protocol rules across messages (one contribution
// per peer per base, fork choice, close rule): those live in package consensus.
// It does no I/O and keeps no state.
//
// Walk-through:
//
//	g := wire.Genesis{Name: "sst2-demo", Model: cfgJSON, Weights: w, Params: wire.DefaultParams()}
//	gb, _ := g.Encode()             // bytes to store and share
//	swarm := wire.CIDOf(gb)         // the swarm ID
//	c := wire.Contribution{Swarm: swarm, Round: 1, Base: w, Delta: d, Peer: me, Task: "sst2", Examples: 6920}
//	_ = c.Sign(signer)              // fills Sig over c.SigningBytes()
//	cb, _ := c.Encode()
//	a := wire.Announcement{Swarm: swarm, Kind: wire.KindContribution, CID: wire.CIDOf(cb), Block: cb}
//	payload, _ := a.Encode()        // publish on wire.Topic(swarm)
//
// docs/protocol.md is the normative description; testdata/golden holds
// reference encodings a second implementation can check itself against.
package wire
