package train

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/ml/train/optimizer/cosineschedule"
)

// Schedule names a learning-rate schedule (Config.Schedule).
type Schedule string

const (
	// ScheduleStep multiplies the rate by DecayFactor every DecayEvery
	// epochs (the paper's). It is what the empty Schedule means.
	ScheduleStep Schedule = "step"
	// ScheduleCosine is GoMLX's cosine annealing (package cosineschedule)
	// with linear warm-up.
	ScheduleCosine Schedule = "cosine"
)

// Balance names a way to counter class imbalance (Config.Balance).
type Balance string

const (
	// BalanceNone trains on the data as it is; the empty Balance means it.
	BalanceNone Balance = "none"
	// BalanceWeights weighs the loss of each image by N / (K * n_class), so
	// every class carries the same total weight and the mean weight over
	// the training set is 1.
	BalanceWeights Balance = "weights"
	// BalanceSample draws each epoch's images class-first, with replacement.
	BalanceSample Balance = "sample"
)

func (c Config) validateRecipe() []error {
	var errs []error
	if c.Crop < 0 {
		errs = append(errs, fmt.Errorf("Crop=%d, want >= 0 pixels", c.Crop))
	}
	if !(c.Rotate >= 0 && c.Rotate <= 180) {
		errs = append(errs, fmt.Errorf("Rotate=%v, want in [0, 180] degrees", c.Rotate))
	}
	if !(c.Scale >= 0 && c.Scale < 1) {
		errs = append(errs, fmt.Errorf("Scale=%v, want in [0, 1)", c.Scale))
	}
	if !(c.Erase >= 0 && c.Erase <= 1) {
		errs = append(errs, fmt.Errorf("Erase=%v, want a probability in [0, 1]", c.Erase))
	}
	if !(c.LabelSmoothing >= 0 && c.LabelSmoothing < 1) {
		errs = append(errs, fmt.Errorf("LabelSmoothing=%v, want in [0, 1)", c.LabelSmoothing))
	}
	switch c.Schedule {
	case "", ScheduleStep:
		if c.WarmupEpochs != 0 || c.MinLR != 0 {
			errs = append(errs, fmt.Errorf("WarmupEpochs=%d, MinLR=%v: warm-up and a floor belong to the cosine schedule (Schedule=%q)",
				c.WarmupEpochs, c.MinLR, ScheduleCosine))
		}
	case ScheduleCosine:
		if c.WarmupEpochs < 0 || c.WarmupEpochs >= c.Epochs {
			errs = append(errs, fmt.Errorf("WarmupEpochs=%d, want in [0, Epochs=%d)", c.WarmupEpochs, c.Epochs))
		}
		if !(c.MinLR >= 0 && c.MinLR < c.LR) {
			errs = append(errs, fmt.Errorf("MinLR=%v, want in [0, LR=%v)", c.MinLR, c.LR))
		}
	default:
		errs = append(errs, fmt.Errorf("Schedule=%q, want %q or %q", c.Schedule, ScheduleStep, ScheduleCosine))
	}
	switch c.Balance {
	case "", BalanceNone, BalanceWeights, BalanceSample:
	default:
		errs = append(errs, fmt.Errorf("Balance=%q, want %q, %q or %q", c.Balance, BalanceNone, BalanceWeights, BalanceSample))
	}
	return errs
}

// cosineCounter is the variable in which cosineschedule counts the steps
// it has scheduled (the name its Done gives optimizer.IncrementCounter).
var cosineCounter = "/" + model.JoinPath(optimizer.Scope, cosineschedule.Scope, "step")

// cosineGraph adds GoMLX's cosine schedule to a step graph: it sets the
// learning-rate variable nn.SGDMomentum reads, before the update reads it.
// The annealing spans the run's steps after the warm-up, so the last step
// still trains at a rate just above MinLR.
func (c Config) cosineGraph(scope *model.Scope, g *graph.Graph, stepsPerEpoch int) {
	warm := c.WarmupEpochs * stepsPerEpoch
	cosineschedule.New(scope, g, dtypes.Float32).
		LearningRate(c.LR).MinLearningRate(c.MinLR).
		WarmUpSteps(warm).PeriodSteps(c.Epochs*stepsPerEpoch - warm).Done()
}

// setCosineStep puts the cosine schedule's counter at step (0-based, over
// the whole run), so that the rate depends only on where the run is: a run
// resumed with another number of steps per epoch (another batch
// composition) continues the schedule from its epoch.
func setCosineStep(store *model.Store, step int) error {
	v, err := store.CreateVariable(cosineCounter, tensors.FromValue(float32(0)))
	if err != nil {
		return fmt.Errorf("train: cosine schedule counter: %w", err)
	}
	v.SetTrainable(false)
	if err := v.SetValue(tensors.FromValue(float32(step))); err != nil {
		return fmt.Errorf("train: cosine schedule counter: %w", err)
	}
	return nil
}

// classWeights returns the BalanceWeights loss weight of every class index
// 0..k-1 given the class of each training image; absent classes get 0.
func classWeights(cls []int32, k int) []float32 {
	counts := make([]int, k)
	for _, c := range cls {
		counts[c]++
	}
	present := 0
	for _, n := range counts {
		if n > 0 {
			present++
		}
	}
	w := make([]float32, k)
	for c, n := range counts {
		if n > 0 {
			w[c] = float32(float64(len(cls)) / float64(present*n))
		}
	}
	return w
}

// balancedDraw fills order (one entry per training image) with indices
// into cls drawn class-first: a present class uniformly, then one of its
// images uniformly, with replacement.
func balancedDraw(rng *rand.Rand, cls []int32, k int, order []int) {
	byClass := make([][]int, k)
	for i, c := range cls {
		byClass[c] = append(byClass[c], i)
	}
	byClass = slices.DeleteFunc(byClass, func(s []int) bool { return len(s) == 0 })
	for i := range order {
		imgs := byClass[rng.IntN(len(byClass))]
		order[i] = imgs[rng.IntN(len(imgs))]
	}
}

// smoothedTarget is the loss's target distribution for class indices y:
// one-hot, with smoothing of its mass spread uniformly over the k classes.
func smoothedTarget(y *graph.Node, k int, smoothing float64, dt dtypes.DType) *graph.Node {
	onehot := graph.OneHot(y, k, dt)
	if smoothing == 0 {
		return onehot
	}
	return graph.AddScalar(graph.MulScalar(onehot, 1-smoothing), smoothing/float64(k))
}
