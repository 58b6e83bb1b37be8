package nn

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// tinyNet is conv3x3(1->4)+bias, BatchNorm (training), ReLU, MaxPool 2/2,
// Flatten, Dense(36->3): every layer kind DD unrolls.
var tinyNetSpecs = []ParamSpec{
	{Name: "conv/kernel", Shape: []int{3, 3, 1, 4}, Init: HeNormal, Trainable: true},
	{Name: "conv/bias", Shape: []int{4}, Init: Zeros, Trainable: true},
	{Name: "bn/gamma", Shape: []int{4}, Init: Ones, Trainable: true},
	{Name: "bn/beta", Shape: []int{4}, Init: Zeros, Trainable: true},
	{Name: "dense/w", Shape: []int{36, 3}, Init: GlorotUniform, Trainable: true},
	{Name: "dense/b", Shape: []int{3}, Init: Zeros, Trainable: true},
}

// Variants of the tiny net, covering each formulation the layers switch
// between.
const (
	poolReshape = iota // conv stride 1, max pool 2/2 as Reshape+ReduceMax
	poolTaps           // conv stride 1, max pool 3/2 from strided taps (overlapping, border fill)
	convStrided        // conv stride 2 (ScatterSum col2im), avg pool 3/1 from taps
)

var variantNames = []string{"conv s1 + maxpool 2/2 (reshape)", "conv s1 + maxpool 3/2 (taps)", "conv s2 (scatter) + avgpool 3/1 (taps)"}

// tinyNetLoss is the loss of the tiny net in the given variant.
func tinyNetLoss(p []*graph.Node, x *graph.Node, labels []int, variant int) *graph.Node {
	g := x.Graph()
	stride := 1
	if variant == convStrided {
		stride = 2
	}
	h := Conv2D(x, p[0], p[1], stride, Same)
	zeros, ones := graph.Zeros(g, p[2].Shape()), graph.Ones(g, p[2].Shape())
	h, _, _ = BatchNorm(h, p[2], p[3], zeros, ones, true)
	switch variant {
	case poolReshape:
		h = MaxPool2D(ReLU(h), 2, 2)
	case poolTaps:
		h = MaxPool2D(ReLU(h), 3, 2)
	case convStrided:
		h = AvgPool2D(ReLU(h), 3, 1)
	}
	logits := Dense(Flatten(h), p[4], p[5])
	return softmaxCE(logits, labels)
}

// softmaxCE is the mean softmax cross-entropy of logits [N,K] for integer labels.
func softmaxCE(logits *graph.Node, labels []int) *graph.Node {
	g := logits.Graph()
	n, k := logits.Shape().Dimensions[0], logits.Shape().Dimensions[1]
	onehot := make([][]float64, n)
	for i := range onehot {
		onehot[i] = make([]float64, k)
		onehot[i][labels[i]] = 1
	}
	m := graph.StopGradient(graph.ReduceAndKeep(logits, graph.ReduceMax, 1))
	lse := graph.Add(graph.Log(graph.ReduceAndKeep(graph.Exp(graph.Sub(logits, m)), graph.ReduceSum, 1)), m)
	nll := graph.Sub(lse, graph.ReduceAndKeep(graph.Mul(logits, graph.ConstAsDType(g, logits.DType(), onehot)), graph.ReduceSum, 1))
	return graph.ReduceAllMean(nll)
}

// unrolledLoss takes `steps` SGD steps (rate lr) on the synthetic batch xSyn
// from theta0, then returns the loss on a fixed real batch: the quantity
// dataset distillation differentiates.
func unrolledLoss(xSyn, lr, xReal *graph.Node, theta []*graph.Node, steps int, variant int) *graph.Node {
	for range steps {
		inner := tinyNetLoss(theta, xSyn, []int{0, 1, 2}, variant)
		grads := graph.Gradient(inner, theta...)
		next := make([]*graph.Node, len(theta))
		for i := range theta {
			next[i] = graph.Sub(theta[i], graph.Mul(lr, grads[i]))
		}
		theta = next
	}
	return tinyNetLoss(theta, xReal, []int{2, 0, 1, 1}, variant)
}

func TestSecondOrderUnrolledSGD(t *testing.T) {
	b := goBackend(t)
	xSyn := randT(31, 3, 6, 6, 1)
	xReal := randT(32, 4, 6, 6, 1)
	lr := tensors.FromScalar(0.1)
	seed, _ := graph.RNGStateFromSeed(33)
	thetaT := run(t, b, func(g *graph.Graph, in []*graph.Node) []*graph.Node {
		p, _ := InitParams(g, in[0], tinyNetSpecs, dtypes.Float64)
		out := make([]*graph.Node, len(tinyNetSpecs))
		for i, s := range tinyNetSpecs {
			// Non-trivial BN affine parameters and biases.
			out[i] = graph.AddScalar(p[s.Name], 0.1*float64(i))
		}
		return out
	}, seed)
	theta := make([]*tensors.Tensor, len(thetaT))
	for i, s := range tinyNetSpecs {
		theta[i] = tensors.FromFlatDataAndDimensions(thetaT[i], s.Shape...)
	}
	for _, tc := range []struct {
		steps, variant int
	}{{1, poolReshape}, {3, poolReshape}, {1, poolTaps}, {3, poolTaps}, {1, convStrided}, {3, convStrided}} {
		steps := tc.steps
		pool := variantNames[tc.variant]
		inputs := append([]*tensors.Tensor{xSyn, lr, xReal}, theta...)
		outer := func(g *graph.Graph, in []*graph.Node) *graph.Node {
			SetFormulation(g, Differentiable)
			return unrolledLoss(in[0], in[1], in[2], in[3:], steps, tc.variant)
		}
		grads := run(t, b, func(g *graph.Graph, in []*graph.Node) []*graph.Node {
			loss := outer(g, in)
			return append([]*graph.Node{loss}, graph.Gradient(loss, in[0], in[1])...)
		}, inputs...)
		value := func(x, lr *tensors.Tensor) float64 {
			args := append([]*tensors.Tensor{x, lr, xReal}, theta...)
			return run(t, b, func(g *graph.Graph, in []*graph.Node) []*graph.Node {
				return []*graph.Node{outer(g, in)}
			}, args...)[0][0]
		}
		const eps = 1e-5
		// d/dlr.
		fdLR := (value(xSyn, tensors.FromScalar(0.1+eps)) - value(xSyn, tensors.FromScalar(0.1-eps))) / (2 * eps)
		relLR := math.Abs(fdLR-grads[2][0]) / math.Abs(fdLR)
		t.Logf("%s, %d step(s): loss %.6f, dL/dlr analytic %.10g, finite difference %.10g, relative error %.2e",
			pool, steps, grads[0][0], grads[2][0], fdLR, relLR)
		if relLR > 1e-6 || math.IsNaN(relLR) {
			t.Errorf("%s, %d step(s): dL/dlr relative error %.2e > 1e-6", pool, steps, relLR)
		}
		// d/dx along random directions.
		xs := tensors.MustCopyFlatData[float64](xSyn)
		dims := xSyn.Shape().Dimensions
		for d := range 3 {
			dir := tensors.MustCopyFlatData[float64](randT(uint64(40+d), dims...))
			plus, minus := make([]float64, len(xs)), make([]float64, len(xs))
			analytic := 0.0
			for i := range xs {
				plus[i], minus[i] = xs[i]+eps*dir[i], xs[i]-eps*dir[i]
				analytic += grads[1][i] * dir[i]
			}
			fd := (value(tensors.FromFlatDataAndDimensions(plus, dims...), lr) -
				value(tensors.FromFlatDataAndDimensions(minus, dims...), lr)) / (2 * eps)
			rel := math.Abs(fd-analytic) / math.Abs(fd)
			t.Logf("%s, %d step(s): dL/dx·u%d analytic %.10g, finite difference %.10g, relative error %.2e",
				pool, steps, d, analytic, fd, rel)
			if rel > 1e-6 || math.IsNaN(rel) {
				t.Errorf("%s, %d step(s): dL/dx·u%d relative error %.2e > 1e-6", pool, steps, d, rel)
			}
		}
	}
}
