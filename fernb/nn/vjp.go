package nn

import (
	"github.com/gomlx/gomlx/core/graph"
)

// withVJP returns y with a hand-written vector-Jacobian product: in every
// graph.Gradient pass that reaches y, vjp(dy) gives the gradients of inputs
// (in order; nil for none). y's own, op-by-op VJP is never used.
//
// Why: GoMLX derives gradients op by op, and for some layers that is much
// slower on the Go backend than the textbook formula (identity transposes of
// the im2col matrix, a dozen elementwise passes for batch norm). The formula
// is built from ordinary differentiable ops of the inputs and dy, so a second
// Gradient pass (dataset distillation) differentiates through it as usual.
//
// How: y is computed on StopGradient'ed values; each input is passed through
// an identity with a custom gradient, tied to y by a zero-valued term so the
// reverse pass reaches them; y's own custom-gradient identity records dy (it
// is created last, so GoMLX's reverse pass, which walks nodes by decreasing
// id, visits it before the inputs). The state lives in this call's closures,
// one per layer instance, not in the package.
//
// yStopped must already carry no gradient to the inputs (e.g. be wrapped in
// graph.StopGradient); bias, if not nil, is a vector over y's last axis
// (differentiated by GoMLX as usual, unless the caller stops it) added to y
// after the zero term is folded into it, so
// it costs no extra pass over y (AddChannels). The result has y's shape.
func withVJP(yStopped *graph.Node, bias *graph.Node, inputs []*graph.Node, vjp func(dy *graph.Node) []*graph.Node) *graph.Node {
	var dy, dyUsed *graph.Node
	var grads []*graph.Node
	gradient := func(i int) *graph.Node {
		if grads == nil || dyUsed != dy {
			grads, dyUsed = vjp(dy), dy
		}
		return grads[i]
	}
	var zero *graph.Node
	for i, in := range inputs {
		id := graph.IdentityWithCustomGradient(in, func(x, _ *graph.Node) *graph.Node {
			if g := gradient(i); g != nil {
				return g
			}
			return graph.ZerosLike(x)
		})
		z := firstElement(id)
		if zero == nil {
			zero = z
		} else {
			zero = graph.Add(zero, z)
		}
	}
	zero = graph.MulScalar(zero, 0)
	var y *graph.Node
	if bias != nil {
		y = AddChannels(yStopped, graph.Add(bias, zero))
	} else {
		y = graph.Add(yStopped, zero)
	}
	return graph.IdentityWithCustomGradient(y, func(_, v *graph.Node) *graph.Node {
		dy = v
		return v
	})
}

// firstElement returns x's first element as a scalar: a cheap node that
// depends on x.
func firstElement(x *graph.Node) *graph.Node {
	if x.Rank() == 0 {
		return x
	}
	first := make([]graph.SliceAxisSpec, x.Rank())
	for i := range first {
		first[i] = graph.AxisElem(0)
	}
	return graph.Reshape(graph.Slice(x, first...))
}
