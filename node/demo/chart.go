package demo

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Series is one task's accuracy of the fused base, by round.
type Series struct {
	Task     string
	Accuracy []float64 // index 0 is the genesis base, then rounds 1, 2, ...
}

// WriteChart draws accuracy per round, one line per task, as a PNG.
func WriteChart(path string, series []Series) error {
	p := plot.New()
	p.Title.Text = "coldnode demo: accuracy of the fused base per task"
	p.X.Label.Text = "round (0 = genesis)"
	p.Y.Label.Text = "test accuracy (linear probe of the base)"
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	sorted := append([]Series(nil), series...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Task < sorted[j].Task })
	for i, s := range sorted {
		if err := addLine(p, i, s); err != nil {
			return err
		}
	}
	p.X.Tick.Marker = roundTicks{}
	p.Legend.Top, p.Legend.Left = false, false
	if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, path); err != nil {
		return fmt.Errorf("demo chart %s: %w", path, err)
	}
	return nil
}

func addLine(p *plot.Plot, i int, s Series) error {
	pts := make(plotter.XYs, len(s.Accuracy))
	for r, a := range s.Accuracy {
		pts[r] = plotter.XY{X: float64(r), Y: a}
	}
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return fmt.Errorf("demo chart %s: %w", s.Task, err)
	}
	c := plotutil.Color(i)
	if c == nil {
		c = color.Black
	}
	line.Color, points.Color = c, c
	points.Shape = plotutil.Shape(i)
	p.Add(line, points)
	p.Legend.Add(s.Task, line, points)
	return nil
}

// roundTicks puts a labelled tick on every whole round.
type roundTicks struct{}

func (roundTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for r := math.Ceil(min); r <= max; r++ {
		ts = append(ts, plot.Tick{Value: r, Label: strconv.Itoa(int(r))})
	}
	return ts
}
