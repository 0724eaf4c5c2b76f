// Package lab reproduces the ColD Fusion experiments (Don-Yehiya et al., ACL
// 2023) on one machine, through the swarm's own code paths.
//
// It owns the experiment: which contributors train in which round, the
// baselines, the two evaluation protocols and the reports. It does not own
// training (package train), the fusion math (consensus/fusion), the wire
// formats (consensus/wire) or content identifiers (p2p/ufs); it calls them
// exactly as a node does, so a lab round produces the same delta files, the
// same fused base and the same CIDs a swarm of real peers would produce for
// the same contributions. There is no network: contributors are simulated
// in-process, each holding one seen task.
//
// What one seed of Run does:
//
//   - builds a genesis body (train.NewBody-like, seeded) and a wire.Genesis;
//   - ColD Fusion: for R rounds, samples C seen tasks (seeded), finetunes the
//     current base on each (every contributor starts a fresh task head, as in
//     the paper), encodes the body delta, names it by its UnixFS CID, signs a
//     wire.Contribution with a per-task key, fuses the deltas with
//     fusion.Fuse under the genesis rule and records a wire.Record;
//   - baselines: the genesis body; one-round fusion (every seen task
//     finetuned once from genesis with the same per-task epoch budget, fused
//     once); multitask (a shared body with one head per seen task, trained on
//     as many examples as all ColD contributors together); single task (each
//     seen task finetuned alone with that budget);
//   - evaluates every body (each round's base too) on the seen and unseen
//     tasks in two protocols: finetune (body and a new head trained) and
//     linear probe (body frozen); accuracy and macro-F1 on each task's test
//     split;
//   - optionally, the contributors-per-round sweep with the total examples
//     per round fixed (probe protocol only).
//
// Poisoning (Config.Attack, Attackers): the contributors holding the first
// Attackers seen tasks send, in every round they take part in, a scaled,
// sign-flipped or noise delta built from their honest one, or a backdoor
// delta finetuned on triggered, relabelled copies of their examples (its
// norm kept under the genesis clip norm). The attacker's delta takes the
// honest path: delta file, CID, signed contribution, fusion.Fuse under the
// swarm's rule. The backdoor's attack success rate (the share of triggered
// test inputs of other classes put in the target class by the evaluated
// body and head) is scored as group Backdoor. NoBaselines and Protocols
// shorten such runs.
//
// Invariants: the same Config gives the same scores, CIDs and records on
// every run whatever Workers is: work items are independent, results are
// stored by index and every seed is derived from (seed, round, task).
// Large tasks are subsampled by content hash (data.HeldOut), never by
// position or randomness.
//
// Usage:
//
//	cfg := lab.DefaultConfig()
//	cfg.Seen, cfg.Unseen = seenDirs, unseenDirs
//	res, err := lab.Run(ctx, cfg)
//	err = lab.Write(cfg.Out, res) // CSV, JSON, markdown, PNG
package lab
