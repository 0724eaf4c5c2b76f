package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/coldnode/coldnode/node"
	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
)

// bases lists the base of every round: the genesis body, then each fused base.
func (r *Result) bases(ctx context.Context) ([]string, error) {
	if len(r.Rounds) == 0 {
		return nil, fmt.Errorf("demo: no round closed")
	}
	out := []string{r.Rounds[0].Base}
	for _, ri := range r.Rounds {
		out = append(out, ri.Fused)
	}
	return out, nil
}

func exportBody(ctx context.Context, b node.Backend, c string) (*checkpoint.File, error) {
	var buf bytes.Buffer
	if err := b.Export(ctx, c, node.HeadNone, &buf); err != nil {
		return nil, fmt.Errorf("demo: read base %s: %w", c, err)
	}
	return checkpoint.Decode(buf.Bytes())
}

// probe trains a fresh head on the frozen body and returns test accuracy.
func probe(ctx context.Context, body *checkpoint.File, t *data.Task) (float64, error) {
	opt := train.DefaultOptions()
	opt.Epochs, opt.LR, opt.Patience = 20, 1e-2, 0
	res, err := train.Probe(ctx, body, t, opt, nil)
	if err != nil {
		return 0, err
	}
	return res.Test.Accuracy, nil
}

// Report prints the per-round table: head record and each task's accuracy.
func (r *Result) Report(w io.Writer) {
	var hdr strings.Builder
	fmt.Fprintf(&hdr, "%-6s %-62s", "round", "head record")
	for _, s := range r.Series {
		fmt.Fprintf(&hdr, " %8s", s.Task)
	}
	fmt.Fprintln(w, hdr.String())
	for round := range len(r.Rounds) + 1 {
		head := "(genesis)"
		if round > 0 {
			head = r.Rounds[round-1].Record
		}
		fmt.Fprintf(w, "%-6d %-62s", round, head)
		for _, s := range r.Series {
			fmt.Fprintf(w, " %8.4f", s.Accuracy[round])
		}
		fmt.Fprintln(w)
	}
	agree := "all nodes agree on every record and fused CID"
	if !r.Agree {
		agree = "NODES DISAGREE on some round"
	}
	fmt.Fprintf(w, "%s; %d rounds in %.1fs\n", agree, len(r.Rounds), r.Elapsed.Seconds())
}
