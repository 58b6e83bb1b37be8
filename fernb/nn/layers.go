package nn

import (
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"
)

// ReLU is max(x, 0), written as Where(x > 0, x, 0): one comparison and one
// select. Its gradient is Where(x > 0, dy, 0) (0 at x = 0, as in PyTorch),
// which differentiates again, with no derivative through the comparison (as
// second-order methods expect of a piecewise-linear net). GoMLX's Max VJP
// takes five passes over x on the Go backend, two of them on its slow
// broadcasting path; x·[x>0] costs a per-element bool-to-float conversion
// pass more than the select.
func ReLU(x *graph.Node) *graph.Node {
	zero := graph.ScalarZero(x.Graph(), x.DType())
	return graph.Where(graph.GreaterThan(x, zero), x, zero)
}

// Dense is x·w (+ b): x [N,in], w [in,out], b [out] or nil.
func Dense(x, w, b *graph.Node) *graph.Node {
	if x.Rank() != 2 || w.Rank() != 2 || x.Shape().Dimensions[1] != w.Shape().Dimensions[0] {
		exceptions.Panicf("nn.Dense: x must be [N,in] and w [in,out], got x %s, w %s", x.Shape(), w.Shape())
	}
	y := graph.Dot(x, w).Product()
	if b != nil {
		out := w.Shape().Dimensions[1]
		if b.Rank() != 1 || b.Shape().Dimensions[0] != out {
			exceptions.Panicf("nn.Dense: b must be [%d], got %s", out, b.Shape())
		}
		y = AddChannels(y, b)
	}
	return y
}

// AddChannels returns x [..., C] plus v [C] on every position: a bias or
// shift per channel. It adds on the [rows, C] view of x with v as [1, C]
// (see channelWise for why that form).
func AddChannels(x, v *graph.Node) *graph.Node {
	d := x.Shape().Dimensions
	if v.Rank() != 1 || x.Rank() < 1 || d[len(d)-1] != v.Shape().Dimensions[0] {
		exceptions.Panicf("nn.AddChannels: v must be [%d] for x %s, got %s", d[len(d)-1], x.Shape(), v.Shape())
	}
	c := d[len(d)-1]
	return graph.Reshape(graph.Add(graph.Reshape(x, x.Shape().Size()/max(c, 1), c), channelWise(v)), d...)
}

// Flatten reshapes x [N,...] to [N, prod(...)].
func Flatten(x *graph.Node) *graph.Node {
	if x.Rank() < 1 {
		exceptions.Panicf("nn.Flatten: x must have a batch axis, got %s", x.Shape())
	}
	n := x.Shape().Dimensions[0]
	return graph.Reshape(x, n, x.Shape().Size()/max(n, 1))
}

// Dropout zeroes each element of x with probability rate and scales the rest
// by 1/(1-rate) (inverted dropout), drawing from rngState and returning the
// advanced state, so that the randomness is an explicit, reproducible input of
// the graph. Outside training, or with rate 0, it returns x and rngState
// unchanged.
func Dropout(x, rngState *graph.Node, rate float64, training bool) (y, newRNGState *graph.Node) {
	if rate < 0 || rate >= 1 {
		exceptions.Panicf("nn.Dropout: rate must be in [0,1), got %g", rate)
	}
	if !training || rate == 0 {
		return x, rngState
	}
	newRNGState, u := graph.RandomUniform(rngState, shapes.Make(x.DType(), x.Shape().Dimensions...))
	keep := graph.GreaterOrEqual(u, graph.Scalar(x.Graph(), x.DType(), rate))
	scaled := graph.MulScalar(x, 1/(1-rate))
	return graph.Where(keep, scaled, graph.ZerosLike(x)), newRNGState
}
