package model

import (
	"fmt"
	"reflect"
	"runtime"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// graph is one compiled gorgonia program over a fixed batch size: the part of
// the model gorgonia differentiates. Its parameter nodes are bound to the
// Weights' slices, so updates in place are seen by the next run; its input
// tensors are filled in place before each run. Nothing is rebuilt per step,
// and, once the first run has allocated them, every run writes into the same
// value buffers (see rewind): a step allocates almost nothing.
type graph struct {
	g      *G.ExprGraph
	x      *G.Node // input: pooled embeddings (bag), features (mlp), token vectors (encoder)
	xT     *tensor.Dense
	y      *G.Node // training only: one-hot targets scaled by 1/(real batch)
	yT     *tensor.Dense
	aux    []*tensor.Dense // extra inputs the builder declares (encoder mask)
	logits *G.Node
	loss   *G.Node
	params []*G.Node // in Specs order, those the graph uses
	names  []string
	wrt    []*G.Node // nodes whose gradients are read: trained params, then x if wanted
	grads  []*G.Node // the gradient node of each wrt node
	vm     G.VM
	pc     *int // the tape machine's program counter; nil: rewind with Reset
}

// builder adds the model's computation from g.x to logits.
type builder func(b *graphBuilder) (*G.Node, error)

type graphBuilder struct {
	*graph
	w     *Weights
	batch int
}

// param returns the node for a named tensor, bound to the live slice. Vectors
// become 1 x n matrices so they broadcast over rows.
func (b *graphBuilder) param(name string) *G.Node {
	v := b.w.Get(name)
	shape := b.shapeOf(name)
	if len(shape) == 1 {
		shape = []int{1, shape[0]}
	}
	t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
	n := G.NodeFromAny(b.g, t, G.WithName(name))
	b.params = append(b.params, n)
	b.names = append(b.names, name)
	return n
}

func (b *graphBuilder) shapeOf(name string) []int {
	for _, s := range b.w.specs {
		if s.Name == name {
			return s.Shape
		}
	}
	panic(fmt.Sprintf("model: no tensor %q in config", name)) // builders only name their config's tensors
}

// input declares a float32 input tensor of the given shape.
func (b *graphBuilder) input(name string, shape ...int) (*G.Node, *tensor.Dense) {
	t := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
	return G.NodeFromAny(b.g, t, G.WithName(name)), t
}

// newGraph compiles a graph with an input of xShape. With train it adds the
// cross-entropy loss and its gradient with respect to the params for which
// trainable is true, and to x when xGrad is set.
func newGraph(w *Weights, batch int, xShape []int, build builder, train bool, trainable func(string) bool, xGrad bool) (*graph, error) {
	b := &graphBuilder{graph: &graph{g: G.NewGraph()}, w: w, batch: batch}
	b.x, b.xT = b.input("x", xShape...)
	logits, err := build(b)
	if err != nil {
		return nil, fmt.Errorf("model: build graph: %w", err)
	}
	b.logits = logits
	if train {
		if err := b.addLoss(trainable, xGrad); err != nil {
			return nil, fmt.Errorf("model: build loss: %w", err)
		}
	}
	b.vm = G.NewTapeMachine(b.g)
	b.pc = programCounter(b.vm)
	return b.graph, nil
}

func (b *graphBuilder) addLoss(trainable func(string) bool, xGrad bool) error {
	classes := b.w.Config.Classes
	b.y, b.yT = b.input("y", b.batch, classes)
	logp, err := softmax(b.logits, true)
	if err != nil {
		return err
	}
	prod, err := G.HadamardProd(b.y, logp)
	if err != nil {
		return err
	}
	sum, err := G.Sum(prod)
	if err != nil {
		return err
	}
	if b.loss, err = G.Neg(sum); err != nil {
		return err
	}
	for i, n := range b.params {
		if trainable(b.names[i]) {
			b.wrt = append(b.wrt, n)
		}
	}
	if xGrad {
		b.wrt = append(b.wrt, b.x)
	}
	b.grads, err = G.Grad(b.loss, b.wrt...)
	if err == nil && len(b.grads) != len(b.wrt) {
		err = fmt.Errorf("%d gradient nodes for %d tensors", len(b.grads), len(b.wrt))
	}
	return err
}

// grad returns the gradient of wrt node i from the last run. It is the value
// of the gradient node itself, which gorgonia keeps live to the end of the
// program (it is the derivative of an input); the machine binds no dual
// values, which would hold a second copy of every gradient and add into it.
func (g *graph) grad(i int) ([]float32, error) {
	v := g.grads[i].Value()
	if v == nil {
		return nil, fmt.Errorf("model: no gradient of %s", g.wrt[i].Name())
	}
	d, ok := v.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("model: gradient of %s is %T, want []float32", g.wrt[i].Name(), v.Data())
	}
	return d, nil
}

// run executes the program once.
func (g *graph) run() error {
	g.rewind()
	return g.vm.RunAll()
}

// close releases the program. The tape machine carries a finalizer (a no-op
// without CUDA) which would keep it, the graph and every value bound to its
// nodes reachable through one more collection; clearing it lets the next
// collection free them all.
func (g *graph) close() {
	g.vm.Close()
	if g.pc != nil { // the VM is gorgonia's *tapeMachine
		runtime.SetFinalizer(g.vm, nil)
	}
}

// rewind readies the machine for the next run. The tape machine's Reset also
// drops every register, so each run would allocate all of its values again
// (for a dense model, a gradient-sized buffer per weight per step, and the
// collector's slack on top); setting only the program counter back keeps
// them, and every instruction then writes into its register's buffer.
func (g *graph) rewind() {
	if g.pc == nil {
		g.vm.Reset()
		return
	}
	*g.pc = 0
}

// programCounter returns the address of the tape machine's unexported
// program counter (gorgonia v0.9.18: tapeMachine.pc int), or nil when the
// VM has no such field, in which case runs fall back to Reset.
func programCounter(vm G.VM) *int {
	v := reflect.ValueOf(vm)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("pc")
	if !f.IsValid() || f.Kind() != reflect.Int {
		return nil
	}
	return (*int)(unsafe.Pointer(f.UnsafeAddr()))
}

// linear returns x·W + b for the named layer.
func (b *graphBuilder) linear(x *G.Node, prefix string) (*G.Node, error) {
	xw, err := G.Mul(x, b.param(prefix+".weight"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	return G.BroadcastAdd(xw, b.param(prefix+".bias"), nil, []byte{0})
}

// mlpHead builds the ReLU layers body.mlp.* then the head.
func mlpHead(b *graphBuilder) (*G.Node, error) {
	h := b.x
	for i := 0; i < b.w.Config.Layers; i++ {
		z, err := b.linear(h, fmt.Sprintf("body.mlp.%d", i))
		if err != nil {
			return nil, err
		}
		if h, err = G.Rectify(z); err != nil {
			return nil, err
		}
	}
	return b.linear(h, "head")
}
