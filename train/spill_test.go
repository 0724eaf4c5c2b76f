package train

import (
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
)

// spillRun finetunes an MLP on digits for several epochs, with the best
// epoch kept in a file under dir ("" : in memory), and reports the live
// heap at the end of the last epoch's training, over the body size.
func spillRun(t *testing.T, dir string, lr float32) (*Result, float64) {
	t.Helper()
	task, body := digitsMLP(t, 1024, 3, 5)
	size := float64(bodyBytes(body))
	opt := DefaultOptions()
	opt.Epochs, opt.Patience, opt.MaxTrain, opt.LR, opt.SpillDir = 4, 0, 640, lr, dir
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	floor := ms.HeapAlloc
	var live float64
	res, err := Finetune(context.Background(), body, task, opt, func(p Progress) {
		if p.Dev == nil && p.Epoch == p.Epochs && p.Step == p.Steps {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			live = float64(ms.HeapAlloc-floor) / size
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, live
}

// A run that keeps its best epoch in a file ends with the bits of the
// same run keeping it in memory, holds one body less while later epochs
// train, and leaves no file behind.
func TestSpillKeepsTheBestEpoch(t *testing.T) {
	const lr = 2e-2 // high enough that a later epoch is worse than an earlier one
	dir := t.TempDir()
	mem, liveMem := spillRun(t, "", lr)
	disk, liveDisk := spillRun(t, dir, lr)
	if mem.BestEpoch == 0 || mem.BestEpoch >= mem.Epochs {
		t.Fatalf("best epoch %d of %d: the run never went back to a kept epoch; change the learning rate", mem.BestEpoch, mem.Epochs)
	}
	if disk.BestEpoch != mem.BestEpoch || disk.Test != mem.Test {
		t.Errorf("with a spill file: best epoch %d, test %+v; in memory: %d, %+v", disk.BestEpoch, disk.Test, mem.BestEpoch, mem.Test)
	}
	for _, pair := range [][2]*checkpoint.File{{mem.Body, disk.Body}, {mem.Head, disk.Head}} {
		a, err := checkpoint.Encode(pair[0])
		if err != nil {
			t.Fatal(err)
		}
		b, err := checkpoint.Encode(pair[1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Error("the weights restored from the spill file differ from the copy in memory")
		}
	}
	t.Logf("live heap in the last epoch: %.2fx the body kept in memory, %.2fx kept in a file", liveMem, liveDisk)
	if liveMem-liveDisk < 0.8 {
		t.Errorf("keeping the best epoch in a file saved %.2fx the body of live heap, want about 1x", liveMem-liveDisk)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("spill directory after training: %v, %v; want it empty", ents, err)
	}
}

// digitsMLP is digits and the seeded body of an MLP for it, dim wide.
func digitsMLP(t *testing.T, dim, layers int, seed uint64) (*data.Task, *checkpoint.File) {
	t.Helper()
	task := loadTask(t, "digits")
	cfg := model.Config{Arch: model.MLP, Features: task.NumFeatures, InputScale: 1.0 / 16, Dim: dim, Hidden: dim, Layers: layers, Classes: len(task.Labels)}
	body, err := model.InitBody(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	return task, body
}

// A spill file changed or cut after it was written is an error naming
// the file, not weights read back wrong.
func TestSpillDetectsChange(t *testing.T) {
	task, body := digitsMLP(t, 64, 2, 3)
	damage := map[string]func(f *os.File) error{
		"changed": func(f *os.File) error { _, err := f.WriteAt([]byte{0xff, 0xfe}, 1000); return err },
		"cut":     func(f *os.File) error { return f.Truncate(4000) },
		"intact":  func(*os.File) error { return nil },
	}
	for name, hurt := range damage {
		t.Run(name, func(t *testing.T) {
			w, err := startWeights(body, task, 1)
			if err != nil {
				t.Fatal(err)
			}
			want := w.Clone()
			sp, err := newSpill(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer sp.close()
			if err := sp.keep(w); err != nil {
				t.Fatal(err)
			}
			for _, s := range w.Specs() {
				clear(w.Get(s.Name))
			}
			if err := hurt(sp.f); err != nil {
				t.Fatal(err)
			}
			err = sp.restore(w)
			if name == "intact" {
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range w.Specs() {
					if !bytes.Equal(bytesOf(w.Get(s.Name)), bytesOf(want.Get(s.Name))) {
						t.Fatalf("%s did not read back as kept", s.Name)
					}
				}
				return
			}
			if !errors.Is(err, errSpillChanged) {
				t.Fatalf("restore from a %s file: %v, want errSpillChanged", name, err)
			}
			t.Log(err)
		})
	}
}

// A spill directory that cannot take the file stops training with an
// error naming it.
func TestSpillDirMissing(t *testing.T) {
	task, body := digitsMLP(t, 64, 2, 3)
	opt := DefaultOptions()
	opt.Epochs, opt.Patience, opt.MaxTrain = 2, 0, 200
	opt.SpillDir = t.TempDir() + "/missing"
	_, err := Finetune(context.Background(), body, task, opt, nil)
	if err == nil || !strings.Contains(err.Error(), opt.SpillDir) {
		t.Fatalf("training with a missing spill directory: %v, want an error naming it", err)
	}
}
