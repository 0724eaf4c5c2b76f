package demo

import (
	"fmt"
	"testing"
)

func TestDigitsDecodes(t *testing.T) {
	imgs, err := Digits()
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1797 {
		t.Fatalf("got %d images, want 1797", len(imgs))
	}
	var count [10]int
	for _, im := range imgs {
		count[im.Digit]++
	}
	for d, n := range count {
		if n < 170 || n > 190 {
			t.Errorf("digit %d: %d images, want about 180", d, n)
		}
	}
}

func TestTasksAreDisjointAndDeterministic(t *testing.T) {
	a, err := Tasks(4)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Tasks(4)
	total := 0
	for k, task := range a {
		if len(task.Test) != 360 {
			t.Errorf("%s: %d test examples, want 360", task.Name, len(task.Test))
		}
		for i, ex := range task.Train {
			if ex.Label < 0 || ex.Label >= len(task.Labels) {
				t.Fatalf("%s: label %d out of range", task.Name, ex.Label)
			}
			if fmt.Sprint(b[k].Train[i]) != fmt.Sprint(ex) {
				t.Fatalf("%s example %d differs between two calls", task.Name, i)
			}
		}
		if n := len(task.Train); n < 359 || n > 360 {
			t.Errorf("%s: %d training examples, want 359 or 360 (1437 dealt to 4)", task.Name, n)
		}
		total += len(task.Train)
	}
	if total != 1797-360 {
		t.Errorf("train examples %d, want %d", total, 1797-360)
	}
	if _, err := Tasks(5); err == nil {
		t.Error("Tasks(5) succeeded; the demo has four tasks")
	}
}
