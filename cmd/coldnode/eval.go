package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/model"
)

func init() {
	register(&cli.Command{
		Name:      "eval",
		Usage:     "score a model on a dataset: finetune it, probe it, or use its own head",
		ArgsUsage: " ",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Required: true, Usage: "safetensors file: a body, or body+head from `coldnode train`"},
			&cli.StringFlag{Name: "protocol", Value: "finetune", Usage: "finetune (train body and a fresh head), probe (frozen body, fresh head) or head (the file's own head, no training)"},
		}, trainFlags()...),
		Action: evalAction,
	})
}

func evalAction(c *cli.Context) error {
	task, err := data.Load(c.String("dataset"), data.DefaultOptions())
	if err != nil {
		return err
	}
	f, err := checkpoint.Load(c.String("model"))
	if err != nil {
		return err
	}
	body, head, err := train.Split(f)
	if err != nil {
		return fmt.Errorf("%s: %w", c.String("model"), err)
	}
	protocol := c.String("protocol")
	var run func() (*train.Result, error)
	p := newProgress(os.Stderr)
	switch protocol {
	case "finetune":
		run = func() (*train.Result, error) { return train.Finetune(c.Context, body, task, options(c), p.update) }
	case "probe":
		run = func() (*train.Result, error) { return train.Probe(c.Context, body, task, options(c), p.update) }
	case "head":
		return evalHead(c, body, head, task)
	default:
		return fmt.Errorf("unknown --protocol %q: use finetune, probe or head", protocol)
	}
	res, err := run()
	p.done()
	if err != nil {
		return err
	}
	return printResult(c.App.Writer, c.Bool("json"), task, protocol, res)
}

func evalHead(c *cli.Context, body, head *checkpoint.File, task *data.Task) error {
	if len(head.Tensors) == 0 {
		return fmt.Errorf("%s has no head tensors; use --protocol finetune or probe", c.String("model"))
	}
	m, err := train.Evaluate(body, head, task, task.Test)
	if err != nil {
		return err
	}
	res := &train.Result{Test: m}
	if res.Config, err = model.FromFile(head); err != nil {
		return err
	}
	return printResult(c.App.Writer, c.Bool("json"), task, "head", res)
}
