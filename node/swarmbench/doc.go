// Package swarmbench measures whole rounds of a real swarm: it starts N
// `coldnode start` OS processes on loopback (real libp2p hosts, gossipsub,
// block transfer, training and fusion), lets them run until every node
// holds a head of the last round, stops them, and reads what happened from
// their logs, their exit rusage and their repositories.
//
// It owns: the bench's work directory (one repository and one log file per
// process), the child processes (started, waited for, killed on timeout or
// cancellation), the sampler of their CPU time, parsing the nodes' logfmt
// logs, and the figures computed from them. It does not own the node, the protocol or any timing inside a
// node: everything it reports comes from what the nodes log (all processes
// share one clock) and what the kernel accounts (peak RSS, CPU).
//
// Per round r it reports:
//   - overhead: from the last "proposed" line for round r (the last
//     contribution announced) to the last node logging "head" with the
//     round's final record (every node holding the same fused head);
//   - build: from that last announcement to the first "built record";
//   - period: from the last node adopting round r-1 to the last adopting r;
//   - train: the longest "training" to "trained" span of round r;
//   - window CPU: the CPU all nodes spent within the overhead, user and
//     system time, from /proc/<pid>/stat read every 50 ms (Linux only).
//
// Per process: peak RSS (wait4's ru_maxrss, the kernel's VmHWM at exit),
// user+system CPU, and bytes fetched from peers (the "fetched" lines).
// checks, build and fuse split the overhead when the nodes run with
// --verbose (their debug "checked" and "fused" lines).
// Agreement is checked from every repository's round index after the run.
//
// Usage:
//
//	cfg := swarmbench.DefaultConfig()
//	cfg.Bin, cfg.Dir, cfg.Nodes = "/usr/local/bin/coldnode", dir, 8
//	rep, err := swarmbench.Run(ctx, cfg)
//	rep.Write(os.Stdout)
package swarmbench
