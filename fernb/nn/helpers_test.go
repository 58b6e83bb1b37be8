package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fernb/fernb/fernb"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// goBackend returns the pure-Go backend (tests never use XLA, so they run on
// any machine).
func goBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := fernb.NewBackendWithConfig("go")
	if err != nil {
		t.Fatalf("backend: %v", err)
	}
	return b
}

// randT returns a float64 tensor of the given dimensions with N(0,1) values
// from a seeded generator.
func randT(seed uint64, dims ...int) *tensors.Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	size := 1
	for _, d := range dims {
		size *= d
	}
	data := make([]float64, size)
	for i := range data {
		data[i] = r.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// run executes fn on the inputs and returns the outputs as flat float64s.
func run(t testing.TB, b compute.Backend, fn func(g *graph.Graph, in []*graph.Node) []*graph.Node, inputs ...*tensors.Tensor) [][]float64 {
	t.Helper()
	exec, err := graph.NewExec(b, fn)
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	res := make([][]float64, len(outs))
	for i, o := range outs {
		res[i] = tensors.MustCopyFlatData[float64](o)
	}
	return res
}

// maxRelErr is max|a-b| / max(max|b|, 1e-12).
func maxRelErr(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var diff, scale float64
	for i := range a {
		diff = max(diff, math.Abs(a[i]-b[i]))
		scale = max(scale, math.Abs(b[i]))
	}
	return diff / max(scale, 1e-12)
}

func checkClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values, want %d", what, len(got), len(want))
		return
	}
	if e := maxRelErr(got, want); e > tol || math.IsNaN(e) {
		t.Errorf("%s: relative error %.3g > %.1g", what, e, tol)
	}
}
