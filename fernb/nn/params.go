package nn

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Init is how a parameter's initial value is drawn.
type Init int

const (
	// HeNormal draws N(0, 2/fanIn): the default for ReLU conv and dense kernels.
	HeNormal Init = iota
	// GlorotUniform draws U(-l, l) with l = sqrt(6/(fanIn+fanOut)).
	GlorotUniform
	// Zeros is for biases, BN beta and running means.
	Zeros
	// Ones is for BN/GN gamma and running variances.
	Ones
)

// String implements fmt.Stringer.
func (i Init) String() string {
	switch i {
	case HeNormal:
		return "he-normal"
	case GlorotUniform:
		return "glorot-uniform"
	case Zeros:
		return "zeros"
	case Ones:
		return "ones"
	}
	return fmt.Sprintf("Init(%d)", int(i))
}

// ParamSpec declares one parameter of a network. A network lists its specs
// once; BindVariables turns them into checkpointed scope variables for normal
// training, InitParams into freshly drawn in-graph nodes for dataset
// distillation, so the two never disagree about shapes or initialisation.
type ParamSpec struct {
	// Name is unique within the network; "/" separates sub-scopes
	// ("block1/conv/kernel").
	Name  string
	Shape []int
	Init  Init
	// FanIn for HeNormal/GlorotUniform; 0 means the product of all but the
	// last dimension (right for [kh,kw,Cin,Cout] kernels and [in,out] weights).
	FanIn int
	// Trainable is false for state such as BatchNorm running statistics: it
	// is saved with the model but not touched by the optimizer.
	Trainable bool
}

// Params maps a ParamSpec name to its value in the graph being built.
type Params map[string]*graph.Node

// fans returns the fan-in and fan-out used by the random initialisers.
func (s ParamSpec) fans() (fanIn, fanOut int) {
	if len(s.Shape) == 0 {
		return 1, 1
	}
	fanOut = s.Shape[len(s.Shape)-1]
	fanIn = 1
	for _, d := range s.Shape[:len(s.Shape)-1] {
		fanIn *= d
	}
	if len(s.Shape) > 2 { // convolution kernels: receptive field counts in fan-out too
		fanOut *= fanIn / s.Shape[len(s.Shape)-2]
	}
	if s.FanIn > 0 {
		fanIn = s.FanIn
	}
	return max(fanIn, 1), max(fanOut, 1)
}

func (s ParamSpec) validate() error {
	if s.Name == "" {
		return fmt.Errorf("nn: parameter with empty name (shape %v)", s.Shape)
	}
	for _, d := range s.Shape {
		if d < 1 {
			return fmt.Errorf("nn: parameter %q has invalid shape %v", s.Name, s.Shape)
		}
	}
	if s.Init < HeNormal || s.Init > Ones {
		return fmt.Errorf("nn: parameter %q has unknown init %d", s.Name, int(s.Init))
	}
	return nil
}

// initValue draws the initial value of spec: random inits use draw, which
// returns standard normal or uniform [0,1) values of the given shape.
func initValue(g *graph.Graph, spec ParamSpec, dtype dtypes.DType,
	normal, uniform func(shapes.Shape) *graph.Node) *graph.Node {
	shape := shapes.Make(dtype, spec.Shape...)
	fanIn, fanOut := spec.fans()
	switch spec.Init {
	case Zeros:
		return graph.Zeros(g, shape)
	case Ones:
		return graph.Ones(g, shape)
	case HeNormal:
		return graph.MulScalar(normal(shape), math.Sqrt(2/float64(fanIn)))
	case GlorotUniform:
		limit := math.Sqrt(6 / float64(fanIn+fanOut))
		return graph.AddScalar(graph.MulScalar(uniform(shape), 2*limit), -limit)
	}
	exceptions.Panicf("nn: parameter %q has unknown init %d", spec.Name, int(spec.Init))
	return nil
}

// InitParams draws every parameter in-graph from rngState and returns them with
// the advanced RNG state. Dataset distillation and distribution matching use
// it to resample the network's starting point θ0 inside the graph, with no
// variables involved. It panics with an error on invalid specs (duplicate
// names, bad shapes), like other graph-building functions.
func InitParams(g *graph.Graph, rngState *graph.Node, specs []ParamSpec, dtype dtypes.DType) (Params, *graph.Node) {
	if err := checkSpecs(specs); err != nil {
		exceptions.Panicf("nn.InitParams: %v", err)
	}
	p := make(Params, len(specs))
	for _, spec := range specs {
		normal := func(s shapes.Shape) *graph.Node {
			var v *graph.Node
			rngState, v = graph.RandomNormal(rngState, s)
			return v
		}
		uniform := func(s shapes.Shape) *graph.Node {
			var v *graph.Node
			rngState, v = graph.RandomUniform(rngState, s)
			return v
		}
		p[spec.Name] = initValue(g, spec, dtype, normal, uniform)
	}
	return p, rngState
}

// BindVariables binds every parameter to a variable of scope (created on first
// use with the spec's initialiser, drawn from the store's RNG; set
// its seed with model.Store.SetRNGStateFromSeed for reproducible runs) and
// returns the variables' values in g together with the variables themselves,
// by spec name. Non-trainable specs (BatchNorm running statistics) become
// non-trainable variables: checkpointed, ignored by optimizers; a training
// step updates them with Variable.SetNodeValue.
func BindVariables(scope *model.Scope, g *graph.Graph, specs []ParamSpec, dtype dtypes.DType) (Params, map[string]*model.Variable) {
	if err := checkSpecs(specs); err != nil {
		exceptions.Panicf("nn.BindVariables: %v", err)
	}
	store := scope.Store()
	p := make(Params, len(specs))
	vars := make(map[string]*model.Variable, len(specs))
	for _, spec := range specs {
		s := scope
		parts := strings.Split(spec.Name, "/")
		for _, part := range parts[:len(parts)-1] {
			s = s.At("%s", part)
		}
		init := func(g *graph.Graph, shape shapes.Shape) *graph.Node {
			return initValue(g, spec, shape.DType,
				func(sh shapes.Shape) *graph.Node { return store.RandomNormal(g, sh) },
				func(sh shapes.Shape) *graph.Node { return store.RandomUniform(g, sh) })
		}
		v := s.WithInitializer(init).VariableWithShape(parts[len(parts)-1], shapes.Make(dtype, spec.Shape...))
		v.SetTrainable(spec.Trainable)
		vars[spec.Name] = v
		p[spec.Name] = v.NodeValue(g)
	}
	return p, vars
}

func checkSpecs(specs []ParamSpec) error {
	seen := make(map[string]bool, len(specs))
	for _, s := range specs {
		if err := s.validate(); err != nil {
			return err
		}
		if seen[s.Name] {
			return fmt.Errorf("nn: duplicate parameter name %q", s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}
