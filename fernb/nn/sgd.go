package nn

import (
	"fmt"
	"math"
	"path"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// DefaultMomentum is the momentum SGDMomentum uses when SGDConfig.Momentum is 0.
const DefaultMomentum = 0.9

// SGDConfig configures SGDMomentum. The update is PyTorch's SGD:
//
//	g = grad + WeightDecay*w
//	v = Momentum*v + g
//	step = g + Momentum*v  (Nesterov)   or   v  (classic)
//	w = w - lr*step
type SGDConfig struct {
	// LearningRate is the base learning rate (required, > 0). It is stored in
	// the scope variable optimizers/learning_rate on first use; a run resumed
	// from a checkpoint keeps the stored value.
	LearningRate float64
	// Momentum; 0 means DefaultMomentum (0.9). Set NoMomentum for plain SGD.
	Momentum   float64
	NoMomentum bool
	// WeightDecay is the L2 coefficient added to the gradient (0: none).
	WeightDecay float64
	Nesterov    bool
	// Schedule, with StepsPerEpoch > 0, scales the learning rate in-graph by
	// Schedule.Factor(epoch), the epoch being derived from the global step, so
	// a resumed run continues on the same schedule. Leave StepsPerEpoch 0 to
	// drive the rate from Go instead (SetLearningRate each epoch).
	Schedule      StepSchedule
	StepsPerEpoch int
}

// momentum resolves the configured momentum.
func (c SGDConfig) momentum() float64 {
	if c.NoMomentum {
		return 0
	}
	if c.Momentum == 0 {
		return DefaultMomentum
	}
	return c.Momentum
}

// Validate reports an invalid configuration.
func (c SGDConfig) Validate() error {
	if !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0) {
		return fmt.Errorf("nn: SGD learning rate must be > 0, got %g", c.LearningRate)
	}
	if m := c.momentum(); m < 0 || m >= 1 {
		return fmt.Errorf("nn: SGD momentum must be in [0,1), got %g", m)
	}
	if c.WeightDecay < 0 {
		return fmt.Errorf("nn: SGD weight decay must be >= 0, got %g", c.WeightDecay)
	}
	if c.Nesterov && c.momentum() == 0 {
		return fmt.Errorf("nn: Nesterov SGD needs a momentum > 0")
	}
	if c.StepsPerEpoch < 0 {
		return fmt.Errorf("nn: StepsPerEpoch must be >= 0, got %d", c.StepsPerEpoch)
	}
	return c.Schedule.Validate()
}

// StepSchedule multiplies the learning rate by Gamma every Every epochs:
// lr(epoch) = lr * Gamma^floor(epoch/Every), epochs counted from 0. The zero
// value is a constant rate. Gamma 0 means 0.1.
type StepSchedule struct {
	Every int
	Gamma float64
}

// DefaultGamma is StepSchedule's decay when Gamma is 0.
const DefaultGamma = 0.1

func (s StepSchedule) gamma() float64 {
	if s.Gamma == 0 {
		return DefaultGamma
	}
	return s.Gamma
}

// Validate reports an invalid schedule.
func (s StepSchedule) Validate() error {
	if s.Every < 0 {
		return fmt.Errorf("nn: step schedule period must be >= 0 epochs, got %d", s.Every)
	}
	if g := s.gamma(); !(g > 0) || math.IsInf(g, 0) {
		return fmt.Errorf("nn: step schedule gamma must be > 0, got %g", g)
	}
	return nil
}

// Factor is the multiplier of the base rate at epoch (0-based).
func (s StepSchedule) Factor(epoch int) float64 {
	if s.Every <= 0 || epoch < 0 {
		return 1
	}
	return math.Pow(s.gamma(), float64(epoch/s.Every))
}

// LR is base*Factor(epoch).
func (s StepSchedule) LR(base float64, epoch int) float64 { return base * s.Factor(epoch) }

// sgdScopeName is the sub-scope of optimizer.Scope holding the velocities.
const sgdScopeName = "sgd_momentum"

type sgdMomentum struct {
	cfg SGDConfig
}

// SGDMomentum returns SGD with momentum as a GoMLX optimizer. Its velocity
// slots and learning rate are non-trainable variables of the scope's store
// (under /optimizers), so a checkpoint of the store resumes the run exactly.
// It panics with an error on an invalid configuration (see SGDConfig.Validate).
func SGDMomentum(cfg SGDConfig) optimizer.Interface {
	if err := cfg.Validate(); err != nil {
		exceptions.Panicf("nn.SGDMomentum: %v", err)
	}
	return &sgdMomentum{cfg: cfg}
}

// SetLearningRate sets the learning-rate variable SGDMomentum reads (creating it
// if needed), for callers that step the schedule from Go between epochs.
func SetLearningRate(scope *model.Scope, dtype dtypes.DType, lr float64) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("nn: learning rate must be > 0, got %g", lr)
	}
	t, err := tensors.FromAnyValue(shapes.CastAsDType(lr, dtype))
	if err != nil {
		return fmt.Errorf("nn: learning rate %g as %s: %w", lr, dtype, err)
	}
	v := optimizer.LearningRateVarWithValue(scope, dtype, lr)
	if err := v.SetValue(t); err != nil {
		return fmt.Errorf("nn: setting learning rate: %w", err)
	}
	return nil
}

// UpdateGraph implements optimizer.Interface.
func (o *sgdMomentum) UpdateGraph(scope *model.Scope, g *graph.Graph, loss *graph.Node) {
	if !loss.Shape().IsScalar() {
		exceptions.Panicf("nn.SGDMomentum: loss must be a scalar, got %s", loss.Shape())
	}
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	o.UpdateGraphWithGradients(scope, grads, loss.DType())
}

// UpdateGraphWithGradients applies the update given the gradients of the
// trainable variables in use by the graph, in scope.IterVariables order (the
// contract of train.OptimizerWithGradients).
func (o *sgdMomentum) UpdateGraphWithGradients(scope *model.Scope, grads []*graph.Node, lossDType dtypes.DType) {
	if len(grads) == 0 {
		exceptions.Panicf("nn.SGDMomentum: no gradients: are there trainable variables in use by the graph?")
	}
	g := grads[0].Graph()
	if !scope.IsTraining(g) {
		// A backend that prefers constants (the Go backend) embeds the
		// variables of a non-training graph as constants, so the update
		// below would be computed and then lost.
		exceptions.Panicf("nn.SGDMomentum: the step graph is not marked as training: call scope.SetTraining(g, true) before binding any variable")
	}
	lr := optimizer.LearningRateVar(scope, lossDType, o.cfg.LearningRate).NodeValue(g)
	step := optimizer.IncrementGlobalStep(g, dtypes.Int64)
	if o.cfg.StepsPerEpoch > 0 && o.cfg.Schedule.Every > 0 {
		// epoch = (step-1) / StepsPerEpoch, integer division (step starts at 1).
		epoch := graph.Div(graph.AddScalar(step, -1), graph.Scalar(g, dtypes.Int64, o.cfg.StepsPerEpoch))
		decays := graph.ConvertDType(graph.Div(epoch, graph.Scalar(g, dtypes.Int64, o.cfg.Schedule.Every)), lossDType)
		lr = graph.Mul(lr, graph.Pow(graph.Scalar(g, lossDType, o.cfg.Schedule.gamma()), decays))
	}
	mu := o.cfg.momentum()
	i := 0
	for v := range scope.IterVariables() {
		if !v.Trainable || !v.InUseByGraph(g) {
			continue
		}
		if i >= len(grads) {
			exceptions.Panicf("nn.SGDMomentum: more trainable variables in use than the %d gradients given", len(grads))
		}
		grad := grads[i]
		i++
		w := v.NodeValue(g)
		lrv := lr
		if lrv.DType() != w.DType() {
			lrv = graph.ConvertDType(lrv, w.DType())
		}
		if grad.DType() != w.DType() {
			grad = graph.ConvertDType(grad, w.DType())
		}
		optimizer.TraceNaNInGradients(scope, v, grad)
		grad = optimizer.ClipNaNsInGradients(scope, grad)
		if o.cfg.WeightDecay > 0 {
			grad = graph.Add(grad, graph.MulScalar(w, o.cfg.WeightDecay))
		}
		update := grad
		if mu > 0 {
			vel := o.velocity(scope, v)
			newVel := graph.Add(graph.MulScalar(vel.NodeValue(g), mu), grad)
			vel.SetNodeValue(newVel)
			if o.cfg.Nesterov {
				update = graph.Add(grad, graph.MulScalar(newVel, mu))
			} else {
				update = newVel
			}
		}
		delta := optimizer.ClipStepByValue(scope, graph.Mul(update, lrv))
		newW := optimizer.ClipNaNsInUpdates(scope, w, graph.Sub(w, delta))
		v.SetNodeValue(newW)
	}
	if i != len(grads) {
		exceptions.Panicf("nn.SGDMomentum: %d gradients for %d trainable variables in use", len(grads), i)
	}
}

// velocity returns the momentum slot of a trainable variable, created with
// zeros on first use under /optimizers/sgd_momentum/<variable scope>.
func (o *sgdMomentum) velocity(scope *model.Scope, v *model.Variable) *model.Variable {
	scopePath := path.Join("/", optimizer.Scope, sgdScopeName, v.Scope())
	shape := v.Shape().Clone()
	return scope.Store().Scope(scopePath).
		WithInitializer(initializer.Zero).
		VariableWithShape(v.Name()+"_velocity", shape).
		SetTrainable(false)
}

// Clear implements optimizer.Interface: it deletes the velocity slots (the
// learning rate and global step stay, as with GoMLX's own optimizers).
func (o *sgdMomentum) Clear(scope *model.Scope) error {
	return scope.Store().DeleteVariablesInScope(path.Join("/", optimizer.Scope, sgdScopeName))
}
