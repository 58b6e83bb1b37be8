package omni

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/train"
)

// This file connects omni's interfaces to the rest of fernb: a trained
// checkpoint (train.Model) as an Embedder, a dataset.Pool as a Pool, and
// labelled dataset.Tensors as anchor features.

// ModelEmbedder embeds with a trained model: features are the model's
// penultimate layer, probabilities the softmax of its logits, in its label
// order.
type ModelEmbedder struct {
	Model *train.Model
	// Batch is the inference batch (0: train.DefaultInferBatch).
	Batch             int
	feats, probs, pad []float32
}

// NewModelEmbedder wraps m.
func NewModelEmbedder(m *train.Model, batch int) *ModelEmbedder {
	return &ModelEmbedder{Model: m, Batch: batch}
}

func (e *ModelEmbedder) InputShape() ImageShape {
	c := e.Model.Net.Config
	return ImageShape{H: c.Height, W: c.Width, C: c.Channels}
}
func (e *ModelEmbedder) FeatureDim() int            { return e.Model.Net.FeatureDim }
func (e *ModelEmbedder) ProbClasses() []fernb.Label { return e.Model.Labels }

// Embed implements Embedder.
func (e *ModelEmbedder) Embed(ctx context.Context, x []float32, n int) ([]float32, []float32, error) {
	d, k := e.FeatureDim(), len(e.Model.Labels)
	batch := e.Batch
	if batch <= 0 {
		batch = train.DefaultInferBatch
	}
	// A short call is padded to a whole batch, so that every call runs the
	// one compiled shape: a backend may round differently for another batch
	// size, and an image's features must not depend on how many came with
	// it (a pool's last batch, one with unreadable images, a shard's share),
	// or shards would not merge to the bytes of an unsharded run.
	rows := n
	if n > 0 && n < batch {
		size := len(x) / n
		e.pad = growTo(e.pad, batch*size)
		copy(e.pad, x[:n*size])
		clear(e.pad[n*size:])
		x, rows = e.pad, batch
	}
	e.feats = growTo(e.feats, rows*d)
	e.probs = growTo(e.probs, rows*k)
	err := e.Model.Infer(ctx, x, rows, batch, func(start, count int, logits, feats []float32) error {
		copy(e.feats[start*d:], feats)
		for i := range count {
			train.Softmax(logits[i*k:(i+1)*k], e.probs[(start+i)*k:(start+i+1)*k])
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return e.feats[:n*d], e.probs[:n*k], nil
}

func growTo(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// PreprocessFor returns the preprocessing a checkpoint's images need: the
// dataset.Preprocess it recorded, or else its input size with values
// scaled to [0, 1] (and its mean/std when it recorded them).
func PreprocessFor(m *train.Model) (dataset.Preprocess, error) {
	in := m.Meta.Input
	if in.Height == 0 {
		c := m.Net.Config
		in.Height, in.Width, in.Channels = c.Height, c.Width, c.Channels
	}
	var pre dataset.Preprocess
	norm := m.Meta.Normalization
	if len(norm.Preprocess) > 0 {
		if err := json.Unmarshal(norm.Preprocess, &pre); err != nil {
			return pre, fmt.Errorf("omni: checkpoint's recorded preprocessing: %w", err)
		}
	} else {
		for _, v := range norm.Mean {
			pre.Mean = append(pre.Mean, float32(v))
		}
		for _, v := range norm.Std {
			pre.Std = append(pre.Std, float32(v))
		}
	}
	pre.Height, pre.Width, pre.Channels = in.Height, in.Width, in.Channels
	return pre, nil
}

// AnchorCentroids loads the labelled images of split ("" = all) of a data
// set, embeds them and returns their centroids (Eq. 4). perClass > 0 uses
// only the first perClass images of each class (in the data set's stable
// order): a class mean settles long before a large anchor set is exhausted,
// and embedding all of it is the slow part on a CPU.
func AnchorCentroids(ctx context.Context, e Embedder, d *dataset.Dataset, split string, pre dataset.Preprocess, batch, perClass int) (*CentroidSet, error) {
	items, err := d.Split(split)
	if err != nil {
		return nil, err
	}
	if perClass > 0 {
		items = dataset.FirstPerClass(items, perClass)
	}
	t, err := d.Load(ctx, items, pre)
	if err != nil {
		return nil, fmt.Errorf("omni: load anchor %s: %w", d.Path, err)
	}
	return TensorsCentroids(ctx, e, t, batch)
}

// TensorsCentroids embeds labelled tensors and returns their centroids.
func TensorsCentroids(ctx context.Context, e Embedder, t *dataset.Tensors, batch int) (*CentroidSet, error) {
	if s := e.InputShape(); s.H != t.H || s.W != t.W || s.C != t.C {
		return nil, fmt.Errorf("omni: anchor images are %dx%dx%d, the model takes %s", t.H, t.W, t.C, s)
	}
	f, _, err := Extract(ctx, e, t.X, t.N, batch)
	if err != nil {
		return nil, err
	}
	return Centroids(f, t.Labels)
}

// DatasetPool streams a dataset.Pool (folder, archive, RecordIO, synthetic,
// or a labelled set used as a pool). Index is the pool's ordinal; a
// labelled image's label becomes its hidden Truth, and Truth (when set)
// overrides that, e.g. to read SMILEsmileD's smile folders from the path.
type DatasetPool struct {
	Pool *dataset.Pool
	// Pre is the preprocessing (PreprocessFor the model); its size must be
	// the embedder's input.
	Pre dataset.Preprocess
	// Batch is the decode batch (default train.DefaultInferBatch).
	Batch int
	// Truth maps an image's ref and label to its hidden truth ("" none).
	Truth func(ref string, label fernb.Label) string
}

// String names the pool for the scores header and the resume key; aligned
// images are other images, so the alignment settings are part of the name.
func (p *DatasetPool) String() string {
	s := p.Pool.Format + ":" + p.Pool.Path
	if p.Pre.Align != nil {
		s += "[" + p.Pre.Align.Key() + "]"
	}
	return s
}

// Open implements Pool. Images the dataset package cannot decode do not
// reach omni as data; they show up as gaps in the shard's ordinals and are
// passed on as corrupt items (their refs are in the pool's load Report).
func (p *DatasetPool) Open(ctx context.Context, opt OpenOptions) (PoolIterator, error) {
	if p.Pre.Height != opt.Shape.H || p.Pre.Width != opt.Shape.W || p.Pre.Channels != opt.Shape.C {
		return nil, fmt.Errorf("omni: pool preprocessing gives %dx%dx%d images, the model takes %s", p.Pre.Height, p.Pre.Width, p.Pre.Channels, opt.Shape)
	}
	sh := opt.Shard
	if sh.N < 1 {
		sh = Shard{I: 1, N: 1}
	}
	batch := p.Batch
	if batch <= 0 {
		batch = train.DefaultInferBatch
	}
	sctx, cancel := context.WithCancel(ctx)
	it := &datasetIter{p: p, sh: sh, cancel: cancel, ch: make(chan dataset.Batch, 1), done: make(chan struct{}), size: opt.Shape.Size()}
	it.expect = max(opt.Start, 0)
	for !sh.Holds(it.expect) {
		it.expect++
	}
	go func() {
		defer close(it.done)
		defer close(it.ch)
		it.err = p.Pool.Stream(sctx, p.Pre, dataset.StreamOptions{Shard: sh.I - 1, NumShards: sh.N, Start: int(opt.Start), Batch: batch},
			func(b dataset.Batch) error {
				select {
				case it.ch <- b:
					return nil
				case <-sctx.Done():
					return sctx.Err()
				}
			})
	}()
	return it, nil
}

type datasetIter struct {
	p      *DatasetPool
	sh     Shard
	cancel context.CancelFunc
	ch     chan dataset.Batch
	done   chan struct{}
	err    error
	size   int

	cur     dataset.Batch
	pos     int   // next row of cur
	expect  int64 // next shard ordinal not yet returned
	gap     bool  // the last item returned is a gap (undecodable)
	loadRow int
	eof     bool
}

func (it *datasetIter) Next(ctx context.Context) (PoolItem, error) {
	for {
		if it.cur.Tensors != nil && it.pos < it.cur.N {
			ord := int64(it.cur.Ordinals[it.pos])
			if ord > it.expect {
				return it.gapItem(), nil
			}
			i := it.pos
			it.pos++
			it.expect = ord + int64(it.sh.N)
			it.gap, it.loadRow = false, i
			ref, label := it.cur.Refs[i], it.cur.Labels[i]
			item := PoolItem{Index: ord, Ref: ref}
			if it.p.Truth != nil {
				item.Truth = it.p.Truth(ref, label)
			} else if label.Valid() {
				item.Truth = label.String()
			}
			return item, nil
		}
		if it.eof {
			if n := it.p.Pool.Len(); n >= 0 && it.expect < int64(n) {
				return it.gapItem(), nil
			}
			return PoolItem{}, io.EOF
		}
		select {
		case b, ok := <-it.ch:
			if !ok {
				<-it.done
				if it.err != nil && !errors.Is(it.err, context.Canceled) {
					return PoolItem{}, it.err
				}
				if err := ctx.Err(); err != nil {
					return PoolItem{}, err
				}
				it.eof = true
				continue
			}
			it.cur, it.pos = b, 0
		case <-ctx.Done():
			return PoolItem{}, ctx.Err()
		}
	}
}

// gapItem is a shard ordinal the dataset stream skipped: an image that
// could not be read.
func (it *datasetIter) gapItem() PoolItem {
	ord := it.expect
	it.expect += int64(it.sh.N)
	it.gap = true
	return PoolItem{Index: ord, Ref: fmt.Sprintf("%s#%d", it.p.Pool.Path, ord)}
}

func (it *datasetIter) Load(dst []float32) error {
	if it.gap {
		return errors.New("could not be read or decoded (see the pool's load report)")
	}
	copy(dst, it.cur.Image(it.loadRow))
	return nil
}

func (it *datasetIter) Close() error {
	it.cancel()
	for range it.ch {
	}
	<-it.done
	return nil
}

// PathTruth returns a Truth function for DatasetPool that reads the truth
// from an image's path: rules is "substring=truth,..." (first match wins),
// e.g. "positives=happy,negatives=non-smile" for SMILEsmileD's folders.
// Images matching no rule fall back to their label.
func PathTruth(rules string) (func(ref string, label fernb.Label) string, error) {
	type rule struct{ sub, truth string }
	var rs []rule
	for _, f := range strings.Split(rules, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		sub, truth, ok := strings.Cut(f, "=")
		if !ok || sub == "" || truth == "" {
			return nil, fmt.Errorf("omni: truth rule %q: want substring=truth (e.g. positives=happy)", f)
		}
		rs = append(rs, rule{sub, canonicalTruth(truth)})
	}
	if len(rs) == 0 {
		return nil, errors.New("omni: empty truth rules")
	}
	return func(ref string, label fernb.Label) string {
		for _, r := range rs {
			if strings.Contains(ref, r.sub) {
				return r.truth
			}
		}
		if label.Valid() {
			return label.String()
		}
		return ""
	}, nil
}
