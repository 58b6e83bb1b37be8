package distill

import (
	"fmt"
	"math/rand/v2"

	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/nn"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/support/exceptions"
)

// engine holds the compiled graphs of one run. All graphs are pure
// functions of their inputs (no variables): the network parameters θ0 are
// drawn by the init graph and passed in as tensors, so that resampled and
// fixed initialisations share one compiled step, and the optimiser state
// (Adam) lives on the host, where it is checkpointed with the images.
type engine struct {
	backend compute.Backend
	net     *models.Net
	cfg     Config
	k       int // classes
	nSyn    int // synthetic images (k * IPC)
	nReal   int // real images per outer iteration (k * RealPerClass)
	trainIx []int

	init  *graph.Exec // rng state -> params (in Specs order)
	step  *graph.Exec // DD: syn, realX, realY, rawLR[T], params... -> lossBefore, lossAfter, dSyn, dRawLR[T]; DM: syn, realX, [augmentation (dsaInputs)], params... -> loss, dSyn
	eval  *graph.Exec // DD only: syn, x, y, w, rawLR[T], params... -> weighted loss sum, correct (after T steps)
	evalN int
}

func newEngine(backend compute.Backend, cfg Config) (*engine, error) {
	net, err := models.New(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("distill: inner network: %w", err)
	}
	if net.NeedsRNG {
		return nil, fmt.Errorf("distill: inner network %s has dropout; distillation needs a deterministic network", net.Config.Name)
	}
	e := &engine{backend: backend, net: net, cfg: cfg, k: len(cfg.Classes)}
	e.nSyn = e.k * cfg.IPC
	e.nReal = e.k * cfg.RealPerClass
	for i, s := range net.Specs {
		if s.Trainable {
			e.trainIx = append(e.trainIx, i)
		}
	}
	e.init, err = graph.NewExec(backend, func(rng *graph.Node) []*graph.Node {
		p, _ := nn.InitParams(rng.Graph(), rng, net.Specs, dtypes.Float32)
		out := make([]*graph.Node, len(net.Specs))
		for i, s := range net.Specs {
			out[i] = p[s.Name]
		}
		return out
	})
	if err != nil {
		return nil, fmt.Errorf("distill: init graph: %w", err)
	}
	if cfg.Method == DD {
		e.step, err = graph.NewExec(backend, e.ddStepGraph)
	} else {
		e.step, err = graph.NewExec(backend, e.dmStepGraph)
	}
	if err != nil {
		return nil, fmt.Errorf("distill: %s step graph: %w", cfg.Method, err)
	}
	return e, nil
}

func (e *engine) finalize() {
	for _, x := range []*graph.Exec{e.init, e.step, e.eval} {
		if x != nil {
			x.Finalize()
		}
	}
}

// params maps the parameter nodes (Specs order) to nn.Params.
func (e *engine) params(in []*graph.Node) nn.Params {
	p := make(nn.Params, len(e.net.Specs))
	for i, s := range e.net.Specs {
		p[s.Name] = in[i]
	}
	return p
}

// synLabels is the one-hot [nSyn, k] matrix of the class-major synthetic
// images.
func (e *engine) synLabels(g *graph.Graph) *graph.Node {
	oh := make([][]float32, e.nSyn)
	for i := range oh {
		oh[i] = make([]float32, e.k)
		oh[i][i/e.cfg.IPC] = 1
	}
	return graph.Const(g, oh)
}

// crossEntropy is the mean softmax cross-entropy of logits against one-hot
// targets.
func crossEntropy(logits, onehot *graph.Node) *graph.Node {
	return graph.Neg(graph.ReduceAllMean(graph.ReduceSum(graph.Mul(onehot, graph.LogSoftmax(logits, -1)), -1)))
}

// unroll takes T SGD steps of the network on the synthetic images from the
// parameters p (step t uses learning rate exp(rawLR[t])) and returns the
// final parameters. The inner network runs in training mode, so batch norm
// uses the statistics of the synthetic batch and its running statistics
// are never used: that is how Wang et al. train the inner network, and it
// keeps the gradient flowing through the normalisation.
func (e *engine) unroll(syn *graph.Node, rawLR []*graph.Node, p nn.Params) nn.Params {
	g := syn.Graph()
	targets := e.synLabels(g)
	for t := range e.cfg.T() {
		out := e.net.Apply(p, syn, true)
		loss := crossEntropy(out.Logits, targets)
		wrt := make([]*graph.Node, len(e.trainIx))
		for j, i := range e.trainIx {
			wrt[j] = p[e.net.Specs[i].Name]
		}
		grads := graph.Gradient(loss, wrt...)
		lr := graph.Exp(rawLR[t])
		next := make(nn.Params, len(p))
		for name, v := range p {
			next[name] = v
		}
		for j, i := range e.trainIx {
			name := e.net.Specs[i].Name
			next[name] = graph.Sub(p[name], graph.Mul(lr, grads[j]))
		}
		p = next
	}
	return p
}

// realLoss is the mean cross-entropy of the network p on real images x
// with class indices y (int32), batch norm in training mode.
func (e *engine) realLoss(p nn.Params, x, y *graph.Node) *graph.Node {
	out := e.net.Apply(p, x, true)
	return crossEntropy(out.Logits, graph.OneHot(y, e.k, out.Logits.DType()))
}

// ddStepGraph is one outer DD iteration: the real loss at θ0 (reported
// only), the real loss after the unrolled steps, and its gradients with
// respect to the images and the raw (log) learning rates.
func (e *engine) ddStepGraph(in []*graph.Node) []*graph.Node {
	g := in[0].Graph()
	nn.SetFormulation(g, nn.Differentiable)
	syn, x, y := in[0], in[1], in[2]
	T := e.cfg.T()
	rawLR := in[3 : 3+T]
	p0 := e.params(in[3+T:])
	before := graph.StopGradient(e.realLoss(p0, x, y))
	pT := e.unroll(syn, rawLR, p0)
	after := e.realLoss(pT, x, y)
	grads := graph.Gradient(after, append([]*graph.Node{syn}, rawLR...)...)
	return append([]*graph.Node{before, after}, grads...)
}

// ddEvalGraph trains θ0 for the T unrolled steps on the images and returns
// the weighted loss sum and the number of correct predictions on a batch of
// real images (w = 0 marks padding). The network stays in training mode
// (batch statistics), as in the unrolled objective, so the evaluation
// measures what DD optimises.
func (e *engine) ddEvalGraph(in []*graph.Node) []*graph.Node {
	g := in[0].Graph()
	nn.SetFormulation(g, nn.Differentiable)
	syn, x, y, w := in[0], in[1], in[2], in[3]
	T := e.cfg.T()
	pT := e.unroll(syn, in[4:4+T], e.params(in[4+T:]))
	out := e.net.Apply(pT, x, true)
	dt := out.Logits.DType()
	ce := graph.Neg(graph.ReduceSum(graph.Mul(graph.OneHot(y, e.k, dt), graph.LogSoftmax(out.Logits, -1)), -1))
	lossSum := graph.ReduceAllSum(graph.Mul(ce, w))
	pred := graph.ArgMax(out.Logits, -1, dtypes.Int32)
	correct := graph.ReduceAllSum(graph.Mul(graph.ConvertDType(graph.Equal(pred, y), dt), w))
	return []*graph.Node{lossSum, correct}
}

// dmStepGraph is one outer DM iteration: embed the real images (all
// classes in one batch) and the synthetic images with the freshly drawn
// network, and match the per-class means:
// loss = Σ_c ‖mean_real_c − mean_syn_c‖². Only the synthetic side carries a
// gradient.
//
// Batch norm runs in inference mode with the fresh network's running
// statistics (mean 0, variance 1), i.e. as the identity, so an image's
// embedding does not depend on the rest of its batch; with
// Config.DMBatchStats it uses batch statistics instead, as DM's own code
// does for its BN networks (real batch and synthetic batch normalised
// separately). With one image per class the synthetic batch's statistics
// are those of K images against K x RealPerClass real ones, which the
// matching cannot undo: on the tests' 3-class problem the matching loss
// under unseen networks fell 56 -> 36 with batch statistics and 17 -> 4
// without.
//
// With Config.DSA the next dsaInputs inputs transform the real images (index
// map, brightness, saturation, contrast), then the synthetic ones, and the
// last one is the fill value (see applyAug).
func (e *engine) dmStepGraph(in []*graph.Node) []*graph.Node {
	syn, real := in[0], in[1]
	in = in[2:]
	if e.cfg.DSA {
		a := in[:dsaInputs]
		fill := a[8]
		real = applyAug(real, a[0], a[1], a[2], a[3], fill)
		syn = applyAug(syn, a[4], a[5], a[6], a[7], fill)
		in = in[dsaInputs:]
	}
	p := e.params(in)
	bs := e.cfg.DMBatchStats
	fr := graph.StopGradient(e.net.Apply(p, real, bs).Features)
	fs := e.net.Apply(p, syn, bs).Features
	d := e.net.FeatureDim
	mr := graph.ReduceMean(graph.Reshape(fr, e.k, e.cfg.RealPerClass, d), 1)
	ms := graph.ReduceMean(graph.Reshape(fs, e.k, e.cfg.IPC, d), 1)
	loss := graph.ReduceAllSum(graph.Square(graph.Sub(mr, ms)))
	return []*graph.Node{loss, graph.Gradient(loss, syn)[0]}
}

// drawParams runs the init graph with the RNG state of seed.
func (e *engine) drawParams(seed int64) ([]*tensors.Tensor, error) {
	rng, err := graph.RNGStateFromSeed(seed)
	if err != nil {
		return nil, err
	}
	return e.init.Exec(rng)
}

func finalizeAll(ts []*tensors.Tensor) {
	for _, t := range ts {
		if t != nil {
			t.FinalizeAll()
		}
	}
}

// imagesTensor copies flat NHWC values into a new tensor.
func imagesTensor(x []float32, n int, c models.Config) *tensors.Tensor {
	t := tensors.FromShape(shapes.Make(dtypes.Float32, n, c.Height, c.Width, c.Channels))
	tensors.MustMutableFlatData(t, func(flat []float32) { copy(flat, x) })
	return t
}

// stepResult is what one outer iteration returns to the host.
type stepResult struct {
	loss, before float64
	dSyn         []float32
	dRawLR       []float64
}

// dsaInputs is the number of augmentation inputs of the DM step graph:
// index map, brightness, saturation and contrast of the real images, the
// same of the synthetic images, and the fill value.
const dsaInputs = 9

// augTensors turns the real and synthetic augBatches and the fill value into
// the DM step's augmentation inputs.
func augTensors(real, syn augBatch, fill []float32) []any {
	var out []any
	for _, b := range []augBatch{real, syn} {
		n := len(b.sat)
		out = append(out, tensors.FromFlatDataAndDimensions(b.idx, len(b.idx), 1),
			tensors.FromFlatDataAndDimensions(b.add, n, len(b.add)/n),
			tensors.FromFlatDataAndDimensions(b.sat, n),
			tensors.FromFlatDataAndDimensions(b.con, n))
	}
	return append(out, tensors.FromFlatDataAndDimensions(fill, len(fill)))
}

// augmentation returns the DM step's augmentation inputs for outer
// iteration it of h x w x c images (nil without Config.DSA), given the real
// data's per-channel mean and standard deviation. The draws come from their
// own stream of the seed and the iteration, so a resumed run draws the
// same transformations.
func (e *engine) augmentation(it, h, w, c int, mean, std []float32) []any {
	if !e.cfg.DSA {
		return nil
	}
	per := e.cfg.RealPerClass
	ps := drawAug(rand.New(rand.NewPCG(uint64(e.cfg.Seed)^0xd5a, uint64(it)+1)), e.k, per, h, w)
	return augTensors(buildAug(ps, h, w, c, std), buildAug(siamese(ps, e.k, per, e.cfg.IPC), h, w, c, std), mean)
}

// runStep executes one outer iteration; aug holds the augmentation inputs
// (augTensors) of a DM run with Config.DSA, nil otherwise.
func (e *engine) runStep(syn []float32, rawLR []float64, realX []float32, realY []int32, aug []any, theta []*tensors.Tensor) (res stepResult, err error) {
	args := []any{imagesTensor(syn, e.nSyn, e.net.Config), imagesTensor(realX, e.nReal, e.net.Config)}
	args = append(args, aug...)
	if e.cfg.Method == DD {
		args = append(args, tensors.FromFlatDataAndDimensions(realY, len(realY)))
		for _, r := range rawLR {
			args = append(args, tensors.FromScalar(float32(r)))
		}
	}
	for _, t := range theta {
		args = append(args, t)
	}
	outs, err := e.step.Exec(args...)
	if err != nil {
		return res, fmt.Errorf("distill: %s step: %w", e.cfg.Method, err)
	}
	defer finalizeAll(outs)
	err = exceptions.TryCatch[error](func() {
		if e.cfg.Method == DD {
			res.before = float64(tensors.ToScalar[float32](outs[0]))
			res.loss = float64(tensors.ToScalar[float32](outs[1]))
			res.dSyn = tensors.MustCopyFlatData[float32](outs[2])
			for _, o := range outs[3:] {
				res.dRawLR = append(res.dRawLR, float64(tensors.ToScalar[float32](o)))
			}
			return
		}
		res.loss = float64(tensors.ToScalar[float32](outs[0]))
		res.dSyn = tensors.MustCopyFlatData[float32](outs[1])
	})
	return res, err
}

// evalDD trains θ0 with the learned schedule and returns the summed loss
// and number correct over n real images given padded to batches of
// e.evalN.
func (e *engine) evalBatch(syn []float32, rawLR []float64, x []float32, y []int32, w []float32, theta []*tensors.Tensor) (lossSum, correct float64, err error) {
	if e.eval == nil || e.evalN != len(y) {
		if e.eval != nil {
			e.eval.Finalize()
		}
		e.eval, err = graph.NewExec(e.backend, e.ddEvalGraph)
		if err != nil {
			return 0, 0, fmt.Errorf("distill: eval graph: %w", err)
		}
		e.evalN = len(y)
	}
	args := []any{imagesTensor(syn, e.nSyn, e.net.Config), imagesTensor(x, len(y), e.net.Config),
		tensors.FromFlatDataAndDimensions(y, len(y)), tensors.FromFlatDataAndDimensions(w, len(w))}
	for _, r := range rawLR {
		args = append(args, tensors.FromScalar(float32(r)))
	}
	for _, t := range theta {
		args = append(args, t)
	}
	outs, err := e.eval.Exec(args...)
	if err != nil {
		return 0, 0, fmt.Errorf("distill: eval: %w", err)
	}
	defer finalizeAll(outs)
	err = exceptions.TryCatch[error](func() {
		lossSum = float64(tensors.ToScalar[float32](outs[0]))
		correct = float64(tensors.ToScalar[float32](outs[1]))
	})
	return lossSum, correct, err
}
