package lab

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/coldnode/coldnode/train"
)

// The files Write produces in its directory.
const (
	FileScores   = "scores.csv"   // every score: seed, model, round, protocol, group, task, accuracy, macro-F1
	FileCurve    = "curve.csv"    // group means per model and round, mean and sd over seeds
	FileTasks    = "tasks.csv"    // per task, mean and sd over seeds
	FileRounds   = "rounds.csv"   // every round record: CIDs and contributors
	FileJSON     = "results.json" // the config, the round records, the group means and the findings
	FileMarkdown = "summary.md"   // tables and findings
	FileCurves   = "curves.png"   // accuracy per round, seen/unseen x finetune/probe, baselines as lines
	FileSweep    = "sweep.png"    // the contributors-per-round sweep (when run)
)

// Report is the JSON form of a run.
type Report struct {
	Config     ConfigInfo  `json:"config"`
	Model      string      `json:"model"`
	Tasks      []TaskInfo  `json:"tasks"`
	Seeds      []SeedRun   `json:"seeds"`
	Points     []Point     `json:"points"`
	TaskPoints []TaskPoint `json:"-"` // in tasks.csv
	Findings   []Finding   `json:"findings"`
	Scores     []Score     `json:"-"` // in scores.csv
	Seconds    float64     `json:"seconds"`
}

// ConfigInfo is the serialisable part of a Config.
type ConfigInfo struct {
	Seen          []string      `json:"seen"`
	Unseen        []string      `json:"unseen"`
	Model         string        `json:"model"`
	Buckets       int           `json:"buckets"`
	Rounds        int           `json:"rounds"`
	PerRound      int           `json:"per_round"`
	Seeds         int           `json:"seeds"`
	Rule          string        `json:"rule"`
	MaxTrain      int           `json:"max_train"`
	MaxDev        int           `json:"max_dev"`
	MaxTest       int           `json:"max_test"`
	Contrib       train.Options `json:"contributor"`
	Finetune      train.Options `json:"finetune"`
	Probe         train.Options `json:"probe"`
	OneShotEpochs int           `json:"one_shot_epochs"`
	Sweep         []int         `json:"sweep,omitempty"`
	SweepBudget   int           `json:"sweep_examples_per_round,omitempty"`
	EvalEvery     int           `json:"eval_every,omitempty"`
	Workers       int           `json:"workers"`
	Attack        string        `json:"attack"`
	Attackers     int           `json:"attackers"`
	NoBaselines   bool          `json:"no_baselines,omitempty"`
	Protocols     []string      `json:"protocols"`
}

func infoOf(c Config) ConfigInfo {
	return ConfigInfo{Seen: c.Seen, Unseen: c.Unseen, Model: c.Model, Buckets: c.Buckets, Rounds: c.Rounds,
		PerRound: c.PerRound, Seeds: c.Seeds, Rule: c.Rule, MaxTrain: c.MaxTrain, MaxDev: c.MaxDev, MaxTest: c.MaxTest,
		Contrib: c.Contrib, Finetune: c.Finetune, Probe: c.Probe, OneShotEpochs: c.OneShotEpochs(),
		Sweep: c.Sweep, SweepBudget: c.Budget(), EvalEvery: c.EvalEvery, Workers: c.Workers,
		Attack: c.attack().String(), Attackers: attackers(c), NoBaselines: c.NoBaselines, Protocols: c.protocols()}
}

// NewReport summarises a result.
func NewReport(res *Result) *Report {
	return &Report{Config: infoOf(res.Config), Model: res.Model, Tasks: res.Tasks, Seeds: res.Seeds,
		Points: Points(res.Scores), TaskPoints: TaskPoints(res.Scores),
		Findings: Findings(res.Scores, res.Config.Rounds, res.Config.Sweep), Scores: res.Scores, Seconds: res.Seconds}
}

// Write writes every output file of res into dir (created if needed).
func Write(dir string, res *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lab: output directory: %w", err)
	}
	rep := NewReport(res)
	steps := []struct {
		name string
		fn   func(string) error
	}{
		{FileScores, func(p string) error { return writeCSV(p, scoreRows(rep.Scores)) }},
		{FileCurve, func(p string) error { return writeCSV(p, pointRows(rep.Points)) }},
		{FileTasks, func(p string) error { return writeCSV(p, taskRows(rep.TaskPoints)) }},
		{FileRounds, func(p string) error { return writeCSV(p, roundRows(rep.Seeds)) }},
		{FileJSON, func(p string) error { return writeJSON(p, rep) }},
		{FileMarkdown, func(p string) error { return os.WriteFile(p, []byte(Markdown(rep)), 0o644) }},
		{FileCurves, func(p string) error { return plotCurves(p, rep) }},
	}
	if len(res.Config.Sweep) > 0 {
		steps = append(steps, struct {
			name string
			fn   func(string) error
		}{FileSweep, func(p string) error { return plotSweep(p, rep) }})
	}
	for _, s := range steps {
		if err := s.fn(filepath.Join(dir, s.name)); err != nil {
			return fmt.Errorf("lab: write %s: %w", s.name, err)
		}
	}
	return nil
}

// writeJSON writes v as compact JSON (the files stay small enough to keep
// in the repository).
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

func scoreRows(scores []Score) [][]string {
	rows := [][]string{{"seed", "model", "round", "protocol", "group", "task", "accuracy", "macro_f1", "n"}}
	for _, s := range scores {
		rows = append(rows, []string{strconv.Itoa(s.Seed), s.Model, strconv.Itoa(s.Round), s.Protocol, string(s.Group),
			s.Task, num(s.Accuracy), num(s.MacroF1), strconv.Itoa(s.N)})
	}
	return rows
}

func pointRows(ps []Point) [][]string {
	rows := [][]string{{"model", "round", "protocol", "group", "acc_mean", "acc_sd", "f1_mean", "f1_sd", "seeds"}}
	for _, p := range ps {
		rows = append(rows, []string{p.Model, strconv.Itoa(p.Round), p.Protocol, string(p.Group), num(p.Accuracy.Mean),
			num(p.Accuracy.SD), num(p.MacroF1.Mean), num(p.MacroF1.SD), strconv.Itoa(p.Accuracy.N)})
	}
	return rows
}

func taskRows(ps []TaskPoint) [][]string {
	rows := [][]string{{"model", "round", "protocol", "group", "task", "acc_mean", "acc_sd", "f1_mean", "f1_sd", "seeds"}}
	for _, p := range ps {
		rows = append(rows, []string{p.Model, strconv.Itoa(p.Round), p.Protocol, string(p.Group), p.Task,
			num(p.Accuracy.Mean), num(p.Accuracy.SD), num(p.MacroF1.Mean), num(p.MacroF1.SD), strconv.Itoa(p.Accuracy.N)})
	}
	return rows
}

func roundRows(seeds []SeedRun) [][]string {
	rows := [][]string{{"seed", "run", "round", "record", "base", "fused", "contributors", "deltas", "delta_norm", "step_norm", "seconds"}}
	add := func(seed int, run string, r Round) {
		var tasks, deltas []string
		for _, c := range r.Contributions {
			tasks, deltas = append(tasks, c.Task), append(deltas, c.Delta)
		}
		rows = append(rows, []string{strconv.Itoa(seed), run, strconv.Itoa(r.Round), r.Record, r.Base, r.Fused,
			strings.Join(tasks, " "), strings.Join(deltas, " "), num(r.DeltaNorm), num(r.StepNorm), strconv.FormatFloat(r.Seconds, 'f', 2, 64)})
	}
	for _, s := range seeds {
		for _, r := range s.Rounds {
			add(s.Seed, ModelColD, r)
		}
		add(s.Seed, ModelOneRound, s.OneRound)
		for _, sw := range s.Sweep {
			for _, r := range sw.Rounds {
				add(s.Seed, SweepModel(sw.PerRound), r)
			}
		}
	}
	return rows
}

// attackers is the number of attackers a run had (0 without an attack).
func attackers(c Config) int {
	if c.attack().Kind == AttackNone {
		return 0
	}
	return c.Attackers
}
