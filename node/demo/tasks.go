package demo

import (
	"fmt"
	"strconv"

	"github.com/coldnode/coldnode/train/data"
)

// TaskSpec is one related task over the digit images.
type TaskSpec struct {
	Name   string
	Labels []string
	Label  func(digit int) int
}

// Specs are the demo's tasks, one per node in this order: digit identity,
// parity, digit >= 5, digit mod 3.
var Specs = []TaskSpec{
	{Name: "digit", Labels: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, Label: func(d int) int { return d }},
	{Name: "parity", Labels: []string{"even", "odd"}, Label: func(d int) int { return d % 2 }},
	{Name: "ge5", Labels: []string{"lt5", "ge5"}, Label: func(d int) int { return b2i(d >= 5) }},
	{Name: "mod3", Labels: []string{"0", "1", "2"}, Label: func(d int) int { return d % 3 }},
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Tasks builds n tasks over the embedded images. Every fifth image (by row)
// is held out as the shared test set; the remaining images are dealt round
// robin into n disjoint training slices, one per task, so no two nodes see
// the same training image. The split is a pure function of n.
func Tasks(n int) ([]*data.Task, error) {
	if n < 1 || n > len(Specs) {
		return nil, fmt.Errorf("demo: %d nodes; the demo has 1..%d tasks", n, len(Specs))
	}
	imgs, err := Digits()
	if err != nil {
		return nil, err
	}
	tasks := make([]*data.Task, n)
	for k := range tasks {
		tasks[k] = &data.Task{Name: Specs[k].Name, Kind: data.Features, Labels: Specs[k].Labels, NumFeatures: 64}
	}
	j := 0
	for i, img := range imgs {
		if i%5 == 0 {
			for k, t := range tasks {
				t.Test = append(t.Test, example(img, Specs[k]))
			}
			continue
		}
		k := j % n
		tasks[k].Train = append(tasks[k].Train, example(img, Specs[k]))
		j++
	}
	return tasks, nil
}

func example(img Image, s TaskSpec) data.Example {
	return data.Example{Features: img.Pixels, Label: s.Label(img.Digit)}
}

// String names a task spec with its class count.
func (s TaskSpec) String() string { return s.Name + "/" + strconv.Itoa(len(s.Labels)) }
