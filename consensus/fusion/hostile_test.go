package fusion

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// Hostile deltas at the fusion level (issue 7): Check and Fuse reject a
// delta of the wrong shapes or dtype and one holding NaN or Inf with an
// error naming the delta and tensor, so the caller can drop it; a clip rule
// bounds what a delta far above the norm bound can move.

func hostileBase() *checkpoint.File {
	return vec("body.w", []float32{1, 2, 3, 4}, "head.b", []float32{0})
}

func hostileDeltas() map[string]*checkpoint.File {
	f16 := &checkpoint.File{Tensors: []checkpoint.Tensor{{Name: "body.w", DType: checkpoint.F16, Shape: []int{4}, Data: make([]byte, 8)}}}
	return map[string]*checkpoint.File{
		"shape":   {Tensors: []checkpoint.Tensor{checkpoint.NewF32("body.w", []int{2, 2}, []float32{1, 1, 1, 1})}},
		"length":  vec("body.w", []float32{1, 1, 1}),
		"dtype":   f16,
		"missing": vec("body.v", []float32{1, 1, 1, 1}),
		"nan":     vec("body.w", []float32{0, float32(math.NaN()), 0, 0}),
		"inf":     vec("body.w", []float32{0, 0, float32(math.Inf(-1)), 0}),
	}
}

func hostileWant(name string) error {
	if name == "nan" || name == "inf" {
		return ErrNonFinite
	}
	return ErrMismatch
}

func TestHostileCheckRejects(t *testing.T) {
	for name, d := range hostileDeltas() {
		err := Check(open(t, hostileBase()), Input{ID: "evil-" + name, Delta: open(t, d)})
		var de *DeltaError
		if !errors.Is(err, hostileWant(name)) || !errors.As(err, &de) || de.ID != "evil-"+name {
			t.Errorf("%s: Check = %v, want a *DeltaError for evil-%s wrapping %v", name, err, name, hostileWant(name))
		}
	}
}

// Fuse of honest deltas plus one hostile delta fails naming the hostile
// one; dropping it, the honest ones fuse.
func TestHostileFuseNamesDelta(t *testing.T) {
	honest := []*checkpoint.File{vec("body.w", []float32{1, 0, 0, 0}), vec("body.w", []float32{0, 1, 0, 0})}
	for name, d := range hostileDeltas() {
		ins := []Input{{ID: "a", Delta: open(t, honest[0])}, {ID: "b", Delta: open(t, honest[1])}, {ID: "evil", Delta: open(t, d)}}
		_, err := Fuse(&bytes.Buffer{}, open(t, hostileBase()), ins, DefaultRule)
		var de *DeltaError
		if !errors.Is(err, hostileWant(name)) || !errors.As(err, &de) || de.ID != "evil" {
			t.Errorf("%s: Fuse = %v, want a *DeltaError for evil", name, err)
		}
		out := decoded(t, fuseBytes(t, open(t, hostileBase()), ins[:2], DefaultRule, 1))
		if got := out["body.w"]; got[0] != 1.5 || got[1] != 2.5 {
			t.Errorf("%s: honest fusion without the hostile delta = %v", name, got)
		}
	}
}

// A delta a million times the norm bound moves the fused base by at most
// Clip/n under clip:C,mean, and not at all past the median under
// clip:C,median with three honest deltas.
func TestHostileHugeDeltaClipped(t *testing.T) {
	honest := []float32{0.1, 0.1, 0.1, 0.1}
	evil := []float32{1e6, 1e6, 1e6, 1e6}
	ins := []Input{
		{ID: "a", Delta: open(t, vec("body.w", honest))}, {ID: "b", Delta: open(t, vec("body.w", honest))},
		{ID: "c", Delta: open(t, vec("body.w", honest))}, {ID: "evil", Delta: open(t, vec("body.w", evil))},
	}
	mean := decoded(t, fuseBytes(t, open(t, hostileBase()), ins, Rule{Kind: Mean, Clip: 1}, 1))["body.w"]
	if shift := mean[0] - 1; shift > 0.5/4+0.3/4+1e-6 {
		t.Fatalf("clip:1,mean let the huge delta move the base by %v", shift)
	}
	median := decoded(t, fuseBytes(t, open(t, hostileBase()), ins, Rule{Kind: Median, Clip: 1}, 1))["body.w"]
	if median[0] != 1.1 {
		t.Fatalf("clip:1,median = %v, want the honest 1.1", median[0])
	}
	_, err := Fuse(io.Discard, open(t, hostileBase()), ins, DefaultRule)
	var de *DeltaError
	if !errors.As(err, &de) || de.ID != "evil" || !errors.Is(err, ErrRange) {
		t.Fatalf("control: plain mean of the huge delta: err = %v, want ErrRange naming evil", err)
	}
}
