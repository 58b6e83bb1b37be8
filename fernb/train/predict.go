package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/support/exceptions"
)

// DefaultInferBatch is fernb's one default inference batch: Predict,
// Features and Evaluate given 0, pool scoring and selection (package
// omni), distillation's checks. It is the paper's training batch, so it
// fits in memory wherever training fit (inference keeps no activations for
// a backward pass); pool scoring records it in its resume key, so changing
// it would stop interrupted selections from resuming.
const DefaultInferBatch = 64

// Predictions are a model's outputs for a set of images.
type Predictions struct {
	N, K int
	// Labels is the model's label order (column j of Logits scores Labels[j]).
	Labels []fernb.Label
	Logits []float32 // N x K, row-major
	Probs  []float32 // N x K softmax of Logits
	Pred   []fernb.Label
}

// Row returns image i's probabilities.
func (p *Predictions) Row(i int) []float32 { return p.Probs[i*p.K : (i+1)*p.K] }

// Infer runs the model on n images held in x (NHWC, the model's input size)
// in batches of batch (0: DefaultInferBatch), calling fn with each batch's
// logits [b x K] and features [b x FeatureDim]; fn's slices are reused
// after it returns. Every batch compiles to the same graph: the last one is
// padded and the padding dropped. This is the streaming form the selection
// stage uses for pools that do not fit in memory (call it per chunk).
func (m *Model) Infer(ctx context.Context, x []float32, n, batch int, fn func(start, count int, logits, features []float32) error) error {
	c := m.Net.Config
	size := c.Height * c.Width * c.Channels
	if len(x) != n*size {
		return fmt.Errorf("train: Infer: %d values for %d images of %dx%dx%d", len(x), n, c.Height, c.Width, c.Channels)
	}
	if batch <= 0 {
		batch = DefaultInferBatch
	}
	batch = min(batch, max(n, 1))
	exec, err := m.inferExec()
	if err != nil {
		return err
	}
	k, d := c.NumClasses, m.Net.FeatureDim
	for start := 0; start < n; start += batch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("train: inference cancelled at image %d of %d: %w", start, n, err)
		}
		count := min(batch, n-start)
		xt := tensors.FromShape(shapes.Make(dtypes.Float32, batch, c.Height, c.Width, c.Channels))
		tensors.MustMutableFlatData(xt, func(flat []float32) {
			copy(flat, x[start*size:(start+count)*size])
			clear(flat[count*size:])
		})
		arg, err := graph.DonateTensorBuffer(xt, m.backend, 0)
		if err != nil {
			return err
		}
		outs, err := exec.Exec(arg)
		if err != nil {
			return fmt.Errorf("train: inference: %w", err)
		}
		var fnErr error
		err = exceptions.TryCatch[error](func() {
			tensors.MustConstFlatData(outs[0], func(logits []float32) {
				tensors.MustConstFlatData(outs[1], func(feats []float32) {
					fnErr = fn(start, count, logits[:count*k], feats[:count*d])
				})
			})
		})
		for _, o := range outs {
			o.FinalizeAll()
		}
		if err != nil {
			return fmt.Errorf("train: reading inference outputs: %w", err)
		}
		if fnErr != nil {
			return fnErr
		}
	}
	return nil
}

func (m *Model) checkInput(data *dataset.Tensors) error {
	if data == nil {
		return errors.New("train: no data")
	}
	if err := data.Validate(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	c := m.Net.Config
	if data.H != c.Height || data.W != c.Width || data.C != c.Channels {
		return fmt.Errorf("train: images are %dx%dx%d, model %s takes %dx%dx%d", data.H, data.W, data.C,
			c.Name, c.Height, c.Width, c.Channels)
	}
	return nil
}

// Predict returns logits, probabilities and predicted labels for data.
func (m *Model) Predict(ctx context.Context, data *dataset.Tensors, batch int) (*Predictions, error) {
	if err := m.checkInput(data); err != nil {
		return nil, err
	}
	k := m.Net.Config.NumClasses
	p := &Predictions{N: data.N, K: k, Labels: m.Labels, Logits: make([]float32, data.N*k), Probs: make([]float32, data.N*k),
		Pred: make([]fernb.Label, data.N)}
	err := m.Infer(ctx, data.X, data.N, batch, func(start, count int, logits, _ []float32) error {
		copy(p.Logits[start*k:], logits)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := 0; i < p.N; i++ {
		Softmax(p.Logits[i*k:(i+1)*k], p.Probs[i*k:(i+1)*k])
		best := 0
		for j := 1; j < k; j++ {
			if p.Logits[i*k+j] > p.Logits[i*k+best] {
				best = j
			}
		}
		p.Pred[i] = m.Labels[best]
	}
	return p, nil
}

// Features returns the penultimate feature vector of every image of data
// (N rows of Net.FeatureDim).
func (m *Model) Features(ctx context.Context, data *dataset.Tensors, batch int) ([][]float32, error) {
	if err := m.checkInput(data); err != nil {
		return nil, err
	}
	d := m.Net.FeatureDim
	flat := make([]float32, data.N*d)
	err := m.Infer(ctx, data.X, data.N, batch, func(start, count int, _, feats []float32) error {
		copy(flat[start*d:], feats)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([][]float32, data.N)
	for i := range out {
		out[i] = flat[i*d : (i+1)*d : (i+1)*d]
	}
	return out, nil
}

// Softmax writes the probabilities of one row of logits into out (same
// length), computed in float64 after subtracting the maximum so that large
// logits neither overflow nor lose the small classes.
func Softmax(logits, out []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range logits {
		mx = max(mx, v)
	}
	var sum float64
	for j, v := range logits {
		e := math.Exp(float64(v - mx))
		out[j] = float32(e)
		sum += e
	}
	for j := range out {
		out[j] = float32(float64(out[j]) / sum)
	}
}

// ClassResult is one class's share of an Evaluation.
type ClassResult struct {
	Class    string  `json:"class"`
	N        int     `json:"n"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
}

// DroppedClass names a class left out of an evaluation and why.
type DroppedClass struct {
	Class  string `json:"class"`
	Images int    `json:"images"`
	Reason string `json:"reason"`
}

// Evaluation is a model's accuracy on a labelled set, over the classes the
// model and the set share.
type Evaluation struct {
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"`
	// MeanClassAccuracy is the unweighted mean of the per-class accuracies
	// (the figure imbalanced FER sets are often reported with).
	MeanClassAccuracy float64 `json:"mean_class_accuracy"`
	Loss              float64 `json:"loss"`
	// Classes are the shared classes, in the model's label order; they
	// index PerClass and both axes of Confusion (rows: true, columns:
	// predicted). Predictions are restricted to these classes.
	Classes    []string       `json:"classes"`
	PerClass   []ClassResult  `json:"per_class"`
	Confusion  [][]int        `json:"confusion"`
	Dropped    []DroppedClass `json:"dropped,omitempty"`
	Unlabelled int            `json:"unlabelled,omitempty"`
	// TTA names the test-time augmentation ("flip", "ten-crop:P"), if any.
	TTA string `json:"tta,omitempty"`
}

// Evaluate computes accuracy, per-class accuracy and the confusion matrix
// of m on data. Only classes both the model and the data have are scored:
// images of classes the model does not know are dropped, model classes with
// no image are left out of the arg-max (so a 7-class model evaluated on a
// 6-class set is not penalised for predicting the missing class), and both
// are named in Evaluation.Dropped.
func (m *Model) Evaluate(ctx context.Context, data *dataset.Tensors, batch int) (*Evaluation, error) {
	return m.evaluate(ctx, data, EvalOptions{Batch: batch})
}

// EvalOptions tunes EvaluateWith.
type EvalOptions struct {
	// Batch is the inference batch (0: DefaultInferBatch).
	Batch int
	// Flip is test-time augmentation: each image's class probabilities are
	// the mean of its own and its mirror image's (the training flips make
	// both valid views). It doubles the inference cost.
	Flip bool
	// TenCrop, when > 0, is ten-crop test-time augmentation for a model
	// trained with Config.Crop = TenCrop: the probabilities are the mean
	// over the centre view and the four corner crops of the image padded by
	// TenCrop pixels (edge pixels repeated, as in training), each also
	// mirrored. It implies Flip and costs ten inference passes.
	TenCrop int
}

// EvaluateWith is Evaluate with options.
func (m *Model) EvaluateWith(ctx context.Context, data *dataset.Tensors, opt EvalOptions) (*Evaluation, error) {
	return m.evaluate(ctx, data, opt)
}

func (m *Model) evaluate(ctx context.Context, data *dataset.Tensors, opt EvalOptions) (*Evaluation, error) {
	if err := m.checkInput(data); err != nil {
		return nil, err
	}
	if opt.TenCrop < 0 || opt.TenCrop >= min(data.H, data.W) {
		return nil, fmt.Errorf("train: TenCrop=%d pixels, want in [0, %d) for %dx%d images", opt.TenCrop, min(data.H, data.W), data.H, data.W)
	}
	ev := &Evaluation{}
	views := evalViews(opt)
	switch {
	case opt.TenCrop > 0:
		ev.TTA = fmt.Sprintf("ten-crop:%d", opt.TenCrop)
	case opt.Flip:
		ev.TTA = "flip"
	}
	modelIdx := newClassIndex(m.Labels)
	counts := map[fernb.Label]int{}
	var keep []int
	for i, l := range data.Labels {
		if !l.Valid() {
			ev.Unlabelled++
			continue
		}
		counts[l]++
		if _, ok := modelIdx[l]; ok {
			keep = append(keep, i)
		}
	}
	for l := fernb.Label(0); int(l) < fernb.NumLabels; l++ {
		if _, ok := modelIdx[l]; !ok && counts[l] > 0 {
			ev.Dropped = append(ev.Dropped, DroppedClass{Class: l.String(), Images: counts[l], Reason: "not a class of the model"})
		}
	}
	var shared []int // model logit indices of shared classes
	col := map[int]int{}
	for j, l := range m.Labels {
		if counts[l] == 0 {
			ev.Dropped = append(ev.Dropped, DroppedClass{Class: l.String(), Reason: "no image in the data"})
			continue
		}
		col[j] = len(shared)
		shared = append(shared, j)
		ev.Classes = append(ev.Classes, l.String())
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("train: no image of the data has a class the model knows (model: %v)", m.Meta.Labels)
	}
	sub := data
	if len(keep) != data.N {
		sub = data.Subset(keep)
	}
	nc := len(shared)
	ev.Confusion = make([][]int, nc)
	for i := range ev.Confusion {
		ev.Confusion[i] = make([]int, nc)
	}
	// probs[i*nc+c]: probability of shared class c for image i (softmax over
	// the shared classes), averaged over the views.
	k := m.Net.Config.NumClasses
	probs := make([]float64, sub.N*nc)
	addView := func(x []float32) error {
		return m.Infer(ctx, x, sub.N, opt.Batch, func(start, count int, logits, _ []float32) error {
			for i := 0; i < count; i++ {
				row := logits[i*k : (i+1)*k]
				p := probs[(start+i)*nc : (start+i+1)*nc]
				mx := math.Inf(-1)
				for _, j := range shared {
					mx = max(mx, float64(row[j]))
				}
				var z float64
				for _, j := range shared {
					z += math.Exp(float64(row[j]) - mx)
				}
				for c, j := range shared {
					p[c] += math.Exp(float64(row[j])-mx) / z
				}
			}
			return nil
		})
	}
	var view []float32 // one buffer for every transformed view
	for _, v := range views {
		x := sub.X
		if v != identity {
			if view == nil {
				view = make([]float32, len(sub.X))
			}
			size := sub.ImageSize()
			for i := range sub.N {
				warpImage(view[i*size:(i+1)*size], sub.Image(i), sub.H, sub.W, sub.C, v)
			}
			x = view
		}
		if err := addView(x); err != nil {
			return nil, err
		}
	}
	var lossSum float64
	for i := 0; i < sub.N; i++ {
		p := probs[i*nc : (i+1)*nc]
		best := 0
		for c := range p {
			p[c] /= float64(len(views))
			if p[c] > p[best] {
				best = c
			}
		}
		truth := col[int(modelIdx[sub.Labels[i]])]
		lossSum -= math.Log(max(p[truth], math.SmallestNonzeroFloat64))
		ev.Confusion[truth][best]++
	}
	correct := 0
	for c := range shared {
		n, ok := 0, ev.Confusion[c][c]
		for _, v := range ev.Confusion[c] {
			n += v
		}
		correct += ok
		acc := 0.0
		if n > 0 {
			acc = float64(ok) / float64(n)
		}
		ev.PerClass = append(ev.PerClass, ClassResult{Class: ev.Classes[c], N: n, Correct: ok, Accuracy: acc})
		ev.MeanClassAccuracy += acc / float64(nc)
	}
	ev.N = sub.N
	ev.Accuracy = float64(correct) / float64(sub.N)
	ev.Loss = lossSum / float64(sub.N)
	return ev, nil
}

// evalViews returns the views test-time augmentation averages over: the
// image itself, its mirror with Flip, and with TenCrop the four corner
// shifts of the padded image besides the centre, each mirrored too.
func evalViews(opt EvalOptions) []affine {
	views := []affine{identity}
	if p := float64(opt.TenCrop); p > 0 {
		for _, d := range [][2]float64{{-p, -p}, {-p, p}, {p, -p}, {p, p}} {
			views = append(views, newAffine(d[0], d[1], 0, 1, false))
		}
	}
	if opt.Flip || opt.TenCrop > 0 {
		for _, v := range slices.Clone(views) {
			v.a, v.b = -v.a, -v.b
			views = append(views, v)
		}
	}
	return views
}

// resolve turns a model source (a *Model, or a checkpoint directory as a
// string) into a Model; loaded reports whether it was loaded here (and so
// must be finalized by the caller).
func resolve(backend compute.Backend, src any) (m *Model, loaded bool, err error) {
	switch s := src.(type) {
	case *Model:
		if s == nil {
			return nil, false, errors.New("train: nil model")
		}
		return s, false, nil
	case string:
		m, err := LoadModel(backend, s)
		return m, true, err
	}
	return nil, false, fmt.Errorf("train: model source must be a *train.Model or a checkpoint directory, got %T", src)
}

// Predict runs Model.Predict on src: a *Model or a checkpoint directory.
func Predict(ctx context.Context, backend compute.Backend, src any, data *dataset.Tensors) (*Predictions, error) {
	m, loaded, err := resolve(backend, src)
	if err != nil {
		return nil, err
	}
	if loaded {
		defer m.Finalize()
	}
	return m.Predict(ctx, data, 0)
}

// Features runs Model.Features on src: a *Model or a checkpoint directory.
func Features(ctx context.Context, backend compute.Backend, src any, data *dataset.Tensors) ([][]float32, error) {
	m, loaded, err := resolve(backend, src)
	if err != nil {
		return nil, err
	}
	if loaded {
		defer m.Finalize()
	}
	return m.Features(ctx, data, 0)
}

// Evaluate runs Model.Evaluate on src: a *Model or a checkpoint directory.
func Evaluate(ctx context.Context, backend compute.Backend, src any, data *dataset.Tensors) (*Evaluation, error) {
	m, loaded, err := resolve(backend, src)
	if err != nil {
		return nil, err
	}
	if loaded {
		defer m.Finalize()
	}
	return m.Evaluate(ctx, data, 0)
}
