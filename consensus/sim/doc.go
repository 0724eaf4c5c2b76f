// Package sim is a deterministic discrete-event simulator of whole swarms
// running the round protocol: N consensus.Machines over a modelled network
// with latency, message loss, partitions and heals, crashes and restarts,
// late joiners and Byzantine peers (equivocation, invalid or oversized
// deltas, withheld blocks, forged records).
//
// Everything a node does around its Machine is modelled: training takes
// TrainTime (with jitter), delta checks CheckTime, fusion FuseTime, and the
// fused CID is a hash of the fusion's sorted inputs (the real fusion is
// proven bit-exact separately, in consensus/fusion). Gossip is modelled as
// an ideal broadcast with per-receiver loss and a seen cache (like
// gossipsub's content-addressed message IDs); fetches go to one random
// reachable holder of the block. One seeded PRNG drives every random
// choice, so a Config always gives the same Result.
//
// After each run the simulator checks, and reports as Violations:
//   - agreement: all honest peers that are up and connected end on one head;
//   - validity: every contribution counted on that chain is signed, has a
//     valid delta, comes from a peer that did not equivocate on its base,
//     and appears once per peer per round; every fused CID is correct;
//   - liveness: the chain reaches Config.Rounds rounds;
//   - nothing lost: every valid honest contribution made on a base of the
//     final chain is in that chain's record for the base.
//
// The package owns the simulation only; it imports consensus and wire and
// does no I/O. cmd/simcurve runs the scaling curve of docs/benchmarks.md.
package sim
