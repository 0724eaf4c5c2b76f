package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
)

const datasets = "../../shared/datasets/"

func loadTask(t *testing.T, name string) *data.Task {
	t.Helper()
	task, err := data.Load(datasets+name, data.DefaultOptions())
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return task
}

// small returns options for a quick run on a subset.
func small() Options {
	o := DefaultOptions()
	o.Epochs, o.MaxTrain, o.Patience = 2, 1500, 0
	return o
}

func smallBag(t *testing.T, task *data.Task) *checkpoint.File {
	t.Helper()
	cfg, err := model.DefaultConfig(model.Bag, task)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Token.Buckets = 1 << 14
	body, err := model.InitBody(cfg, 11)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func encode(t *testing.T, f *checkpoint.File) []byte {
	t.Helper()
	b, err := checkpoint.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFinetuneLearnsAndLowersLoss(t *testing.T) {
	task := loadTask(t, "sst2")
	body := smallBag(t, task)
	var first, last []float32
	opt := small()
	opt.Epochs, opt.MaxTrain = 3, 0
	res, err := Finetune(context.Background(), body, task, opt, func(p Progress) {
		if p.Dev == nil && p.Epoch == 1 {
			first = append(first, p.Loss)
		}
		if p.Dev == nil && p.Epoch == opt.Epochs {
			last = append(last, p.Loss)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if mean(last) >= mean(first[:5])*0.85 {
		t.Errorf("loss did not fall: first steps %.4f, last epoch %.4f", mean(first[:5]), mean(last))
	}
	if res.Test.Accuracy < 0.70 {
		t.Errorf("test accuracy %.4f on sst2, want >= 0.70", res.Test.Accuracy)
	}
	if len(res.Body.Head().Tensors) != 0 || len(res.Head.Body().Tensors) != 0 {
		t.Error("body and head files mix tensors")
	}
	m, err := Evaluate(res.Body, res.Head, task, task.Test)
	if err != nil || m != res.Test {
		t.Errorf("Evaluate = %v, %v; Finetune reported %v", m, err, res.Test)
	}
}

func mean(v []float32) float32 {
	var s float32
	for _, x := range v {
		s += x
	}
	return s / float32(len(v))
}

func TestFinetuneIsDeterministicAcrossGOMAXPROCS(t *testing.T) {
	task := loadTask(t, "trec")
	body := smallBag(t, task)
	opt := small()
	opt.Epochs = 1
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var outs [][]byte
	for _, procs := range []int{1, 2, 2} {
		runtime.GOMAXPROCS(procs)
		res, err := Finetune(context.Background(), body, task, opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, encode(t, Merge(res.Body, res.Head)))
	}
	for i := 1; i < len(outs); i++ {
		if !bytes.Equal(outs[0], outs[i]) {
			t.Fatalf("run %d gave different bytes from run 0", i)
		}
	}
	opt.Seed++
	res, err := Finetune(context.Background(), body, task, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(outs[0], encode(t, Merge(res.Body, res.Head))) {
		t.Error("another seed gave the same weights")
	}
}

func TestProbeKeepsBodyFrozen(t *testing.T) {
	task := loadTask(t, "digits")
	body, err := NewBody(model.MLP, task, 3)
	if err != nil {
		t.Fatal(err)
	}
	opt := small()
	opt.Epochs, opt.LR = 15, 1e-2
	res, err := Probe(context.Background(), body, task, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, body), encode(t, res.Body)) {
		t.Error("probe changed the body")
	}
	if res.Test.Accuracy < 0.5 {
		t.Errorf("probe of a random mlp body: test accuracy %.4f, want >= 0.5", res.Test.Accuracy)
	}
}

func TestDeltaRoundTrip(t *testing.T) {
	task := loadTask(t, "trec")
	base := smallBag(t, task)
	opt := small()
	opt.Epochs = 1
	res, err := Finetune(context.Background(), base, task, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	delta, err := Delta(base, res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range delta.Tensors {
		if checkpoint.IsHead(tn.Name) {
			t.Fatalf("delta holds head tensor %s", tn.Name)
		}
	}
	back, err := ApplyDelta(base, delta)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, back, res.Body)
	if again, _ := Delta(base, res.Body); !bytes.Equal(encode(t, again), encode(t, delta)) {
		t.Error("Delta is not deterministic")
	}
}

// assertClose requires equal names and values within float32 rounding of the
// round trip base + (tuned - base).
func assertClose(t *testing.T, a, b *checkpoint.File) {
	t.Helper()
	if len(a.Tensors) != len(b.Tensors) {
		t.Fatalf("%d tensors vs %d", len(a.Tensors), len(b.Tensors))
	}
	changed := 0
	for i, ta := range a.Tensors {
		x, _ := ta.F32()
		y, _ := b.Tensors[i].F32()
		for k := range x {
			if math.Abs(float64(x[k]-y[k])) > 1e-6*(1+math.Abs(float64(y[k]))) {
				t.Fatalf("%s[%d]: %v vs %v", ta.Name, k, x[k], y[k])
			}
			if x[k] != 0 {
				changed++
			}
		}
	}
	if changed == 0 {
		t.Fatal("all zero")
	}
}

func TestBadInputsGiveClearErrors(t *testing.T) {
	trec := loadTask(t, "trec")
	digits := loadTask(t, "digits")
	bag := smallBag(t, trec)
	mlp, err := NewBody(model.MLP, digits, 1)
	if err != nil {
		t.Fatal(err)
	}
	bad := DefaultOptions()
	bad.LR = -1
	noMeta := &checkpoint.File{Tensors: bag.Tensors}
	cases := []struct {
		name, want string
		err        func() error
	}{
		{"text body on feature task", "cannot read features", func() error { _, err := Finetune(context.Background(), bag, digits, small(), nil); return err }},
		{"bad learning rate", "learning rate", func() error { _, err := Finetune(context.Background(), bag, trec, bad, nil); return err }},
		{"no config", "coldnode.model", func() error { _, err := Finetune(context.Background(), noMeta, trec, small(), nil); return err }},
		{"delta across configs", "body configs differ", func() error { _, err := Delta(bag, mlp); return err }},
		{"unknown arch", "neither bag, mlp, encoder", func() error { _, err := NewBody("lstm", trec, 1); return err }},
		{"missing tensor", "lacks tensor", func() error {
			_, err := Finetune(context.Background(), dropTensor(bag), trec, small(), nil)
			return err
		}},
	}
	for _, c := range cases {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func dropTensor(f *checkpoint.File) *checkpoint.File {
	out := &checkpoint.File{Meta: f.Meta}
	out.Tensors = append(out.Tensors, f.Tensors[1:]...)
	return out
}

func TestCancelStopsTraining(t *testing.T) {
	task := loadTask(t, "trec")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Finetune(ctx, smallBag(t, task), task, small(), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestScore(t *testing.T) {
	m := Score([]int{0, 0, 1, 1}, []int{0, 1, 1, 1}, 3)
	if m.Accuracy != 0.75 || math.Abs(m.MacroF1-(2.0/3+0.8)/2) > 1e-12 {
		t.Errorf("Score = %+v", m)
	}
}

func TestEncoderFinetuneIsDeterministic(t *testing.T) {
	task := loadTask(t, "trec")
	cfg, err := model.DefaultConfig(model.Encoder, task)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Token.Buckets, cfg.Token.MaxLen, cfg.SeqLen, cfg.Dim, cfg.Hidden = 1<<12, 16, 16, 32, 64
	body, err := model.InitBody(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	opt := small()
	opt.Epochs, opt.MaxTrain, opt.Batch = 1, 256, 32
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var outs [][]byte
	var tuned *checkpoint.File
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		res, err := Finetune(context.Background(), body, task, opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, encode(t, Merge(res.Body, res.Head)))
		tuned = res.Body
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatal("GOMAXPROCS 1 and 2 gave different encoder weights")
	}
	if bytes.Equal(encode(t, tuned), encode(t, body)) {
		t.Fatal("training left the body unchanged")
	}
}
