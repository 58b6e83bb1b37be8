package train

import (
	"fmt"

	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/nn"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Trainer is one model's training step, compiled once per batch shape:
// forward, loss, backward and the SGD-momentum update in a single graph
// whose variables (weights, velocities, batch-norm statistics) model.Exec
// donates to the step and replaces with its outputs, so no weight is copied
// between steps. Fit drives it; the benchmark times it; custom loops (DD
// baselines, notebooks) may call Step themselves.
type Trainer struct {
	Model   *Model
	backend compute.Backend
	exec    *model.Exec
	cfg     Config
	lr      float64 // the rate of the latest step (0: none yet)
}

// NewTrainer returns a Trainer for a freshly initialised net (weights drawn
// from cfg.Seed). The cosine schedule needs the number of steps per epoch,
// which only Fit knows, so it is refused here.
func NewTrainer(backend compute.Backend, net *models.Net, cfg Config) (*Trainer, error) {
	if cfg.Schedule == ScheduleCosine {
		return nil, fmt.Errorf("train: NewTrainer: the cosine schedule spans a run's steps: train with Fit")
	}
	cfg = cfg.withDefaults(net.Config.NumClasses)
	if err := cfg.validate(net.Config.NumClasses); err != nil {
		return nil, err
	}
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(cfg.Seed); err != nil {
		return nil, fmt.Errorf("train: seeding: %w", err)
	}
	return newTrainer(backend, net, store, cfg, 0)
}

// newTrainer builds the step; stepsPerEpoch is what the cosine schedule
// spans (unused by the step schedule).
func newTrainer(backend compute.Backend, net *models.Net, store *model.Store, cfg Config, stepsPerEpoch int) (*Trainer, error) {
	var rngVar *model.Variable
	if net.NeedsRNG {
		rngVar = store.RootScope().In(modelScope).VariableWithValue(models.RNGParam, mustRNG(cfg.Seed)).SetTrainable(false)
	}
	var opt any
	err := exceptions.TryCatch[error](func() {
		opt = nn.SGDMomentum(nn.SGDConfig{LearningRate: cfg.LR, Momentum: cfg.Momentum, NoMomentum: cfg.Momentum == 0,
			WeightDecay: cfg.WeightDecay, Nesterov: cfg.Nesterov})
	})
	if err != nil {
		return nil, fmt.Errorf("train: optimizer: %w", err)
	}
	sgd := opt.(interface {
		UpdateGraph(*model.Scope, *graph.Graph, *graph.Node)
	})
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x, y, w *graph.Node) (*graph.Node, *graph.Node, *graph.Node) {
		g := x.Graph()
		scope.SetTraining(g, true) // keeps the variables parameters: see nn.SGDMomentum
		p, vars := bindVariables(scope.In(modelScope), g, net.Specs)
		if rngVar != nil {
			p[models.RNGParam] = rngVar.NodeValue(g)
		}
		out := net.Apply(p, x, true)
		for name, u := range out.Updates {
			if name == models.RNGParam {
				rngVar.SetNodeValue(u)
				continue
			}
			vars[name].SetNodeValue(u)
		}
		loss, correct := lossAndCorrect(out.Logits, y, w, net.Config.NumClasses, cfg.LabelSmoothing)
		if cfg.Schedule == ScheduleCosine {
			cfg.cosineGraph(scope, g, stepsPerEpoch)
		}
		sgd.UpdateGraph(scope, g, loss)
		lr := optimizer.LearningRateVar(scope, dtypes.Float32, cfg.LR).NodeValue(g)
		return loss, correct, lr
	})
	if err != nil {
		return nil, fmt.Errorf("train: building training step: %w", err)
	}
	m := &Model{Net: net, Meta: *newMeta(net, cfg, 0), Labels: cfg.Labels, Store: store, backend: backend}
	return &Trainer{Model: m, backend: backend, exec: exec, cfg: cfg}, nil
}

// SetLR sets the learning rate used by the following steps (under the
// cosine schedule the step graph sets its own).
func (t *Trainer) SetLR(lr float64) error {
	return nn.SetLearningRate(t.Model.Store.RootScope(), dtypes.Float32, lr)
}

// Step runs one SGD step on a batch: x holds len(y) images (NHWC, the
// model's input size), y their class indices (into the label order), w
// their loss weights (nil: all 1). It returns the batch's mean loss and
// number of correct arg-max predictions (before the update).
func (t *Trainer) Step(x []float32, y []int32, w []float32) (loss, correct float64, err error) {
	c := t.Model.Net.Config
	n := len(y)
	if len(x) != n*c.Height*c.Width*c.Channels {
		return 0, 0, fmt.Errorf("train: Step: %d values for %d images of %dx%dx%d", len(x), n, c.Height, c.Width, c.Channels)
	}
	if w == nil {
		w = make([]float32, n)
		for i := range w {
			w[i] = 1
		}
	}
	xt := tensors.FromShape(shapes.Make(dtypes.Float32, n, c.Height, c.Width, c.Channels))
	tensors.MustMutableFlatData(xt, func(flat []float32) { copy(flat, x) })
	yt := tensors.FromFlatDataAndDimensions(y, n)
	wt := tensors.FromFlatDataAndDimensions(w, n)
	args := make([]any, 3)
	for i, tt := range []*tensors.Tensor{xt, yt, wt} {
		if args[i], err = graph.DonateTensorBuffer(tt, t.backend, 0); err != nil {
			return 0, 0, err
		}
	}
	outs, err := t.exec.Exec(args...)
	t.Model.WeightsChanged() // also on error: the donated weights may be gone
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		for _, o := range outs {
			o.FinalizeAll()
		}
	}()
	err = exceptions.TryCatch[error](func() {
		loss = float64(tensors.ToScalar[float32](outs[0]))
		correct = float64(tensors.ToScalar[float32](outs[1]))
		t.lr = float64(tensors.ToScalar[float32](outs[2]))
	})
	return loss, correct, err
}

// LR returns the learning rate the latest Step trained with, or before any
// step the one stored for the next (what SetLR or a checkpoint left).
func (t *Trainer) LR() float64 {
	if t.lr > 0 {
		return t.lr
	}
	v := t.Model.Store.GetVariable("/" + model.JoinPath(optimizer.Scope, optimizer.ParamLearningRate))
	if v == nil {
		return t.cfg.LR
	}
	var lr float64
	if err := exceptions.TryCatch[error](func() { lr = float64(tensors.ToScalar[float32](v.MustValue())) }); err != nil {
		return t.cfg.LR
	}
	return lr
}

// Finalize releases the compiled step.
func (t *Trainer) Finalize() { t.exec.Finalize() }
