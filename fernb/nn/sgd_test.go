package nn

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// The test problem: L = sum(a*w1²)/2 + sum(w2³)/3, so dL/dw1 = a*w1 and
// dL/dw2 = w2²: gradients change with the weights, which exposes any error in
// the order of the momentum, decay and Nesterov terms.
var (
	sgdA  = []float64{1, 0.5, 2}
	sgdW1 = []float64{1, 2, -3}
	sgdW2 = []float64{0.5, -1, 1.5, 0.25}
)

func sgdStepFn(opt optimizer.Interface) func(scope *model.Scope, g *graph.Graph) []*graph.Node {
	return func(scope *model.Scope, g *graph.Graph) []*graph.Node {
		scope.SetTraining(g, true)
		w1 := scope.In("layer1").VariableWithValue("w", sgdW1).NodeValue(g)
		w2 := scope.In("layer2").VariableWithValue("w", [][]float64{sgdW2[:2], sgdW2[2:]}).NodeValue(g)
		loss := graph.Add(
			graph.DivScalar(graph.ReduceAllSum(graph.Mul(graph.Const(g, sgdA), graph.Square(w1))), 2),
			graph.DivScalar(graph.ReduceAllSum(graph.Mul(w2, graph.Square(w2))), 3))
		opt.UpdateGraph(scope, g, loss)
		return []*graph.Node{loss}
	}
}

// refSGD is PyTorch's SGD step on the test problem, computed by hand.
type refSGD struct {
	w, v     []float64 // w1 then w2, flattened
	lr, mu   float64
	wd       float64
	nesterov bool
}

func (r *refSGD) step(lrFactor float64) {
	for i := range r.w {
		var g float64
		if i < 3 {
			g = sgdA[i] * r.w[i]
		} else {
			g = r.w[i] * r.w[i]
		}
		g += r.wd * r.w[i]
		r.v[i] = r.mu*r.v[i] + g
		upd := r.v[i]
		if r.nesterov {
			upd = g + r.mu*r.v[i]
		}
		r.w[i] -= r.lr * lrFactor * upd
	}
}

func readWeights(t *testing.T, store *model.Store) []float64 {
	t.Helper()
	var w []float64
	for _, p := range []string{"/layer1/w", "/layer2/w"} {
		v := store.GetVariable(p)
		if v == nil {
			t.Fatalf("variable %s missing", p)
		}
		w = append(w, tensors.MustCopyFlatData[float64](v.MustValue())...)
	}
	return w
}

func TestSGDMomentumMatchesHandComputedSteps(t *testing.T) {
	b := goBackend(t)
	cases := []struct {
		name string
		cfg  SGDConfig
		// lrFactor per step (1-based) for the in-graph schedule.
		factor func(step int) float64
	}{
		{"momentum", SGDConfig{LearningRate: 0.1}, nil},
		{"nesterov+wd", SGDConfig{LearningRate: 0.05, Momentum: 0.8, WeightDecay: 0.01, Nesterov: true}, nil},
		{"plain", SGDConfig{LearningRate: 0.1, NoMomentum: true}, nil},
		{"schedule", SGDConfig{LearningRate: 0.1, Schedule: StepSchedule{Every: 2, Gamma: 0.5}, StepsPerEpoch: 1},
			func(step int) float64 { return math.Pow(0.5, float64((step-1)/2)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := model.NewStore()
			exec := model.MustNewExec(b, store, sgdStepFn(SGDMomentum(c.cfg)))
			ref := &refSGD{w: append(append([]float64{}, sgdW1...), sgdW2...), v: make([]float64, 7),
				lr: c.cfg.LearningRate, mu: c.cfg.momentum(), wd: c.cfg.WeightDecay, nesterov: c.cfg.Nesterov}
			for step := 1; step <= 5; step++ {
				exec.MustCall()
				f := 1.0
				if c.factor != nil {
					f = c.factor(step)
				}
				ref.step(f)
				checkClose(t, "weights after step", readWeights(t, store), ref.w, 1e-14)
			}
			if got := optimizer.GetGlobalStep(store); got != 5 {
				t.Errorf("global step %d, want 5", got)
			}
			if c.cfg.momentum() > 0 {
				v := store.GetVariable("/optimizers/sgd_momentum/layer1/w_velocity")
				if v == nil {
					t.Fatalf("velocity slot not in the store")
				}
				if v.Trainable {
					t.Errorf("velocity slot is trainable")
				}
				checkClose(t, "velocity", tensors.MustCopyFlatData[float64](v.MustValue()), ref.v[:3], 1e-14)
			}
		})
	}
}

// TestSGDMomentumCheckpointResume saves after 2 steps, then checks that 3 more
// steps from the restored checkpoint equal 3 more steps of the original run:
// weights, velocities, global step and the in-graph schedule all round-trip.
func TestSGDMomentumCheckpointResume(t *testing.T) {
	b := goBackend(t)
	cfg := SGDConfig{LearningRate: 0.1, Nesterov: true, WeightDecay: 1e-3,
		Schedule: StepSchedule{Every: 3}, StepsPerEpoch: 1}
	dir := t.TempDir()

	store := model.NewStore()
	h, err := checkpoint.Build(store).Dir(dir).Done()
	if err != nil {
		t.Fatal(err)
	}
	exec := model.MustNewExec(b, store, sgdStepFn(SGDMomentum(cfg)))
	for range 2 {
		exec.MustCall()
	}
	if err := h.Save(); err != nil {
		t.Fatalf("saving checkpoint: %v", err)
	}
	for range 3 {
		exec.MustCall()
	}
	want := readWeights(t, store)
	wantVel := tensors.MustCopyFlatData[float64](store.GetVariable("/optimizers/sgd_momentum/layer2/w_velocity").MustValue())

	restored := model.NewStore()
	if _, err := checkpoint.Load(restored).Dir(dir).Immediate().Done(); err != nil {
		t.Fatalf("loading checkpoint: %v", err)
	}
	if got := optimizer.GetGlobalStep(restored); got != 2 {
		t.Fatalf("restored global step %d, want 2", got)
	}
	exec2 := model.MustNewExec(b, restored, sgdStepFn(SGDMomentum(cfg)))
	for range 3 {
		exec2.MustCall()
	}
	checkClose(t, "resumed weights", readWeights(t, restored), want, 0)
	gotVel := tensors.MustCopyFlatData[float64](restored.GetVariable("/optimizers/sgd_momentum/layer2/w_velocity").MustValue())
	checkClose(t, "resumed velocity", gotVel, wantVel, 0)

	// A fresh run without the checkpoint must differ (the check can fail).
	fresh := model.NewStore()
	exec3 := model.MustNewExec(b, fresh, sgdStepFn(SGDMomentum(cfg)))
	for range 3 {
		exec3.MustCall()
	}
	if maxRelErr(readWeights(t, fresh), want) < 1e-6 {
		t.Errorf("3 steps from scratch equal 3 steps after resuming: the test cannot tell them apart")
	}
}

func TestStepSchedule(t *testing.T) {
	s := StepSchedule{Every: 10}
	for _, c := range []struct {
		epoch int
		want  float64
	}{{0, 1}, {9, 1}, {10, 0.1}, {19, 0.1}, {20, 0.01}, {35, 0.001}} {
		if got := s.LR(1, c.epoch); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("epoch %d: lr %g, want %g", c.epoch, got, c.want)
		}
	}
	if got := (StepSchedule{}).LR(0.5, 100); got != 0.5 {
		t.Errorf("zero schedule: lr %g, want constant 0.5", got)
	}
	if err := (StepSchedule{Every: -1}).Validate(); err == nil {
		t.Errorf("negative period accepted")
	}
	if err := (SGDConfig{LearningRate: 0.1, Momentum: 1.5}).Validate(); err == nil {
		t.Errorf("momentum 1.5 accepted")
	}
	if err := (SGDConfig{}).Validate(); err == nil {
		t.Errorf("zero learning rate accepted")
	}
}

func TestSetLearningRate(t *testing.T) {
	b := goBackend(t)
	store := model.NewStore()
	exec := model.MustNewExec(b, store, sgdStepFn(SGDMomentum(SGDConfig{LearningRate: 0.1, NoMomentum: true})))
	exec.MustCall()
	w1 := readWeights(t, store)
	if err := SetLearningRate(store.RootScope(), dtypes.Float64, 0.01); err != nil {
		t.Fatal(err)
	}
	exec.MustCall()
	w2 := readWeights(t, store)
	// Plain SGD: w2 = w1 - 0.01*grad(w1).
	for i := range 3 {
		want := w1[i] - 0.01*sgdA[i]*w1[i]
		if math.Abs(w2[i]-want) > 1e-14 {
			t.Fatalf("after SetLearningRate(0.01): w[%d]=%g, want %g", i, w2[i], want)
		}
	}
}

func TestBindVariables(t *testing.T) {
	b := goBackend(t)
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(3); err != nil {
		t.Fatal(err)
	}
	var vars map[string]*model.Variable
	out := model.MustExecOnceN(b, store, func(scope *model.Scope, g *graph.Graph) []*graph.Node {
		var p Params
		net := scope.In("net")
		p, vars = BindVariables(net, g, tinyNetSpecs[:3], dtypes.Float32)
		bn := ParamSpec{Name: "bn/mean", Shape: []int{4}, Init: Zeros}
		_, v2 := BindVariables(net, g, []ParamSpec{bn}, dtypes.Float32)
		vars["bn/mean"] = v2["bn/mean"]
		// Outputs are computed from the parameters, never the parameter
		// nodes themselves: GoMLX v0.28.2 model.Exec on the Go backend
		// fails ("index out of range") when an output is a variable's raw
		// parameter node while another bound variable is unused.
		return []*graph.Node{graph.MulScalar(p["conv/kernel"], 2), graph.MulScalar(p["bn/gamma"], 2)}
	})
	if v := store.GetVariable("/net/conv/kernel"); v == nil || !v.Trainable || v.Shape().Dimensions[3] != 4 {
		t.Fatalf("/net/conv/kernel not created as a trainable [3,3,1,4] variable: %v", v)
	}
	if !vars["bn/gamma"].Trainable || vars["bn/mean"].Trainable {
		t.Errorf("trainable flags not taken from the specs")
	}
	if out[0].Shape().DType != dtypes.Float32 {
		t.Errorf("dtype %s, want float32", out[0].Shape().DType)
	}
	k := tensors.MustCopyFlatData[float32](out[0])
	nonZero := 0
	for _, v := range k {
		if v != 0 {
			nonZero++
		}
	}
	if nonZero != len(k) {
		t.Errorf("HeNormal kernel has %d zeros", len(k)-nonZero)
	}
	for _, v := range tensors.MustCopyFlatData[float32](out[1]) {
		if v != 2 {
			t.Fatalf("2*gamma (Ones) = %g", v)
		}
	}
}

// TestSGDRefusesNonTrainingGraph checks that a step graph not marked as
// training fails loudly: on a backend that prefers constants its variables
// would be compiled in and every update silently lost.
func TestSGDRefusesNonTrainingGraph(t *testing.T) {
	b := goBackend(t)
	store := model.NewStore()
	opt := SGDMomentum(SGDConfig{LearningRate: 0.1})
	exec := model.MustNewExec(b, store, func(scope *model.Scope, g *graph.Graph) *graph.Node {
		w := scope.In("layer1").VariableWithValue("w", sgdW1).NodeValue(g)
		loss := graph.ReduceAllSum(graph.Square(w))
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	_, err := exec.Exec()
	if err == nil || !strings.Contains(err.Error(), "not marked as training") {
		t.Fatalf("step graph without SetTraining: err = %v, want one saying it is not marked as training", err)
	}
}
