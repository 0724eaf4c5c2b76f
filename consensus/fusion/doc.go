// Package fusion computes the next base model of a round from the current
// base and the round's deltas, bit-identically on every peer and processor.
//
// It owns the fusion math and its exact float32 evaluation order. It does
// not fetch, verify CIDs, choose which deltas belong to a round, or touch
// files: callers open safetensors with checkpoint.Open (or a delta as it
// travels with OpenDelta) and pass readers; the fused file goes to an
// io.Writer. It imports only train/checkpoint and train/deltaenc.
//
// # What is fused
//
// Only body tensors (checkpoint.IsHead false). The output holds the base's
// body tensors, updated, and the base's metadata; head tensors of the base
// and of the deltas are left out. Every body tensor must be F32. Each delta
// must have exactly the base's body tensors with the same shapes, in F32;
// a missing, extra, reshaped or F16/BF16 tensor is an ErrMismatch naming
// it (convert half-precision deltas to float32 before publishing). Deltas
// written by PyTorch, with any tensor order, are accepted.
//
// # Encoded deltas
//
// A delta carrying the metadata key deltaenc.MetaKey is an encoded delta
// (train/deltaenc: touched rows only, fp16, bf16 or int8 with per-row
// scales; OpenDelta also inflates a zstd-wrapped file, capped by the
// base's layout). Its tensors are checked against the base by
// deltaenc.Bind (dtype, stored shape, row index strictly increasing and
// in range, scale shape and values); a malformed one is an ErrMismatch
// wrapping deltaenc.ErrEncoding in a *DeltaError naming the tensor. Fuse
// and Check read it decoded to float32, span by span, and everything
// below applies to the decoded values, so the fused bytes equal those of
// fusing the decoded float32 deltas, on every processor, and any mix of
// encodings fuses.
//
// # Exact definition
//
// Inputs are sorted by ID (the delta's CID string), then by Examples; an ID may repeat. For delta i with body
// values d_i and a Clip bound C, the norm is sqrt of the float64 sum of
// squares taken tensor by tensor in name order, each tensor over four lanes
// (element k into lane k mod 4, lanes added 0+1, +2, +3); the scale s_i is
// C/norm when norm > C, else 1. Weighted uses w_i = examples_i / total in
// float64. The multiplier c_i is float32(s_i) or float32(s_i*w_i), and
// v_i = float32(c_i*d_i) (no multiplier when it would be 1 for every
// delta). Then per coordinate, in float32:
//
//	mean:     q_i = round-half-even(v_i * 2^36) as int64 (|v_i| < 2^10,
//	          else ErrRange); S = q_1 + ... + q_n (exact, any order);
//	          out = base + float32(float64(S) / (n * 2^36))
//	weighted: a = v_1 + ... + v_n;                       out = base + a
//	median:   sort v (-0 before +0); odd n: middle value; even n: the two
//	          middle values added in float64, halved, rounded once;
//	          out = base + median
//	trimmed:  sort v, drop k = floor(Trim*n) at each end, add the rest in
//	          ascending order, divide by n-2k; out = base + that
//
// The mean is exact up to the 2^-36 quantum and independent of input
// order, so a Sum can add each delta as it arrives and remove one later,
// and write the same bytes as Fuse of the final set (see Sum).
//
// Every product is rounded to float32 before it is added, so no processor
// can fuse a multiply-add. Any NaN or Inf in the base or a delta, and any
// overflow, is an error (a *DeltaError names the delta and tensor), never a
// silently repaired result.
//
// # Streaming and speed
//
// Fuse writes the canonical layout of checkpoint.Encode (header from
// checkpoint.Header, then tensors in name order) and streams every tensor
// in spans of 256 Ki coordinates: for each span it reads that range of the
// base and of each delta into buffers reused for the whole call
// (checkpoint.Reader.ReadRangeInto), fuses it and writes it. Memory is
// (deltas+2) MiB of tensor data whatever the model's size. Readers opened
// with checkpoint.OpenBytes (bytes in memory or a memory-mapped file) are
// read in place, without the copy. The clip rules first stream each delta
// once more for its norm, span by span, with the same lane order as one
// pass. The mean rules accumulate int64 fixed-point values a block of
// coordinates at a time (on amd64 with AVX2, eight values per iteration,
// the same integers as the Go loop, which tests and the arm64 golden run
// check); the weighted rule accumulates a block of coordinates at a time
// while the deltas stream past (on amd64 with SSE, four lanes per
// instruction and four deltas per pass; elsewhere with portable loops that
// add several deltas per pass; both perform the identical IEEE
// operations, which the golden vectors check on amd64 and arm64). The
// robust rules sort blocks of coordinates with a Batcher network. Each
// span is split by coordinate range across GOMAXPROCS goroutines, which
// read and fuse their own ranges; every coordinate sees the same
// operations in the same order whatever the span size or split.
//
// # Usage
//
//	rule, err := fusion.ParseRule("clip:5,median") // from the genesis
//	base, err := checkpoint.Open(baseFile, baseSize)
//	ins := []fusion.Input{{ID: cidString, Delta: deltaReader}, ...}
//	stats, err := fusion.Fuse(w, base, ins, rule)
//
// Check validates one arriving delta against the base before the round
// fuses it.
package fusion
