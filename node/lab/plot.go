package lab

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// series is one curve: y (with its sd) at rounds 0..len-1.
type series struct {
	label string
	y, sd []float64
}

// baseline is a horizontal reference line.
type baseline struct {
	label string
	y     float64
}

// plotCurves draws the ColD curve with sd bars and the baselines, one
// panel per protocol and group, into a PNG.
func plotCurves(path string, rep *Report) error {
	grid := make([][]*plot.Plot, 2)
	for i, p := range protocols {
		for _, g := range []Group{Seen, Unseen} {
			s := curveSeries(rep, "ColD Fusion", ModelColD, p, g)
			bl := baselines(rep, p, g)
			pl, err := panel(fmt.Sprintf("%s, %s tasks", p, g), rep.Config.Rounds, []series{s}, bl)
			if err != nil {
				return err
			}
			grid[i] = append(grid[i], pl)
		}
	}
	return saveGrid(path, grid, 24*vg.Centimeter, 18*vg.Centimeter)
}

// plotSweep draws the sweep's probe curves, seen and unseen.
func plotSweep(path string, rep *Report) error {
	row := []*plot.Plot{}
	for _, g := range []Group{Seen, Unseen} {
		var ss []series
		for _, n := range rep.Config.Sweep {
			ss = append(ss, curveSeries(rep, fmt.Sprintf("%d per round", n), SweepModel(n), Probe, g))
		}
		pl, err := panel(fmt.Sprintf("probe, %s tasks, %d examples per round", g, rep.Config.SweepBudget), rep.Config.Rounds, ss, nil)
		if err != nil {
			return err
		}
		row = append(row, pl)
	}
	return saveGrid(path, [][]*plot.Plot{row}, 24*vg.Centimeter, 10*vg.Centimeter)
}

func curveSeries(rep *Report, label, model, protocol string, g Group) series {
	s := series{label: label}
	for r := 0; r <= rep.Config.Rounds; r++ {
		m := model
		if r == 0 {
			m = ModelGenesis
		}
		p, ok := lookup(rep.Points, m, r, protocol, g)
		y, sd := math.NaN(), 0.0
		if ok {
			y, sd = 100*p.Accuracy.Mean, 100*p.Accuracy.SD
		}
		s.y, s.sd = append(s.y, y), append(s.sd, sd)
	}
	return s
}

func baselines(rep *Report, protocol string, g Group) []baseline {
	var out []baseline
	for _, m := range []struct {
		label, model string
		round        int
	}{{"genesis", ModelGenesis, 0}, {"fused once", ModelOneRound, 1}, {"multitask", ModelMultitask, 0}, {"single task", ModelSingle, 0}} {
		if p, ok := lookup(rep.Points, m.model, m.round, protocol, g); ok {
			out = append(out, baseline{m.label, 100 * p.Accuracy.Mean})
		}
	}
	return out
}

func panel(title string, rounds int, ss []series, bl []baseline) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "round (0 = genesis)"
	p.Y.Label.Text = "test accuracy (%)"
	p.X.Tick.Marker = roundTicks{}
	p.Add(plotter.NewGrid())
	for i, s := range ss {
		if err := addSeries(p, i, s); err != nil {
			return nil, err
		}
	}
	for i, b := range bl {
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: b.y}, {X: float64(rounds), Y: b.y}})
		if err != nil {
			return nil, fmt.Errorf("baseline %s: %w", b.label, err)
		}
		l.Color = plotutil.Color(i + len(ss))
		l.Dashes = plotutil.Dashes(i + 1)
		p.Add(l)
		p.Legend.Add(b.label, l)
	}
	p.Legend.Top = false
	p.Legend.Left = false
	return p, nil
}

func addSeries(p *plot.Plot, i int, s series) error {
	var pts plotter.XYs
	var errs plotter.YErrors
	for r, y := range s.y {
		if !math.IsNaN(y) {
			pts = append(pts, plotter.XY{X: float64(r), Y: y})
			errs = append(errs, struct{ Low, High float64 }{s.sd[r], s.sd[r]})
		}
	}
	if len(pts) == 0 {
		return nil
	}
	line, marks, err := plotter.NewLinePoints(pts)
	if err != nil {
		return fmt.Errorf("curve %s: %w", s.label, err)
	}
	var c color.Color = plotutil.Color(i)
	line.Color, marks.Color = c, c
	bars, err := plotter.NewYErrorBars(struct {
		plotter.XYs
		plotter.YErrors
	}{pts, errs})
	if err != nil {
		return fmt.Errorf("curve %s: %w", s.label, err)
	}
	bars.Color = c
	p.Add(line, marks, bars)
	p.Legend.Add(s.label, line, marks)
	return nil
}

func saveGrid(path string, grid [][]*plot.Plot, w, h vg.Length) error {
	img := vgimg.New(w, h)
	dc := draw.New(img)
	t := draw.Tiles{Rows: len(grid), Cols: len(grid[0]), PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3, PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3}
	canvases := plot.Align(grid, t, dc)
	for i := range grid {
		for j := range grid[i] {
			grid[i][j].Draw(canvases[i][j])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// roundTicks labels every whole round (every other one past 12 rounds).
type roundTicks struct{}

func (roundTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1.0
	if hi-lo > 12 {
		step = 2
	}
	var ts []plot.Tick
	for r := math.Ceil(lo); r <= hi; r += step {
		ts = append(ts, plot.Tick{Value: r, Label: strconv.Itoa(int(r))})
	}
	return ts
}
