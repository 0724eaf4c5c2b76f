package train

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/model"
	"github.com/coldnode/coldnode/train/optim"
)

func TestDeltaInPlaceMatchesDelta(t *testing.T) {
	task := loadTask(t, "trec")
	base := smallBag(t, task)
	baseBytes := encode(t, base)
	opt := small()
	opt.Epochs = 1
	res, err := Finetune(context.Background(), base, task, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := encode(t, mustDelta(t, base, res.Body))
	got, err := DeltaInPlace(base, res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, got), want) {
		t.Error("DeltaInPlace differs from Delta")
	}
	if !bytes.Equal(encode(t, base), baseBytes) {
		t.Error("DeltaInPlace changed the base")
	}
	if _, err := DeltaInPlace(base, smallBag(t, loadTask(t, "sst2"))); err != nil {
		t.Errorf("delta of two bodies of one config: %v", err)
	}
	other := smallBag(t, task)
	other.Tensors = other.Tensors[:1]
	if _, err := DeltaInPlace(base, other); err == nil {
		t.Error("delta against a body with a missing tensor accepted")
	}
}

func mustDelta(t *testing.T, base, tuned *checkpoint.File) *checkpoint.File {
	t.Helper()
	d, err := Delta(base, tuned)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Training a dense model holds the weights, their gradients and the two
// moments (one body with bfloat16 moments, half with 8-bit ones) and little else, and a step
// allocates next to nothing: before the gradients were read from the
// gradient nodes and the tape machine kept its registers, a step
// allocated about one body (new gradient buffers) and the live heap held a
// fifth body (a second copy of every gradient).
func TestFinetuneMemory(t *testing.T) {
	task := loadTask(t, "digits")
	for _, moments := range []optim.Precision{optim.FP32, optim.BF16, optim.INT8} {
		t.Run(moments.String(), func(t *testing.T) {
			cfg := model.Config{Arch: model.MLP, Features: task.NumFeatures, InputScale: 1.0 / 16, Dim: 1024, Hidden: 1024, Layers: 3, Classes: len(task.Labels)}
			runtime.GC()
			runtime.GC() // what waited for a finalizer
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			floor := ms.HeapAlloc
			body, err := model.InitBody(cfg, 5)
			if err != nil {
				t.Fatal(err)
			}
			size := float64(bodyBytes(body))
			opt := DefaultOptions()
			opt.Epochs, opt.Moments, opt.MaxTrain = 1, moments, 640
			var live, perStep float64
			var at2 uint64
			_, err = Finetune(context.Background(), body, task, opt, func(p Progress) {
				if p.Dev != nil || p.Step < 2 || (p.Step > 2 && p.Step < p.Steps) {
					return
				}
				runtime.ReadMemStats(&ms)
				if p.Step == 2 {
					at2 = ms.TotalAlloc
					return
				}
				perStep = float64(ms.TotalAlloc-at2) / float64(p.Steps-2) / size
				runtime.GC()
				runtime.ReadMemStats(&ms)
				live = float64(ms.HeapAlloc-floor) / size
			})
			if err != nil {
				t.Fatal(err)
			}
			// Weights, gradients, two moments, and the activations of a
			// batch (here 0.45x the body: 64 x 1024 floats per layer).
			// bfloat16 moments are one body, 8-bit ones half a body.
			bound := map[optim.Precision]float64{optim.FP32: 4.7, optim.BF16: 3.7, optim.INT8: 3.2}[moments]
			t.Logf("live heap %.2fx the body during training; %.3fx allocated per step", live, perStep)
			if live > bound || live < bound-1.3 {
				t.Errorf("live heap during training is %.2fx the body, want %.1f-%.1fx", live, bound-1.3, bound)
			}
			if perStep > 0.05 {
				t.Errorf("a step allocates %.2fx the body", perStep)
			}
		})
	}
}

func bodyBytes(f *checkpoint.File) int {
	n := 0
	for _, t := range f.Tensors {
		n += len(t.Data)
	}
	return n
}
