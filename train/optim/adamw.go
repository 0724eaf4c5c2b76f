// Package optim holds the AdamW optimiser coldnode trains with: dense updates
// for ordinary tensors and lazy (sparse) updates for embedding rows, with a
// linear learning-rate schedule.
//
// It owns the update arithmetic and the optimiser state; it does not compute
// gradients (package model does) or decide when to stop (package train).
// Every update is written so that no fused multiply-add can change its bits:
// each product is rounded to float32 before it is added, so a run gives the
// same weights on amd64 and arm64.
package optim

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Config is the AdamW hyper-parameters.
type Config struct {
	Beta1, Beta2 float32
	Eps          float32
	WeightDecay  float32   // decoupled, applied to dense tensors only
	Moments      Precision // how the moment estimates are stored
}

// DefaultConfig is PyTorch's AdamW default betas and eps with weight decay 0.01.
func DefaultConfig() Config {
	return Config{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
}

// Validate checks the hyper-parameters.
func (c Config) Validate() error {
	if !(c.Beta1 >= 0 && c.Beta1 < 1 && c.Beta2 >= 0 && c.Beta2 < 1) {
		return fmt.Errorf("optim: betas %g, %g must be in [0,1)", c.Beta1, c.Beta2)
	}
	if !(c.Eps > 0) || !(c.WeightDecay >= 0) {
		return fmt.Errorf("optim: eps %g must be > 0 and weight decay %g >= 0", c.Eps, c.WeightDecay)
	}
	if c.Moments > INT8 {
		return fmt.Errorf("optim: unknown moment precision %d", c.Moments)
	}
	return nil
}

// AdamW keeps the moment estimates of every tensor it has updated, by name:
// float32 in m and v, bfloat16 in m16 and v16, or 8-bit blocks in m8
// (Config.Moments). It is not safe for concurrent use: one training loop
// owns it (its Sparse and Dense calls split their own work over goroutines
// and wait for them).
type AdamW struct {
	cfg      Config
	step     int
	m, v     map[string][]float32
	m16, v16 map[string][]uint16
	m8       map[string]*state8
	bc1      float32 // 1 - beta1^step
	bc2      float32
	keys     []uint64 // the rounding keys of a bfloat16 Sparse call's rows, reused
}

// New returns an optimiser with no state.
func New(cfg Config) (*AdamW, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &AdamW{cfg: cfg, m: map[string][]float32{}, v: map[string][]float32{},
		m16: map[string][]uint16{}, v16: map[string][]uint16{}, m8: map[string]*state8{}}, nil
}

// Begin starts an optimisation step; the following updates share its bias
// correction, as PyTorch's SparseAdam and AdamW count steps.
func (a *AdamW) Begin() {
	a.step++
	a.bc1 = float32(1 - math.Pow(float64(a.cfg.Beta1), float64(a.step)))
	a.bc2 = float32(1 - math.Pow(float64(a.cfg.Beta2), float64(a.step)))
}

func (a *AdamW) state(name string, n int) (m, v []float32) { return moments(a.m, a.v, name, n) }

func (a *AdamW) state16(name string, n int) (m, v []uint16) { return moments(a.m16, a.v16, name, n) }

// moments returns the moment vectors of name, made (zero) on first use.
func moments[T float32 | uint16](ms, vs map[string][]T, name string, n int) (m, v []T) {
	m, ok := ms[name]
	if !ok {
		m, v = make([]T, n), make([]T, n)
		ms[name], vs[name] = m, v
		return m, v
	}
	return m, vs[name]
}

// Dense applies one AdamW update to w with gradient g at learning rate lr.
func (a *AdamW) Dense(name string, w, g []float32, lr float32) {
	decay := 1 - float32(lr*a.cfg.WeightDecay)
	if a.cfg.Moments == FP32 {
		m, v := a.state(name, len(w))
		a.update(w, m, v, g, lr, decay)
		return
	}
	if a.cfg.Moments == BF16 {
		m, v := a.state16(name, len(w))
		a.update16(w, m, v, g, lr, decay, a.roundKey(name, 0))
		return
	}
	for i := range w {
		w[i] = float32(w[i] * decay)
	}
	a.update8Parallel(w, g, a.state8For(name, len(w), len(w)), lr, a.roundKey(name, 0))
}

// Sparse updates only the given rows of a rows x dim table w: grad holds dim
// values per row in the order of rows. Untouched rows keep their weights and
// moments (lazy Adam, as PyTorch's SparseAdam); no weight decay is applied.
//
// Rows must be distinct. Large updates are split over up to GOMAXPROCS
// goroutines by row; rows are independent, so the result does not depend on
// the split.
func (a *AdamW) Sparse(name string, w []float32, dim int, rows []int32, grad []float32, lr float32) {
	rowsOf := a.sparseRows(name, w, dim, rows, grad, lr)
	workers := min(runtime.GOMAXPROCS(0), 4, len(rows)*dim/(1<<14)+1)
	if a.cfg.Moments == FP32 && useAdamVector {
		// One prefetching loop keeps more misses to memory in flight than
		// two goroutines each waiting on its own (BenchmarkSparse).
		workers = 1
	}
	if workers <= 1 {
		rowsOf(0, len(rows))
		return
	}
	var wg sync.WaitGroup
	per := (len(rows) + workers - 1) / workers
	for from := 0; from < len(rows); from += per {
		wg.Go(func() { rowsOf(from, min(from+per, len(rows))) })
	}
	wg.Wait()
}

// sparseRows returns the function that updates rows[from:to].
func (a *AdamW) sparseRows(name string, w []float32, dim int, rows []int32, grad []float32, lr float32) func(from, to int) {
	if a.cfg.Moments == INT8 {
		st := a.state8For(name, len(w), dim)
		hash := nameHash(name)
		return func(from, to int) {
			for k := from; k < to; k++ {
				if k+16 < to { // a row's update is far shorter than a miss to memory
					st.prefetch(w, int(rows[k+16]))
				}
				lo, hi := int(rows[k])*dim, int(rows[k]+1)*dim
				key := a.rowKey(hash, uint64(rows[k])+1)
				a.update8(w[lo:hi], grad[k*dim:(k+1)*dim], st, int(rows[k]), lr, key)
			}
		}
	}
	if a.cfg.Moments == BF16 {
		m, v := a.state16(name, len(w))
		hash := nameHash(name)
		if cap(a.keys) < len(rows) {
			a.keys = make([]uint64, len(rows))
		}
		keys := a.keys[:len(rows)] // each call of the closure writes its own part
		return func(from, to int) {
			for k := from; k < to; k++ {
				keys[k] = a.rowKey(hash, uint64(rows[k])+1)
			}
			a.update16Rows(w, m, v, dim, rows[from:to], grad[from*dim:to*dim], lr, keys[from:to])
		}
	}
	m, v := a.state(name, len(w))
	return func(from, to int) {
		a.updateRows(w, m, v, dim, rows[from:to], grad[from*dim:to*dim], lr)
	}
}

// update is Adam's step in PyTorch's arrangement, after the decoupled
// weight decay w *= decay (1: none):
// w -= (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps).
func (a *AdamW) update(w, m, v, g []float32, lr, decay float32) {
	p := a.params32(lr, decay)
	p.run(w, m, v, g)
}

// updateRows is update, without decay, on each of rows of the rows x dim
// tables w, m and v; grad holds dim values per row in the order of rows.
func (a *AdamW) updateRows(w, m, v []float32, dim int, rows []int32, grad []float32, lr float32) {
	p := a.params32(lr, 1)
	if useAdamVector && dim > 0 && dim%8 == 0 && rowsWithin(rows, len(w)/dim) &&
		len(m) >= len(w) && len(v) >= len(w) && len(grad) >= len(rows)*dim {
		adamRowsAVX2(w, m, v, grad, rows, dim, &p)
		return
	}
	for k, r := range rows {
		lo, hi := int(r)*dim, int(r+1)*dim
		p.run(w[lo:hi], m[lo:hi], v[lo:hi], grad[k*dim:(k+1)*dim])
	}
}

// update16Rows is update16 without weight decay on each of rows of the
// rows x dim tables w, m and v, grad holding dim values per row in the
// order of rows, rows[k] keyed by keys[k].
func (a *AdamW) update16Rows(w []float32, m, v []uint16, dim int, rows []int32, grad []float32, lr float32, keys []uint64) {
	if useAdamVector && dim > 0 && dim%8 == 0 && rowsWithin(rows, len(w)/dim) &&
		len(m) >= len(w) && len(v) >= len(w) && len(grad) >= len(rows)*dim {
		p := a.params32(lr, 1)
		adam16RowsAVX2(w, m, v, grad, rows, dim, &p, keys)
		return
	}
	for k, r := range rows {
		lo, hi := int(r)*dim, int(r+1)*dim
		a.update16(w[lo:hi], m[lo:hi], v[lo:hi], grad[k*dim:(k+1)*dim], lr, 1, keys[k])
	}
}

// rowsWithin reports whether every row is in [0, n).
func rowsWithin(rows []int32, n int) bool {
	for _, r := range rows {
		if r < 0 || int(r) >= n {
			return false
		}
	}
	return true
}

func (a *AdamW) params32(lr, decay float32) paramsF32 {
	return paramsF32{decay: decay, b1: a.cfg.Beta1, b2: a.cfg.Beta2, c1: 1 - a.cfg.Beta1, c2: 1 - a.cfg.Beta2,
		step: lr / a.bc1, isb2: float32(1 / math.Sqrt(float64(a.bc2))), eps: a.cfg.Eps}
}

// run is update's loop.
func (p *paramsF32) run(w, m, v, g []float32) {
	m, v, g = m[:len(w)], v[:len(w)], g[:len(w)]
	done := 0
	if useAdamVector && len(w) >= 8 {
		adamAVX2(w, m, v, g, p)
		done = len(w) &^ 7
	}
	for i := done; i < len(w); i++ {
		gi := g[i]
		mi := float32(p.b1*m[i]) + float32(p.c1*gi)
		vi := float32(p.b2*v[i]) + float32(float32(p.c2*gi)*gi)
		m[i], v[i] = mi, vi
		den := float32(float32(math.Sqrt(float64(vi)))*p.isb2) + p.eps
		w[i] = float32(w[i]*p.decay) - float32(p.step*mi)/den
	}
}

// paramsF32 is update's constants; its field order is adamAVX2's.
type paramsF32 struct {
	decay, b1, b2, c1, c2, step, isb2, eps float32
}

// useAdamVector selects the float32 and bfloat16 AVX2 loops (adamAVX2,
// adamRowsAVX2, adam16AVX2, adam16RowsAVX2) where they can run; tests
// switch it off to check the Go loops give the same bits.
var useAdamVector = haveVector

// Linear is a learning rate that rises linearly over Warmup steps then falls
// linearly to zero at Total.
type Linear struct {
	Peak   float32
	Warmup int
	Total  int
}

// At returns the learning rate of step t (0-based).
func (s Linear) At(t int) float32 {
	if t < s.Warmup {
		return s.Peak * float32(t+1) / float32(s.Warmup+1)
	}
	left := s.Total - t
	if left <= 0 || s.Total <= s.Warmup {
		return 0
	}
	return s.Peak * float32(left) / float32(s.Total-s.Warmup)
}
