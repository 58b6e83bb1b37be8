package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TestTrainsTinyCNN trains conv-BN-ReLU-pool-dense with BindVariables and
// SGDMomentum on a two-class toy problem (which half of the image is bright)
// and checks that the loss falls and the running statistics move: the layers,
// their hand-written gradients, the variable binding and the optimizer
// working together, in float32 as in real training.
func TestTrainsTinyCNN(t *testing.T) {
	b := goBackend(t)
	const n, size = 16, 8
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]float32, n*size*size)
	labels := make([]int, n)
	for i := range n {
		labels[i] = i % 2
		for y := range size {
			for x := range size {
				v := float32(r.NormFloat64() * 0.3)
				if (y < size/2) == (labels[i] == 0) {
					v += 1
				}
				xs[i*size*size+y*size+x] = v
			}
		}
	}
	xT := tensors.FromFlatDataAndDimensions(xs, n, size, size, 1)
	specs := []ParamSpec{
		{Name: "conv/kernel", Shape: []int{3, 3, 1, 4}, Init: HeNormal, Trainable: true},
		{Name: "bn/gamma", Shape: []int{4}, Init: Ones, Trainable: true},
		{Name: "bn/beta", Shape: []int{4}, Init: Zeros, Trainable: true},
		{Name: "bn/mean", Shape: []int{4}, Init: Zeros},
		{Name: "bn/var", Shape: []int{4}, Init: Ones},
		{Name: "dense/w", Shape: []int{4 * 4 * 4, 2}, Init: GlorotUniform, Trainable: true},
		{Name: "dense/b", Shape: []int{2}, Init: Zeros, Trainable: true},
	}
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(7); err != nil {
		t.Fatal(err)
	}
	opt := SGDMomentum(SGDConfig{LearningRate: 0.1})
	step := model.MustNewExec(b, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		scope.SetTraining(x.Graph(), true)
		p, vars := BindVariables(scope.In("net"), x.Graph(), specs, dtypes.Float32)
		h := Conv2D(x, p["conv/kernel"], nil, 1, Same)
		h, m, v := BatchNorm(h, p["bn/gamma"], p["bn/beta"], p["bn/mean"], p["bn/var"], true)
		vars["bn/mean"].SetNodeValue(m)
		vars["bn/var"].SetNodeValue(v)
		h = MaxPool2D(ReLU(h), 2, 2)
		loss := softmaxCE(Dense(Flatten(h), p["dense/w"], p["dense/b"]), labels)
		opt.UpdateGraph(scope, x.Graph(), loss)
		return loss
	})
	var first, last float32
	for i := range 30 {
		out := step.MustCall(xT)
		l := tensors.ToScalar[float32](out[0])
		if i == 0 {
			first = l
		}
		last = l
	}
	t.Logf("loss: first step %.4f, step 30 %.4f", first, last)
	if !(last < 0.5*first) {
		t.Errorf("loss did not halve in 30 steps: %.4f -> %.4f", first, last)
	}
	mean := tensors.MustCopyFlatData[float32](store.GetVariable("/net/bn/mean").MustValue())
	moved := false
	for _, v := range mean {
		moved = moved || v != 0
	}
	if !moved {
		t.Errorf("BatchNorm running mean never updated: %v", mean)
	}
}
