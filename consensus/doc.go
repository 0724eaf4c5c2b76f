// Package consensus is the round protocol of a coldnode swarm as a pure
// state machine: which contributions count, when a round closes, which
// record is the head, what is final, and what the node must fetch, check,
// fuse, store and publish to get there.
//
// It owns the protocol rules only. It has no goroutines, clock, network,
// disk, randomness or logging: the node feeds it messages (Step) and time
// (Tick), reads back work (Ready), does that work, and acknowledges it
// (Advance). Byte formats live in consensus/wire, the fusion math in
// consensus/fusion, whole-swarm simulation in consensus/sim.
// docs/protocol.md is the normative description.
//
// Invariants:
//   - The Machine is deterministic: the same Config and the same sequence
//     of Step and Tick calls give the same Ready sequence, byte for byte.
//   - A contribution counts only if its signature verifies, its peer is
//     allowed, its delta passed the node's check, and its peer signed no
//     other contribution on the same base.
//   - A record counts only if its parent counts, every contribution in it
//     counts and matches its round and base, and its fused CID equals the
//     node's own fusion of the same inputs (or, in spot-check mode, it lies
//     deeper than the finality depth and was not sampled).
//   - The head is the counting record with the most contributions on its
//     chain (ties: lower CID); the record Finality rounds below the head is
//     final and never reverted.
//   - The local peer never signs two contributions on one base.
//
// Usage walk-through (the node's Ready loop; errors elided):
//
//	m, _ := consensus.New(consensus.DefaultConfig(genesisBlock, wire.NewKeySigner(hostKey)), time.Now())
//	for _, b := range storedBlocks {          // after a restart: replay the store
//		m.Step(consensus.Block{CID: b.CID, Data: b.Data})
//	}
//	for {
//		select {
//		case <-ticker.C:
//			m.Tick(time.Now())
//		case g := <-gossip:                   // payloads on wire.Topic(m.Swarm())
//			m.Step(consensus.Gossip{From: g.From, Payload: g.Data})
//		case r := <-results:                  // finished fetches, checks, fusions, training
//			m.Step(r)                         // Block, Checked, Fused or Propose
//		}
//		if !m.HasReady() {
//			continue
//		}
//		rd := m.Ready()
//		store.Put(rd.Persist)                 // 1. persist (so we can serve what we announce)
//		pubsub.Publish(rd.Messages)           // 2. publish
//		go fetch(rd.Fetch)                    // 3. start work; each answers with a Step
//		go check(rd.Check)                    //    fetch the delta, size/finite/norm checks
//		go fuse(rd.Fuse)                      //    fusion.Fuse, then ufs.CID of the output
//		for _, e := range rd.Events {         // 4. react: HeadChanged => train on e.Base
//			handle(e)                         //    when m.Synced(); then Step(Propose{...})
//		}
//		m.Advance()
//	}
//
// Work goroutines never touch the Machine; they send their result back to
// the loop, which is the Machine's only owner.
package consensus
