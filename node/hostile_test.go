package node

import (
	"math"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// Hostile deltas at the node's check (issue 7): checkDelta is what turns a
// peer's delta file into the Machine's Checked verdict. It must reject
// what is not canonical safetensors, non-finite values and a body norm
// above the swarm's bound. It does not see the base: matchBase checks the
// layout (TestHostileMismatchedDeltaRejected).

func encodeDelta(t *testing.T, ts ...checkpoint.Tensor) []byte {
	t.Helper()
	b, err := checkpoint.Encode(&checkpoint.File{Tensors: ts})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHostileCheckDeltaRejects(t *testing.T) {
	good := encodeDelta(t, checkpoint.NewF32("body.w", []int{4}, []float32{1, 2, 3, 4}))
	cases := []struct {
		name, want string
		b          []byte
		bound      float64
	}{
		{"garbage", "", []byte("not a safetensors file"), 0},
		{"truncated", "", good[:len(good)-3], 0},
		{"trailing byte", "corrupt", append(append([]byte{}, good...), 0), 0},
		{"nan", "", encodeDelta(t, checkpoint.NewF32("body.w", []int{2}, []float32{1, float32(math.NaN())})), 0},
		{"inf in head", "", encodeDelta(t, checkpoint.NewF32("head.w", []int{1}, []float32{float32(math.Inf(1))})), 0},
		{"norm", "exceeds the swarm's bound", encodeDelta(t, checkpoint.NewF32("body.w", []int{2}, []float32{3e3, 4e3})), 10},
	}
	for _, c := range cases {
		err := checkDelta(c.b, c.bound)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: checkDelta = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if err := checkDelta(good, 10); err != nil {
		t.Fatalf("control: a good delta of norm 5.5 under bound 10: %v", err)
	}
}

// A delta whose tensors do not match the swarm's layout (another shape, F16
// instead of F32, a missing or extra body tensor) passes checkDelta, which
// never sees the base, but fails matchBase, the second half of the node's
// check: it is rejected at the check instead of entering the usable set and
// failing every fusion that holds it (consensus
// TestHostileMismatchPassingCheckStallsRound shows the stall it prevents).
func TestHostileMismatchedDeltaRejected(t *testing.T) {
	genesis := encodeDelta(t, checkpoint.NewF32("body.w", []int{4}, []float32{0, 0, 0, 0}),
		checkpoint.NewF32("head.w", []int{2}, []float32{0, 0}))
	ref, err := checkpoint.OpenBytes(genesis)
	if err != nil {
		t.Fatal(err)
	}
	id := cid.NewCidV1(cid.Raw, mustHash(t, "delta"))
	for name, b := range map[string][]byte{
		"shape":   encodeDelta(t, checkpoint.NewF32("body.w", []int{2, 2}, []float32{1, 1, 1, 1})),
		"dtype":   encodeDelta(t, checkpoint.Tensor{Name: "body.w", DType: checkpoint.F16, Shape: []int{4}, Data: make([]byte, 8)}),
		"extra":   encodeDelta(t, checkpoint.NewF32("body.w", []int{4}, []float32{1, 1, 1, 1}), checkpoint.NewF32("body.unknown", []int{1}, []float32{1})),
		"missing": encodeDelta(t, checkpoint.NewF32("head.w", []int{2}, []float32{1, 1})),
	} {
		if err := checkDelta(b, 10); err != nil {
			t.Fatalf("%s: checkDelta: %v (the layout check is matchBase's job)", name, err)
		}
		if err := matchBase(ref, id, b); err == nil {
			t.Errorf("%s: matchBase accepted a delta that does not match the genesis layout", name)
		}
	}
	good := encodeDelta(t, checkpoint.NewF32("body.w", []int{4}, []float32{1, 2, 3, 4}))
	if err := matchBase(ref, id, good); err != nil {
		t.Fatalf("control: a matching delta: %v", err)
	}
}

func mustHash(t *testing.T, s string) multihash.Multihash {
	t.Helper()
	h, err := multihash.Sum([]byte(s), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
