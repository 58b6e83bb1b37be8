package nn

import (
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"
)

const (
	// BatchNormMomentum is the weight of the old running statistics in
	// BatchNorm's update: new = m*old + (1-m)*batch (PyTorch's momentum=0.1).
	BatchNormMomentum = 0.9
	// NormEpsilon is added to variances before the inverse square root, as in
	// PyTorch's BatchNorm2d and GroupNorm.
	NormEpsilon = 1e-5
)

// BatchNorm normalises x over all axes but the last (channels): [N,C] or
// [N,H,W,C]. gamma, beta, runMean and runVar are [C].
//
// In training it uses the batch mean and (biased) variance, and the gradient
// flows through them, as in PyTorch; it returns the updated running
// statistics new = 0.9*old + 0.1*batch, the variance term using the unbiased
// batch variance (PyTorch's convention). The running statistics returned carry
// no gradient. In inference it uses runMean/runVar and returns them unchanged.
//
// It is written in plain arithmetic so that it differentiates twice on every
// backend.
func BatchNorm(x, gamma, beta, runMean, runVar *graph.Node, training bool) (y, newMean, newVar *graph.Node) {
	if x.Rank() < 2 {
		exceptions.Panicf("nn.BatchNorm: x must be [N,...,C], got %s", x.Shape())
	}
	c := x.Shape().Dimensions[x.Rank()-1]
	for _, p := range []*graph.Node{gamma, beta, runMean, runVar} {
		if p == nil || p.Rank() != 1 || p.Shape().Dimensions[0] != c {
			exceptions.Panicf("nn.BatchNorm: gamma, beta, running mean and variance must be [%d] for x %s", c, x.Shape())
		}
	}
	dims := x.Shape().Dimensions
	count := x.Shape().Size() / c
	// All per-channel work runs on the [count, C] view of x, so that every
	// per-channel vector meets x as [1, C] (channelWise) and sums over the
	// batch are products with a ones vector (channelSums): the Go backend's
	// fastest forms of both (see channelWise and channelSums).
	x2 := graph.Reshape(x, count, c)

	if !training {
		scale := graph.Mul(gamma, invSqrt(graph.AddScalar(runVar, NormEpsilon)))
		shift := graph.Sub(beta, graph.Mul(runMean, scale))
		y = graph.Add(graph.Mul(x2, channelWise(scale)), channelWise(shift))
		return graph.Reshape(y, dims...), runMean, runVar
	}
	n := float64(count)
	// Batch statistics from products with a ones vector. The variance is
	// the mean square of the centred values, not E[x²] - mean², which
	// cancels catastrophically in float32 when a channel's mean dwarfs its
	// spread (raw pixel inputs). Every value below is computed with the same
	// floating-point operations, in the same order, as the plain-op
	// formulation this replaced: dataset distillation's unrolled
	// second-order optimisation amplifies float32 rounding differences in
	// BN (a 3e-7 relative change of the mean flips fernb/distill's
	// TestDDLowersRealLoss), so this rewrite changes speed only.
	mean := graph.DivScalar(channelSums(x2), n)
	centered := graph.Sub(x2, channelWise(mean))
	variance := graph.DivScalar(channelSums(graph.Mul(centered, centered)), n)
	inv := invSqrt(graph.AddScalar(variance, NormEpsilon))
	scale := graph.Mul(gamma, inv)
	shift := graph.Sub(beta, graph.Mul(mean, scale))
	// y = x*scale + shift with the textbook gradient (withVJP): GoMLX's
	// op-by-op VJP of the normalisation takes about twice the passes over x
	// on the Go backend. The formula below is built from differentiable ops
	// of x, gamma and dy, so it differentiates again.
	y2 := withVJP(graph.StopGradient(graph.Mul(x2, channelWise(scale))), graph.StopGradient(shift),
		[]*graph.Node{x2, gamma, beta}, func(dy *graph.Node) []*graph.Node {
			dbeta, sumDyC := channelSums2(dy, graph.Mul(dy, centered))
			dgamma := graph.Mul(sumDyC, inv) // Σ dy·x̂
			// dx = scale·(dy − dβ/n − x̂·dγ/n), x̂ = centered·inv.
			c1 := graph.DivScalar(graph.Mul(graph.Mul(scale, inv), dgamma), n)
			c2 := graph.DivScalar(graph.Mul(scale, dbeta), n)
			dx := graph.Sub(graph.Mul(dy, channelWise(scale)),
				graph.Add(graph.Mul(centered, channelWise(c1)), channelWise(c2)))
			return []*graph.Node{dx, dgamma, dbeta}
		})
	y = graph.Reshape(y2, dims...)

	unbiased := variance
	if count > 1 {
		unbiased = graph.MulScalar(variance, float64(count)/float64(count-1))
	}
	m := BatchNormMomentum
	newMean = graph.StopGradient(graph.Add(graph.MulScalar(runMean, m), graph.MulScalar(mean, 1-m)))
	newVar = graph.StopGradient(graph.Add(graph.MulScalar(runVar, m), graph.MulScalar(unbiased, 1-m)))
	return y, newMean, newVar
}

// channelWise returns the per-channel vector v [C] as [1, C], for a binary op
// with a [rows, C] tensor to broadcast implicitly: the Go backend runs that
// as a row-wise vector loop, while an explicit BroadcastInDim to [rows, C]
// walks a generic per-element iterator and then needs a second pass for
// the op itself.
func channelWise(v *graph.Node) *graph.Node {
	return graph.Reshape(v, 1, v.Shape().Size())
}

// channelSums returns Σ over rows of x [rows, C] as [C]: a product with a
// ones vector, which the Go backend's matmul does faster than ReduceSum
// over the leading axis (a strided reduction).
func channelSums(x *graph.Node) *graph.Node {
	rows, c := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	ones := graph.Ones(x.Graph(), shapes.Make(x.DType(), 1, rows))
	return graph.Reshape(graph.DotGeneral(ones, []int{1}, nil, x, []int{0}, nil), c)
}

// channelSums2 returns Σ over rows of a and of b (both [rows, C]) as two
// [C] vectors: one batched product of a ones vector with a and b stacked
// (a block copy), which the Go backend's matmul does faster than ReduceSum
// over the leading axis. One product rather than two also keeps
// the number of matmuls the parallel executor can have in flight at once
// low: matmuls that start together on a full worker pool can wait on each
// other forever (compute v0.1.3's Pool.Saturate).
func channelSums2(a, b *graph.Node) (sumA, sumB *graph.Node) {
	rows, c := a.Shape().Dimensions[0], a.Shape().Dimensions[1]
	ab := graph.Concatenate([]*graph.Node{graph.Reshape(a, 1, rows, c), graph.Reshape(b, 1, rows, c)}, 0)
	ones := graph.Ones(a.Graph(), shapes.Make(a.DType(), 2, 1, rows))
	sums := graph.DotGeneral(ones, []int{2}, []int{0}, ab, []int{1}, []int{0}) // [2, 1, C]
	sumA = graph.Reshape(graph.Slice(sums, graph.AxisElem(0)), c)
	sumB = graph.Reshape(graph.Slice(sums, graph.AxisElem(1)), c)
	return sumA, sumB
}

// GroupNorm normalises x [N,H,W,C] (or [N,C]) per sample over groups of C/groups
// channels and all spatial positions, then scales by gamma and shifts by beta
// ([C]). It has no running statistics, so training and inference agree, and it
// does not depend on the batch (useful for the tiny batches of dataset
// distillation). InstanceNorm is GroupNorm with groups == C.
func GroupNorm(x, gamma, beta *graph.Node, groups int) *graph.Node {
	if x.Rank() < 2 {
		exceptions.Panicf("nn.GroupNorm: x must be [N,...,C], got %s", x.Shape())
	}
	dims := x.Shape().Dimensions
	c := dims[len(dims)-1]
	if groups < 1 || c%groups != 0 {
		exceptions.Panicf("nn.GroupNorm: %d channels cannot be split into %d groups", c, groups)
	}
	for _, p := range []*graph.Node{gamma, beta} {
		if p == nil || p.Rank() != 1 || p.Shape().Dimensions[0] != c {
			exceptions.Panicf("nn.GroupNorm: gamma and beta must be [%d] for x %s", c, x.Shape())
		}
	}
	// [N, spatial..., G, C/G]: normalise over spatial axes and the last.
	gdims := append(append([]int{}, dims[:len(dims)-1]...), groups, c/groups)
	xg := graph.Reshape(x, gdims...)
	var axes []int
	for i := 1; i < len(gdims); i++ {
		if i != len(gdims)-2 {
			axes = append(axes, i)
		}
	}
	mean := graph.ReduceAndKeep(xg, graph.ReduceMean, axes...)
	centered := graph.Sub(xg, mean)
	variance := graph.ReduceAndKeep(graph.Square(centered), graph.ReduceMean, axes...)
	normed := graph.Reshape(graph.Mul(centered, invSqrt(graph.AddScalar(variance, NormEpsilon))), dims...)
	bshape := make([]int, len(dims))
	for i := range bshape {
		bshape[i] = 1
	}
	bshape[len(dims)-1] = c
	return graph.Add(graph.Mul(normed, graph.Reshape(gamma, bshape...)), graph.Reshape(beta, bshape...))
}

// InstanceNorm is GroupNorm with one group per channel.
func InstanceNorm(x, gamma, beta *graph.Node) *graph.Node {
	return GroupNorm(x, gamma, beta, x.Shape().Dimensions[x.Rank()-1])
}

// invSqrt is 1/sqrt(x) built from Sqrt and Div: GoMLX has no VJP for Rsqrt,
// while Sqrt's and Div's VJPs are themselves differentiable.
func invSqrt(x *graph.Node) *graph.Node {
	return graph.Reciprocal(graph.Sqrt(x))
}
