package nn

import (
	"github.com/fernb/fernb/fernb"
	"github.com/gomlx/gomlx/core/graph"
)

// Formulation selects how Conv2D and the pooling layers are built.
type Formulation int

const (
	// Auto uses Differentiable on the pure-Go backend (where it is also the
	// fastest) and Native on every other backend.
	Auto Formulation = iota
	// Differentiable builds im2col convolutions and Reshape/Gather pooling:
	// twice differentiable on every backend. Graphs that take second-order
	// gradients (dataset distillation) must use it.
	Differentiable
	// Native uses GoMLX's graph.Convolve, MaxPool and MeanPool: fastest on XLA,
	// slow on the Go backend, and only once differentiable.
	Native
)

// String implements fmt.Stringer.
func (f Formulation) String() string {
	switch f {
	case Auto:
		return "auto"
	case Differentiable:
		return "differentiable"
	case Native:
		return "native"
	}
	return "unknown"
}

// formulationKey is the graph-state key under which SetFormulation stores the
// choice; it lives in the graph, so there is no package-level state.
type formulationKey struct{}

// SetFormulation fixes the formulation of every Conv2D and pooling layer built
// afterwards in g. Call it before building the network; DD code calls
// SetFormulation(g, Differentiable) so that its graphs differentiate twice on
// XLA too.
func SetFormulation(g *graph.Graph, f Formulation) {
	g.AttachState(formulationKey{}, f)
}

// FormulationOf reports the formulation layers built in g will use, with Auto
// resolved according to g's backend.
func FormulationOf(g *graph.Graph) Formulation {
	f := Auto
	if s := g.State(formulationKey{}); s != nil {
		f = s.(Formulation)
	}
	if f != Auto {
		return f
	}
	if fernb.IsGoBackend(g.Backend()) {
		return Differentiable
	}
	return Native
}
