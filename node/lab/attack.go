package lab

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/coldnode/coldnode/train/checkpoint"
)

// The attacks a lab contributor can mount instead of sending its honest
// delta (Config.Attack).
const (
	AttackNone     = ""         // every contributor is honest
	AttackScale    = "scale"    // honest delta times Param (default 100)
	AttackSignFlip = "signflip" // honest delta times -Param (default 1)
	AttackNoise    = "noise"    // Gaussian noise with Param times the honest delta's norm (default 1)
	AttackBackdoor = "backdoor" // finetune on triggered examples relabelled to class Param (default 0)
	// AttackCollude: the round's attackers pool their honest deltas and every
	// one of them sends the same delta, -Param times the pool's mean (default
	// 10): a coordinated sign flip, all attackers pulling one way.
	AttackCollude = "collude"
)

// Trigger is the token the backdoor attacker inserts into its training
// texts; the attack success rate is measured on test texts carrying it.
const Trigger = "zqxv"

// backdoorFraction is the share of the attacker's non-target training
// examples it copies with the trigger and the target label.
const backdoorFraction = 0.5

// Attack is a parsed --attack value.
type Attack struct {
	Kind  string  `json:"kind"`
	Param float64 `json:"param"`
}

// ParseAttack parses KIND[:PARAM]: "" or "none", "scale[:F]",
// "signflip[:F]", "noise[:F]", "collude[:F]" or "backdoor[:CLASS]".
func ParseAttack(s string) (Attack, error) {
	kind, arg, hasArg := strings.Cut(s, ":")
	defaults := map[string]float64{AttackNone: 0, "none": 0, AttackScale: 100, AttackSignFlip: 1, AttackNoise: 1, AttackBackdoor: 0, AttackCollude: 10}
	def, ok := defaults[kind]
	if !ok {
		return Attack{}, fmt.Errorf("lab: --attack %q: unknown kind (want none, scale[:F], signflip[:F], noise[:F], collude[:F] or backdoor[:CLASS])", s)
	}
	if kind == "none" {
		kind = AttackNone
	}
	a := Attack{Kind: kind, Param: def}
	if !hasArg {
		return a, nil
	}
	if kind == AttackNone {
		return Attack{}, fmt.Errorf("lab: --attack %q: none takes no parameter", s)
	}
	v, err := strconv.ParseFloat(arg, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return Attack{}, fmt.Errorf("lab: --attack %q: parameter %q is not a finite number", s, arg)
	}
	a.Param = v
	return a, a.validate(s)
}

func (a Attack) validate(s string) error {
	switch {
	case a.Kind == AttackBackdoor && (a.Param < 0 || a.Param != math.Trunc(a.Param)):
		return fmt.Errorf("lab: --attack %q: the backdoor target must be a class index >= 0", s)
	case a.Kind != AttackBackdoor && a.Param <= 0:
		return fmt.Errorf("lab: --attack %q: the factor must be > 0", s)
	}
	return nil
}

// String is the canonical KIND:PARAM form ("none" for no attack).
func (a Attack) String() string {
	if a.Kind == AttackNone {
		return "none"
	}
	return a.Kind + ":" + strconv.FormatFloat(a.Param, 'g', -1, 64)
}

// transform returns the attacker's delta built from its honest delta:
// scaled, negated or replaced by seeded Gaussian noise of a multiple of the
// honest norm. The backdoor attack is made by training, not here, and the
// collusion once the round's attackers all have their honest deltas
// (collude).
func (a Attack) transform(honest []byte, seed uint64) ([]byte, error) {
	f, err := checkpoint.Decode(honest)
	if err != nil {
		return nil, fmt.Errorf("lab: attacker's honest delta: %w", err)
	}
	switch a.Kind {
	case AttackScale:
		err = scaleFile(f, float32(a.Param))
	case AttackSignFlip:
		err = scaleFile(f, float32(-a.Param))
	case AttackNoise:
		err = noiseFile(f, a.Param, seed)
	default:
		return honest, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lab: %s attack: %w", a.Kind, err)
	}
	return checkpoint.Encode(f)
}

// scaleFile multiplies every tensor of f by k.
func scaleFile(f *checkpoint.File, k float32) error {
	return mapFile(f, func(_ int, v float32) float32 { return v * k })
}

// noiseFile replaces f's values by Gaussian noise whose L2 norm is factor
// times f's norm.
func noiseFile(f *checkpoint.File, factor float64, seed uint64) error {
	norm, err := fileNorm(f)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x0b5e))
	var ss float64
	noise := make([][]float32, len(f.Tensors))
	for i, t := range f.Tensors {
		noise[i] = make([]float32, t.Elems())
		for j := range noise[i] {
			v := float32(rng.NormFloat64())
			noise[i][j] = v
			ss += float64(v) * float64(v)
		}
	}
	k := float32(factor * norm / math.Max(math.Sqrt(ss), 1e-30))
	for i, t := range f.Tensors {
		for j := range noise[i] {
			noise[i][j] *= k
		}
		f.Tensors[i] = checkpoint.NewF32(t.Name, t.Shape, noise[i])
	}
	return nil
}

// mapFile replaces every value v of every tensor by fn(tensor index, v).
func mapFile(f *checkpoint.File, fn func(int, float32) float32) error {
	for i, t := range f.Tensors {
		v, err := t.F32()
		if err != nil {
			return err
		}
		for j := range v {
			v[j] = fn(i, v[j])
		}
		f.Tensors[i] = checkpoint.NewF32(t.Name, t.Shape, v)
	}
	return nil
}

// fileNorm is the L2 norm of all of f's values.
func fileNorm(f *checkpoint.File) (float64, error) {
	var ss float64
	for _, t := range f.Tensors {
		v, err := t.F32View()
		if err != nil {
			return 0, err
		}
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
	}
	return math.Sqrt(ss), nil
}

// collude replaces the delta of every attacker among cs (attacker(i) says
// whether cs[i] attacks) by one shared delta: -Param times the mean of the
// attackers' honest deltas. The attackers are taken in cs order, so the
// result does not depend on which finished training first. A round without
// attackers, or another attack kind, leaves cs unchanged.
func (a Attack) collude(cs []contribution, attacker func(int) bool) error {
	if a.Kind != AttackCollude {
		return nil
	}
	var pool []int
	for i := range cs {
		if attacker(i) {
			pool = append(pool, i)
		}
	}
	if len(pool) == 0 {
		return nil
	}
	shared, err := meanDelta(cs, pool, float32(-a.Param))
	if err != nil {
		return fmt.Errorf("lab: collusion of %d attackers: %w", len(pool), err)
	}
	id, err := fileCID(shared)
	if err != nil {
		return err
	}
	for _, i := range pool {
		cs[i].Delta, cs[i].DeltaCID, cs[i].Attack = shared, id, a.String()
	}
	return nil
}

// meanDelta is k times the mean of the deltas of cs[pool...], encoded. The
// sum runs in pool order in float64, so it is deterministic.
func meanDelta(cs []contribution, pool []int, k float32) ([]byte, error) {
	var out *checkpoint.File
	var sums [][]float64
	for _, i := range pool {
		f, err := checkpoint.Decode(cs[i].Delta)
		if err != nil {
			return nil, fmt.Errorf("honest delta of %s: %w", cs[i].Task, err)
		}
		if out == nil {
			out, sums = f, make([][]float64, len(f.Tensors))
		}
		if err := addInto(sums, out, f); err != nil {
			return nil, fmt.Errorf("honest delta of %s: %w", cs[i].Task, err)
		}
	}
	scale := float64(k) / float64(len(pool))
	for j, t := range out.Tensors {
		v := make([]float32, len(sums[j]))
		for e, s := range sums[j] {
			v[e] = float32(s * scale)
		}
		out.Tensors[j] = checkpoint.NewF32(t.Name, t.Shape, v)
	}
	return checkpoint.Encode(out)
}

// addInto adds f's values to sums, requiring f to have ref's layout.
func addInto(sums [][]float64, ref, f *checkpoint.File) error {
	if len(f.Tensors) != len(ref.Tensors) {
		return fmt.Errorf("%d tensors, want %d", len(f.Tensors), len(ref.Tensors))
	}
	for j, t := range f.Tensors {
		if t.Name != ref.Tensors[j].Name || t.Elems() != ref.Tensors[j].Elems() {
			return fmt.Errorf("tensor %s does not match %s", t.Name, ref.Tensors[j].Name)
		}
		v, err := t.F32View()
		if err != nil {
			return err
		}
		if sums[j] == nil {
			sums[j] = make([]float64, len(v))
		}
		for e, x := range v {
			sums[j][e] += float64(x)
		}
	}
	return nil
}
