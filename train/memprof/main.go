// Command memprof trains a model as `coldnode train` does and reports where
// the memory goes: the live heap (after a forced collection) at each phase,
// the process's peak RSS (VmHWM), and optionally a heap profile taken at the
// phase with the largest live heap (read it with go tool pprof). The forced
// collections make its peak RSS lower than coldnode train's; it is for the
// breakdown, /usr/bin/time -v coldnode train for the peak.
//
//	go run ./train/memprof -model model.json -task ../shared/datasets/digits -epochs 1 -heapprofile heap.pb.gz
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/coldnode/coldnode/train"
	"github.com/coldnode/coldnode/train/checkpoint"
	"github.com/coldnode/coldnode/train/data"
	"github.com/coldnode/coldnode/train/optim"
)

type flags struct {
	model, task, out, profile, moments string
	epochs                             int
}

func main() {
	var f flags
	flag.StringVar(&f.model, "model", "mlp", "bag, mlp, encoder or a JSON model config file")
	flag.StringVar(&f.task, "task", "../shared/datasets/digits", "dataset directory")
	flag.StringVar(&f.out, "out", "", "write the trained model here (as coldnode train --out)")
	flag.StringVar(&f.profile, "heapprofile", "", "write a heap profile at the largest live heap")
	flag.IntVar(&f.epochs, "epochs", 1, "epochs")
	flag.StringVar(&f.moments, "moments", "fp32", "AdamW moment precision: fp32, bf16 or int8")
	flag.Parse()
	if err := run(f); err != nil {
		fmt.Fprintln(os.Stderr, "memprof:", err)
		os.Exit(1)
	}
}

// probe records the live heap at named phases.
type probe struct {
	body    int64
	peak    uint64
	profile string
}

func (p *probe) at(phase string) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%-28s live heap %7.1f MB (%5.2fx body)  VmRSS %7.1f MB  VmHWM %7.1f MB (%5.2fx)\n",
		phase, mb(ms.HeapAlloc), ratio(ms.HeapAlloc, p.body), mb(status("VmRSS")), mb(status("VmHWM")), ratio(status("VmHWM"), p.body))
	if ms.HeapAlloc > p.peak {
		p.peak = ms.HeapAlloc
		p.write()
	}
}

func (p *probe) write() {
	if p.profile == "" {
		return
	}
	w, err := os.Create(p.profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memprof:", err)
		return
	}
	defer w.Close()
	if err := pprof.Lookup("heap").WriteTo(w, 0); err != nil {
		fmt.Fprintln(os.Stderr, "memprof:", err)
	}
}

func mb(b uint64) float64 { return float64(b) / 1e6 }

func ratio(b uint64, body int64) float64 { return float64(b) / float64(body) }

// status reads a kB field of /proc/self/status, in bytes.
func status(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb uint64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			return kb << 10
		}
	}
	return 0
}

func run(f flags) error {
	runtime.MemProfileRate = 64 << 10
	task, err := data.Load(f.task, data.DefaultOptions())
	if err != nil {
		return err
	}
	body, err := train.NewBody(f.model, task, 1)
	if err != nil {
		return err
	}
	p := &probe{body: bodyBytes(body), profile: f.profile}
	fmt.Printf("body %.2f MB in %d tensors\n", float64(p.body)/1e6, len(body.Tensors))
	p.at("body made")
	opt := train.DefaultOptions()
	opt.Epochs = f.epochs
	if opt.Moments, err = optim.ParsePrecision(f.moments); err != nil {
		return err
	}
	steps := 0
	res, err := train.Finetune(context.Background(), body, task, opt, func(pr train.Progress) {
		if pr.Dev == nil && pr.Step == 1 {
			p.at(fmt.Sprintf("epoch %d after step 1", pr.Epoch))
		}
		if pr.Dev == nil && pr.Step == pr.Steps {
			p.at(fmt.Sprintf("epoch %d after last step", pr.Epoch))
		}
		if pr.Dev != nil {
			steps++
			p.at(fmt.Sprintf("epoch %d evaluated", pr.Epoch))
		}
	})
	if err != nil {
		return err
	}
	body = nil
	p.at("finetuned")
	if f.out != "" {
		if err := checkpoint.Save(f.out, train.Merge(res.Body, res.Head)); err != nil {
			return err
		}
		p.at("saved")
	}
	fmt.Printf("trained %d examples, %.0f ex/s; peak RSS (VmHWM) %.1f MB = %.2fx body\n",
		res.Examples, float64(res.Examples)/res.TrainTime.Seconds(), mb(status("VmHWM")), ratio(status("VmHWM"), p.body))
	return nil
}

func bodyBytes(f *checkpoint.File) int64 {
	var n int64
	for _, t := range f.Tensors {
		n += int64(len(t.Data))
	}
	return n
}
