package nn

import (
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Benchmarks run on the pure-Go backend in float32 at the FER CNN's sizes
// (48x48, batch 64). Build with GOEXPERIMENT=simd, e.g.
//
//	GOEXPERIMENT=simd go test ./fernb/nn/ -run '^$' -bench . -benchtime 3x

func randF32(seed uint64, dims ...int) *tensors.Tensor {
	r := rand.New(rand.NewPCG(seed, 11))
	size := 1
	for _, d := range dims {
		size *= d
	}
	data := make([]float32, size)
	for i := range data {
		data[i] = float32(r.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// benchExec compiles fn once (outside the timer) and runs it b.N times.
func benchExec(b *testing.B, backend compute.Backend, fn func(g *graph.Graph, in []*graph.Node) []*graph.Node, inputs ...*tensors.Tensor) {
	b.Helper()
	exec, err := graph.NewExec(backend, fn)
	if err != nil {
		b.Fatal(err)
	}
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	run := func() {
		outs, err := exec.Exec(args...)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range outs {
			o.FinalizeAll()
		}
	}
	// Compile outside the timer, without a warm-up run: the ConvGeneral
	// baselines take minutes per run on a loaded machine.
	inShapes := make([]shapes.Shape, len(inputs))
	for i, in := range inputs {
		inShapes[i] = in.Shape()
	}
	if _, err := exec.Compile(inShapes...); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		run()
	}
	// The machine is shared: CPU seconds per op is steadier than wall time.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// convFwdBwd returns the conv output's sum and its gradients with respect to
// input and kernel: one training step's worth of convolution work.
func convFwdBwd(f Formulation, stride int) func(g *graph.Graph, in []*graph.Node) []*graph.Node {
	return func(g *graph.Graph, in []*graph.Node) []*graph.Node {
		SetFormulation(g, f)
		y := Conv2D(in[0], in[1], in[2], stride, Same)
		loss := graph.ReduceAllSum(graph.Mul(y, y))
		return append([]*graph.Node{loss}, graph.Gradient(loss, in[0], in[1], in[2])...)
	}
}

func BenchmarkConv2D(b *testing.B) {
	backend := goBackend(b)
	x := randF32(1, 64, 48, 48, 32)
	k := randF32(2, 3, 3, 32, 64)
	bias := randF32(3, 64)
	b.Run("FwdBwd/im2col", func(b *testing.B) {
		benchExec(b, backend, convFwdBwd(Differentiable, 1), x, k, bias)
	})
	b.Run("FwdBwd/ConvGeneral", func(b *testing.B) {
		benchExec(b, backend, convFwdBwd(Native, 1), x, k, bias)
	})
	fwd := func(f Formulation) func(g *graph.Graph, in []*graph.Node) []*graph.Node {
		return func(g *graph.Graph, in []*graph.Node) []*graph.Node {
			SetFormulation(g, f)
			return []*graph.Node{Conv2D(in[0], in[1], in[2], 1, Same)}
		}
	}
	b.Run("Fwd/im2col", func(b *testing.B) { benchExec(b, backend, fwd(Differentiable), x, k, bias) })
	b.Run("Fwd/ConvGeneral", func(b *testing.B) { benchExec(b, backend, fwd(Native), x, k, bias) })
}

// BenchmarkConv2DBatch8 is BenchmarkConv2D at batch 8, so that the
// ConvGeneral baseline finishes in reasonable time on a shared machine.
func BenchmarkConv2DBatch8(b *testing.B) {
	backend := goBackend(b)
	x := randF32(1, 8, 48, 48, 32)
	k := randF32(2, 3, 3, 32, 64)
	bias := randF32(3, 64)
	b.Run("FwdBwd/im2col", func(b *testing.B) { benchExec(b, backend, convFwdBwd(Differentiable, 1), x, k, bias) })
	b.Run("FwdBwd/ConvGeneral", func(b *testing.B) { benchExec(b, backend, convFwdBwd(Native, 1), x, k, bias) })
}

func BenchmarkMaxPool2D(b *testing.B) {
	backend := goBackend(b)
	x := randF32(4, 64, 48, 48, 64)
	pool := func(f Formulation, window, stride int) func(g *graph.Graph, in []*graph.Node) []*graph.Node {
		return func(g *graph.Graph, in []*graph.Node) []*graph.Node {
			SetFormulation(g, f)
			y := MaxPool2D(in[0], window, stride)
			loss := graph.ReduceAllSum(graph.Mul(y, y))
			return []*graph.Node{loss, graph.Gradient(loss, in[0])[0]}
		}
	}
	b.Run("Fwd/2x2/inference", func(b *testing.B) {
		benchExec(b, backend, func(g *graph.Graph, in []*graph.Node) []*graph.Node {
			return []*graph.Node{MaxPool2DInference(in[0], 2, 2, Same)}
		}, x)
	})
	b.Run("FwdBwd/2x2/reshape", func(b *testing.B) { benchExec(b, backend, pool(Differentiable, 2, 2), x) })
	b.Run("FwdBwd/2x2/native", func(b *testing.B) { benchExec(b, backend, pool(Native, 2, 2), x) })
	b.Run("FwdBwd/3x3s2/taps", func(b *testing.B) { benchExec(b, backend, pool(Differentiable, 3, 2), x) })
	b.Run("FwdBwd/3x3s2/native", func(b *testing.B) { benchExec(b, backend, pool(Native, 3, 2), x) })
}

func BenchmarkBatchNorm(b *testing.B) {
	backend := goBackend(b)
	x := randF32(5, 64, 48, 48, 64)
	gamma, beta := randF32(6, 64), randF32(7, 64)
	mean, variance := randF32(8, 64), randF32(9, 64)
	b.Run("FwdBwd/train", func(b *testing.B) {
		benchExec(b, backend, func(g *graph.Graph, in []*graph.Node) []*graph.Node {
			y, m, v := BatchNorm(in[0], in[1], in[2], in[3], graph.Abs(in[4]), true)
			loss := graph.ReduceAllSum(graph.Mul(y, y))
			return append([]*graph.Node{loss, m, v}, graph.Gradient(loss, in[0], in[1], in[2])...)
		}, x, gamma, beta, mean, variance)
	})
	b.Run("Fwd/inference", func(b *testing.B) {
		benchExec(b, backend, func(g *graph.Graph, in []*graph.Node) []*graph.Node {
			y, _, _ := BatchNorm(in[0], in[1], in[2], in[3], graph.Abs(in[4]), false)
			return []*graph.Node{y}
		}, x, gamma, beta, mean, variance)
	})
}

// ferCNNLoss is the 1.27M-parameter FER CNN (three conv3x3-BN-ReLU-
// maxpool2 blocks of 32/64/128 channels, dense 256, ReLU, dense 7) on 48x48x1
// inputs, returning the mean softmax cross-entropy. p holds, per block, kernel,
// bias, gamma, beta, then the two dense weights and biases.
func ferCNNLoss(p []*graph.Node, x *graph.Node, labels []int) *graph.Node {
	h := x
	for blk := range 3 {
		k, bias, gamma, beta := p[4*blk], p[4*blk+1], p[4*blk+2], p[4*blk+3]
		h = Conv2D(h, k, bias, 1, Same)
		h, _, _ = BatchNorm(h, gamma, beta, graph.ZerosLike(gamma), graph.OnesLike(gamma), true)
		h = MaxPool2D(ReLU(h), 2, 2)
	}
	h = ReLU(Dense(Flatten(h), p[12], p[13]))
	logits := Dense(h, p[14], p[15])
	return softmaxCE(logits, labels)
}

func ferCNNInputs(batch int) []*tensors.Tensor {
	var in []*tensors.Tensor
	cin := 1
	for blk, cout := range []int{32, 64, 128} {
		in = append(in, randF32(uint64(10*blk+1), 3, 3, cin, cout))
		in[len(in)-1] = scaleF32(in[len(in)-1], float32(math.Sqrt(2/float64(9*cin))))
		in = append(in, randF32(uint64(10*blk+2), cout), randF32(uint64(10*blk+3), cout), randF32(uint64(10*blk+4), cout))
		cin = cout
	}
	in = append(in, scaleF32(randF32(41, 6*6*128, 256), 0.02), randF32(42, 256), scaleF32(randF32(43, 256, 7), 0.05), randF32(44, 7))
	return append(in, randF32(45, batch, 48, 48, 1))
}

func scaleF32(t *tensors.Tensor, s float32) *tensors.Tensor {
	d := tensors.MustCopyFlatData[float32](t)
	for i := range d {
		d[i] *= s
	}
	return tensors.FromFlatDataAndDimensions(d, t.Shape().Dimensions...)
}

// BenchmarkFERCNN is one training step's worth of work (loss and gradients
// of all 16 parameters) and one inference forward of the FER CNN at batch 64.
func BenchmarkFERCNN(b *testing.B) {
	backend := goBackend(b)
	const batch = 64
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = i % 7
	}
	inputs := ferCNNInputs(batch)
	b.Run("TrainStep", func(b *testing.B) {
		benchExec(b, backend, func(g *graph.Graph, in []*graph.Node) []*graph.Node {
			loss := ferCNNLoss(in[:16], in[16], labels)
			return append([]*graph.Node{loss}, graph.Gradient(loss, in[:16]...)...)
		}, inputs...)
		b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
	})
	b.Run("Inference", func(b *testing.B) {
		benchExec(b, backend, func(g *graph.Graph, in []*graph.Node) []*graph.Node {
			return []*graph.Node{ferCNNLoss(in[:16], in[16], labels)}
		}, inputs...)
		b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
	})
}
