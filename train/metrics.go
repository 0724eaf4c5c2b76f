package train

import "fmt"

// Metrics are the scores of a model on one split.
type Metrics struct {
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"`
	MacroF1  float64 `json:"macro_f1"` // unweighted mean over classes of F1
}

func (m Metrics) String() string {
	return fmt.Sprintf("acc=%.4f macro_f1=%.4f n=%d", m.Accuracy, m.MacroF1, m.N)
}

// Score computes metrics of predictions against gold labels. Macro-F1
// averages the F1 of every class that occurs in gold or in pred; a class in
// neither is left out of the mean.
func Score(pred, gold []int, classes int) Metrics {
	tp := make([]int, classes)
	fp := make([]int, classes)
	fn := make([]int, classes)
	correct := 0
	for i, p := range pred {
		if p == gold[i] {
			correct++
			tp[p]++
			continue
		}
		fp[p]++
		fn[gold[i]]++
	}
	m := Metrics{N: len(gold)}
	if m.N > 0 {
		m.Accuracy = float64(correct) / float64(m.N)
	}
	m.MacroF1 = macroF1(tp, fp, fn)
	return m
}

func macroF1(tp, fp, fn []int) float64 {
	var sum float64
	n := 0
	for c := range tp {
		if tp[c]+fp[c]+fn[c] == 0 {
			continue
		}
		sum += 2 * float64(tp[c]) / float64(2*tp[c]+fp[c]+fn[c])
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
