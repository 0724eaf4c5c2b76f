package lab

import (
	"fmt"
	"strings"
)

// Markdown renders a report as tables and the findings.
func Markdown(rep *Report) string {
	var b strings.Builder
	c := rep.Config
	fmt.Fprintf(&b, "# coldnode lab\n\n")
	fmt.Fprintf(&b, "Model `%s`; %d rounds of %d contributors from %d seen tasks; rule `%s`; %d seed(s); %.0f s.\n",
		rep.Model, c.Rounds, c.PerRound, len(c.Seen), c.Rule, c.Seeds, rep.Seconds)
	fmt.Fprintf(&b, "Contributors: %d epoch(s); one-round and single-task: %d epochs; finetune protocol: up to %d epochs; probe: up to %d epochs.\n",
		c.Contrib.Epochs, c.OneShotEpochs, c.Finetune.Epochs, c.Probe.Epochs)
	fmt.Fprintf(&b, "Accuracy in %%, mean ± sd over seeds of the mean over the group's tasks; macro-F1 in parentheses.\n\n")
	writeTaskTable(&b, rep)
	writeFinalTable(&b, rep)
	writeRoundTable(&b, rep)
	writeSweepTable(&b, rep)
	writePerTask(&b, rep)
	writeFindings(&b, rep)
	return b.String()
}

func writeTaskTable(b *strings.Builder, rep *Report) {
	b.WriteString("## Tasks\n\n| task | group | classes | train | dev | test |\n|---|---|---|---|---|---|\n")
	for _, t := range rep.Tasks {
		fmt.Fprintf(b, "| %s | %s | %d | %d | %d | %d |\n", t.Name, t.Group, t.Classes, t.Train, t.Dev, t.Test)
	}
	b.WriteString("\n")
}

// lookup finds a group point.
func lookup(ps []Point, model string, round int, protocol string, g Group) (Point, bool) {
	for _, p := range ps {
		if p.Model == model && p.Round == round && p.Protocol == protocol && p.Group == g {
			return p, true
		}
	}
	return Point{}, false
}

func cellText(p Point, ok bool) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.2f ± %.2f (%.2f)", 100*p.Accuracy.Mean, 100*p.Accuracy.SD, 100*p.MacroF1.Mean)
}

var columns = []struct {
	protocol string
	group    Group
}{{Finetune, Seen}, {Finetune, Unseen}, {Probe, Seen}, {Probe, Unseen}}

const columnHeader = "| finetune, seen | finetune, unseen | probe, seen | probe, unseen |\n"

func writeFinalTable(b *strings.Builder, rep *Report) {
	r := rep.Config.Rounds
	b.WriteString("## Final models\n\n| model " + columnHeader + "|---|---|---|---|---|\n")
	rows := []struct {
		label, model string
		round        int
	}{
		{"genesis body", ModelGenesis, 0}, {fmt.Sprintf("ColD Fusion, round %d", r), ModelColD, r},
		{"fused once (round 1)", ModelOneRound, 1}, {"multitask", ModelMultitask, 0},
		{"single task (own task, finetuned alone)", ModelSingle, 0},
	}
	for _, row := range rows {
		fmt.Fprintf(b, "| %s ", row.label)
		for _, col := range columns {
			p, ok := lookup(rep.Points, row.model, row.round, col.protocol, col.group)
			fmt.Fprintf(b, "| %s ", cellText(p, ok))
		}
		b.WriteString("|\n")
	}
	b.WriteString("\n")
}

func writeRoundTable(b *strings.Builder, rep *Report) {
	b.WriteString("## ColD Fusion per round (round 0 = genesis)\n\n")
	b.WriteString("step/delta is the norm of the fused step over the mean norm of the contributors' deltas (mean over seeds).\n\n")
	b.WriteString("| round " + columnHeader[:len(columnHeader)-1] + " step/delta |\n|---|---|---|---|---|---|\n")
	for r := 0; r <= rep.Config.Rounds; r++ {
		model := ModelColD
		if r == 0 {
			model = ModelGenesis
		}
		if _, ok := lookup(rep.Points, model, r, Probe, Seen); !ok {
			continue // not evaluated (see Config.EvalEvery)
		}
		fmt.Fprintf(b, "| %d ", r)
		for _, col := range columns {
			p, ok := lookup(rep.Points, model, r, col.protocol, col.group)
			fmt.Fprintf(b, "| %s ", cellText(p, ok))
		}
		fmt.Fprintf(b, "| %s |\n", ratioText(rep.Seeds, func(s SeedRun) []Round { return s.Rounds }, r))
	}
	b.WriteString("\n")
}

// ratioText is the mean over seeds of StepNorm/DeltaNorm of round r of the
// runs pick selects ("–" for round 0 or a missing round).
func ratioText(seeds []SeedRun, pick func(SeedRun) []Round, r int) string {
	var sum float64
	n := 0
	for _, s := range seeds {
		rounds := pick(s)
		if r >= 1 && r <= len(rounds) && rounds[r-1].DeltaNorm > 0 {
			sum += rounds[r-1].StepNorm / rounds[r-1].DeltaNorm
			n++
		}
	}
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", sum/float64(n))
}

func writeSweepTable(b *strings.Builder, rep *Report) {
	c := rep.Config
	if len(c.Sweep) == 0 {
		return
	}
	fmt.Fprintf(b, "## Contributors per round, %d training examples per round in total (probe)\n\n", c.SweepBudget)
	b.WriteString("| contributors | examples each | seen, round 1 | seen, final | unseen, round 1 | unseen, final | step/delta, final round |\n|---|---|---|---|---|---|---|\n")
	for _, n := range c.Sweep {
		fmt.Fprintf(b, "| %d | %d ", n, c.SweepBudget/n)
		for _, g := range []Group{Seen, Unseen} {
			for _, r := range []int{1, c.Rounds} {
				p, ok := lookup(rep.Points, SweepModel(n), r, Probe, g)
				fmt.Fprintf(b, "| %s ", cellText(p, ok))
			}
		}
		pick := func(s SeedRun) []Round {
			for _, sw := range s.Sweep {
				if sw.PerRound == n {
					return sw.Rounds
				}
			}
			return nil
		}
		fmt.Fprintf(b, "| %s |\n", ratioText(rep.Seeds, pick, c.Rounds))
	}
	b.WriteString("\n")
}

func writePerTask(b *strings.Builder, rep *Report) {
	r := rep.Config.Rounds
	models := []struct {
		label, model string
		round        int
	}{{"genesis", ModelGenesis, 0}, {"ColD", ModelColD, r}, {"fuse-once", ModelOneRound, 1}, {"multitask", ModelMultitask, 0}}
	for _, p := range protocols {
		fmt.Fprintf(b, "## Per task, %s protocol (accuracy %%, macro-F1 in parentheses)\n\n| task | group |", p)
		for _, m := range models {
			fmt.Fprintf(b, " %s |", m.label)
		}
		if p == Finetune {
			b.WriteString(" single task |")
		}
		b.WriteString("\n|---|---|" + strings.Repeat("---|", len(models)))
		if p == Finetune {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, t := range rep.Tasks {
			fmt.Fprintf(b, "| %s | %s |", t.Name, t.Group)
			for _, m := range models {
				fmt.Fprintf(b, " %s |", taskCell(rep, m.model, m.round, p, t.Name))
			}
			if p == Finetune {
				fmt.Fprintf(b, " %s |", taskCell(rep, ModelSingle, 0, p, t.Name))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
}

func taskCell(rep *Report, model string, round int, protocol, task string) string {
	for _, tp := range rep.TaskPoints {
		if tp.Model == model && tp.Round == round && tp.Protocol == protocol && tp.Task == task {
			return fmt.Sprintf("%.1f ± %.1f (%.1f)", 100*tp.Accuracy.Mean, 100*tp.Accuracy.SD, 100*tp.MacroF1.Mean)
		}
	}
	return "–"
}

func writeFindings(b *strings.Builder, rep *Report) {
	b.WriteString("## Findings (differences are paired per seed: mean ± sd over seeds, accuracy points)\n\n")
	for _, f := range rep.Findings {
		fmt.Fprintf(b, "%d. %s: **%s**\n", f.ID, f.Claim, f.Verdict)
		for _, e := range f.Evidence {
			fmt.Fprintf(b, "   - %s\n", e)
		}
	}
}
