package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/optim"
)

func init() {
	register(&cli.Command{
		Name:      "train",
		Usage:     "finetune a model on a dataset and write body+head weights",
		ArgsUsage: " ",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Value: "bag", Usage: "bag, mlp, encoder, or a JSON model config file (ignored with --base)"},
			&cli.StringFlag{Name: "base", Usage: "start from this body (safetensors) instead of a fresh one"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "write body and head tensors to this safetensors file"},
		}, trainFlags()...),
		Action: trainAction,
	})
}

// trainFlags are shared by train and eval.
func trainFlags() []cli.Flag {
	d := train.DefaultOptions()
	return []cli.Flag{
		&cli.StringFlag{Name: "dataset", Required: true, Usage: "task directory, JSONL, CSV or TSV file"},
		&cli.IntFlag{Name: "epochs", Value: d.Epochs, Usage: "maximum epochs"},
		&cli.Float64Flag{Name: "lr", Value: float64(d.LR), Usage: "peak learning rate (AdamW, linear decay)"},
		&cli.IntFlag{Name: "batch", Value: d.Batch, Usage: "batch size"},
		&cli.IntFlag{Name: "patience", Value: d.Patience, Usage: "stop after this many epochs without a better dev score (0: never)"},
		&cli.Uint64Flag{Name: "seed", Value: d.Seed, Usage: "seed of initialisation and shuffling"},
		&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
		&cli.StringFlag{Name: "moments", Value: d.Moments.String(), Usage: "AdamW moment precision: fp32, bf16 (half the optimiser's memory) or int8 (a quarter: 8-bit block-wise codes)",
			Action: func(_ *cli.Context, s string) error { _, err := optim.ParsePrecision(s); return err }},
	}
}

func options(c *cli.Context) train.Options {
	o := train.DefaultOptions()
	o.Epochs, o.LR, o.Batch = c.Int("epochs"), float32(c.Float64("lr")), c.Int("batch")
	o.Patience, o.Seed = c.Int("patience"), c.Uint64("seed")
	if p, err := optim.ParsePrecision(c.String("moments")); err == nil { // checked by the flag's Action
		o.Moments = p
	}
	return o
}

func trainAction(c *cli.Context) error {
	task, err := data.Load(c.String("dataset"), data.DefaultOptions())
	if err != nil {
		return err
	}
	body, err := startBody(c, task)
	if err != nil {
		return err
	}
	p := newProgress(os.Stderr)
	opt := options(c)
	opt.SpillDir = filepath.Dir(c.String("out")) // early stopping's best epoch waits on disk, beside the result
	res, err := train.Finetune(c.Context, body, task, opt, p.update)
	p.done()
	if err != nil {
		return err
	}
	if err := checkpoint.Save(c.String("out"), train.Merge(res.Body, res.Head)); err != nil {
		return fmt.Errorf("write %s: %w", c.String("out"), err)
	}
	return printResult(c.App.Writer, c.Bool("json"), task, "finetune", res)
}

func startBody(c *cli.Context, task *data.Task) (*checkpoint.File, error) {
	if base := c.String("base"); base != "" {
		return train.LoadBody(base)
	}
	return train.NewBody(c.String("model"), task, c.Uint64("seed"))
}

// report is the final line (or JSON object) of train and eval.
type report struct {
	Task      string        `json:"task"`
	Protocol  string        `json:"protocol"`
	Arch      string        `json:"arch"`
	Dev       train.Metrics `json:"dev"`
	Test      train.Metrics `json:"test"`
	Epochs    int           `json:"epochs"`
	BestEpoch int           `json:"best_epoch"`
	Examples  int           `json:"examples"`
	Seconds   float64       `json:"seconds"`
	PerSecond float64       `json:"examples_per_second"`
}

func printResult(w io.Writer, asJSON bool, task *data.Task, protocol string, res *train.Result) error {
	r := report{Task: task.Name, Protocol: protocol, Arch: res.Config.Arch, Dev: res.Dev, Test: res.Test,
		Epochs: res.Epochs, BestEpoch: res.BestEpoch, Examples: res.Examples, Seconds: res.Elapsed.Seconds()}
	if r.Seconds > 0 {
		r.PerSecond = float64(r.Examples) / r.Seconds
	}
	if asJSON {
		enc := json.NewEncoder(w)
		return enc.Encode(r)
	}
	_, err := fmt.Fprintf(w, "task=%s protocol=%s arch=%s test_acc=%.4f test_macro_f1=%.4f dev_acc=%.4f epochs=%d best_epoch=%d examples=%d ex_per_s=%.0f\n",
		r.Task, r.Protocol, r.Arch, r.Test.Accuracy, r.Test.MacroF1, r.Dev.Accuracy, r.Epochs, r.BestEpoch, r.Examples, r.PerSecond)
	return err
}

// progress draws a bar on a terminal and logs a line per epoch otherwise.
type progress struct {
	w    io.Writer
	tty  bool
	last int
}

func newProgress(f *os.File) *progress {
	fi, err := f.Stat()
	return &progress{w: f, tty: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func (p *progress) update(u train.Progress) {
	if u.Dev != nil {
		p.clear()
		fmt.Fprintf(p.w, "epoch %d/%d dev %s examples=%d\n", u.Epoch, u.Epochs, u.Dev, u.Examples)
		return
	}
	if !p.tty || u.Steps == 0 {
		return
	}
	const width = 30
	fill := width * u.Step / u.Steps
	line := fmt.Sprintf("\repoch %d/%d [%s%s] %3d%% loss %.4f", u.Epoch, u.Epochs,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), 100*u.Step/u.Steps, u.Loss)
	p.last = len(line)
	fmt.Fprint(p.w, line)
}

func (p *progress) clear() {
	if p.tty && p.last > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.last))
		p.last = 0
	}
}

func (p *progress) done() { p.clear() }
