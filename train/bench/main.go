// Command bench measures coldnode's training speed against PyTorch on the same
// machine in the same run: it trains a model with train.Finetune, writes the
// very token ids it trained on to a job file, runs torch_ref.py (the same
// architecture, batch, optimiser and schedule in PyTorch) and prints both
// throughputs and their ratio. Only optimisation steps are timed on both sides.
//
//	go run ./train/bench -task ../shared/datasets/sst2 -arch bag
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
)

type flags struct {
	task, arch, python, script string
	epochs, batch, rounds      int
	maxTrain                   int
	lr                         float64
}

func main() {
	var f flags
	flag.StringVar(&f.task, "task", "../shared/datasets/sst2", "dataset directory")
	flag.StringVar(&f.arch, "arch", "bag", "bag or encoder")
	flag.StringVar(&f.python, "python", "/usr/bin/python3", "Python with PyTorch")
	flag.StringVar(&f.script, "script", "train/bench/torch_ref.py", "the PyTorch reference script")
	flag.IntVar(&f.epochs, "epochs", 2, "epochs (no early stopping)")
	flag.IntVar(&f.batch, "batch", 64, "batch size")
	flag.IntVar(&f.rounds, "rounds", 3, "alternating rounds; the best of each side is kept")
	flag.IntVar(&f.maxTrain, "max-train", 0, "train on the first N training examples only (0: all)")
	flag.Float64Var(&f.lr, "lr", 0, "learning rate (0: train.DefaultOptions)")
	flag.Parse()
	if err := run(f); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// side is one measurement.
type side struct {
	Examples  int     `json:"examples"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"examples_per_second"`
	TestAcc   float64 `json:"test_accuracy"`
	Threads   int     `json:"threads"`
	Torch     string  `json:"torch"`
}

func run(f flags) error {
	task, err := data.Load(f.task, data.DefaultOptions())
	if err != nil {
		return err
	}
	cfg, err := model.DefaultConfig(f.arch, task)
	if err != nil {
		return err
	}
	opt := train.DefaultOptions()
	opt.Epochs, opt.Batch, opt.Patience, opt.MaxTrain = f.epochs, f.batch, 0, f.maxTrain
	if f.lr > 0 {
		opt.LR = float32(f.lr)
	}
	job, err := writeJob(cfg, task, opt)
	if err != nil {
		return err
	}
	defer os.Remove(job)
	var best [2]side
	var ratios []float64
	for r := 0; r < f.rounds; r++ {
		g, t, err := round(f, cfg, task, opt, job, r+1)
		if err != nil {
			return err
		}
		best[0], best[1] = better(best[0], g), better(best[1], t)
		ratios = append(ratios, g.PerSecond/t.PerSecond)
	}
	printSummary(f, task, cfg, best, median(ratios))
	return nil
}

// round measures coldnode once and PyTorch at each thread count, returning
// coldnode's figure and PyTorch's faster one.
func round(f flags, cfg model.Config, task *data.Task, opt train.Options, job string, r int) (side, side, error) {
	g, err := goSide(cfg, task, opt)
	if err != nil {
		return side{}, side{}, err
	}
	fmt.Printf("round %d: coldnode %.0f ex/s (test acc %.4f, GOMAXPROCS %d)\n", r, g.PerSecond, g.TestAcc, g.Threads)
	var best side
	for _, threads := range torchThreads() {
		t, err := torchSide(f, job, threads)
		if err != nil {
			return side{}, side{}, err
		}
		fmt.Printf("round %d: pytorch  %.0f ex/s (test acc %.4f, %d threads)\n", r, t.PerSecond, t.TestAcc, t.Threads)
		best = better(best, t)
	}
	return g, best, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func better(a, b side) side {
	if b.PerSecond > a.PerSecond {
		return b
	}
	return a
}

func goSide(cfg model.Config, task *data.Task, opt train.Options) (side, error) {
	body, err := model.InitBody(cfg, 1)
	if err != nil {
		return side{}, err
	}
	res, err := train.Finetune(context.Background(), body, task, opt, nil)
	if err != nil {
		return side{}, err
	}
	s := res.TrainTime.Seconds()
	return side{Examples: res.Examples, Seconds: s, PerSecond: float64(res.Examples) / s,
		TestAcc: res.Test.Accuracy, Threads: runtime.GOMAXPROCS(0)}, nil
}

// torchThreads are the thread counts PyTorch runs with: 1 and GOMAXPROCS.
// The faster is kept (on a loaded machine more threads can be far slower).
func torchThreads() []int {
	if p := runtime.GOMAXPROCS(0); p > 1 {
		return []int{1, p}
	}
	return []int{1}
}

func torchSide(f flags, job string, threads int) (side, error) {
	out, err := exec.Command(f.python, f.script, job, strconv.Itoa(threads)).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return side{}, fmt.Errorf("%s %s: %w\n%s", f.python, f.script, err, ee.Stderr)
		}
		return side{}, fmt.Errorf("%s %s: %w", f.python, f.script, err)
	}
	var s side
	if err := json.Unmarshal(out, &s); err != nil {
		return side{}, fmt.Errorf("parse PyTorch output %q: %w", out, err)
	}
	return s, nil
}

func printSummary(f flags, task *data.Task, cfg model.Config, best [2]side, med float64) {
	fmt.Printf("\n| task | arch | batch | epochs | coldnode ex/s (best) | PyTorch %s ex/s (best) | ratio of bests | median ratio per round | coldnode test acc | PyTorch test acc |\n", best[1].Torch)
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	fmt.Printf("| %s | %s | %d | %d | %.0f | %.0f | %.2fx | %.2fx | %.4f | %.4f |\n", task.Name, cfg.Arch, f.batch, f.epochs,
		best[0].PerSecond, best[1].PerSecond, best[0].PerSecond/best[1].PerSecond, med, best[0].TestAcc, best[1].TestAcc)
	fmt.Printf("config: %s; GOMAXPROCS=%d, torch threads=%d\n", cfg.Encode(), best[0].Threads, best[1].Threads)
}

// writeJob writes the PyTorch job: sizes, optimiser settings and the exact
// token ids of the training split train.Finetune uses, and of test.
func writeJob(cfg model.Config, task *data.Task, opt train.Options) (string, error) {
	tr := task.Train
	if len(task.Dev) == 0 {
		tr, _ = data.HeldOut(tr, opt.DevFrac)
	}
	if opt.MaxTrain > 0 && len(tr) > opt.MaxTrain {
		tr = tr[:opt.MaxTrain]
	}
	trIDs, trLabels, err := ids(cfg, tr)
	if err != nil {
		return "", err
	}
	teIDs, teLabels, err := ids(cfg, task.Test)
	if err != nil {
		return "", err
	}
	job := map[string]any{
		"arch": cfg.Arch, "buckets": cfg.Token.Buckets, "dim": cfg.Dim, "hidden": cfg.Hidden,
		"layers": cfg.Layers, "heads": cfg.Heads, "seq_len": cfg.SeqLen, "classes": cfg.Classes,
		"batch": opt.Batch, "epochs": opt.Epochs, "lr": opt.LR, "weight_decay": opt.WeightDecay,
		"warmup": opt.Warmup, "seed": opt.Seed, "train": trIDs, "train_labels": trLabels,
		"test": teIDs, "test_labels": teLabels,
	}
	b, err := json.Marshal(job)
	if err != nil {
		return "", err
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("coldnode-bench-%d.json", os.Getpid()))
	return path, os.WriteFile(path, b, 0o600)
}

func ids(cfg model.Config, ex []data.Example) ([][]int32, []int, error) {
	in, err := model.NewInputs(cfg, ex)
	if err != nil {
		return nil, nil, err
	}
	out := make([][]int32, in.Len())
	for i := range out {
		out[i] = append([]int32{}, in.Tokens(i)...)
	}
	return out, in.Labels, nil
}
