package omni

import (
	"context"
	"fmt"
	"io"

	"github.com/fernb/fernb/fernb"
)

// PoolItem is one image of a pool as listed, before decoding.
type PoolItem struct {
	// Index is the image's stable position in the pool (RecordIO index, or
	// rank in the sorted listing of a folder or archive). It must strictly
	// increase along an iteration and be the same on every listing of the
	// same pool: shards split on it and resumed runs skip by it.
	Index int64
	// Ref is the stable reference written to the manifest.
	Ref string
	// Truth is a label that the rule must not see ("" when unknown); quality
	// reports compare pseudo-labels with it.
	Truth string
}

// PoolIterator walks a pool once, in Index order. Listing (Next) is separate
// from decoding (Load) so that images of other shards, and images a resumed
// run already scored, are passed over without being decoded.
type PoolIterator interface {
	// Next returns the next item, or io.EOF after the last.
	Next(ctx context.Context) (PoolItem, error)
	// Load decodes the item Next last returned into dst (ImageShape.Size()
	// values, HWC, normalised as the model expects). An error marks that
	// image as corrupt: it is counted and skipped, and the run goes on.
	Load(dst []float32) error
	Close() error
}

// OpenOptions tells a pool what an iteration needs.
type OpenOptions struct {
	// Shape is the image shape Load must produce.
	Shape ImageShape
	// Shard is the part of the pool the run scores; a pool may list only
	// its images (omni filters the rest out anyway).
	Shard Shard
	// Start is the first index the run still needs (a resumed run); a pool
	// may skip lower indices without reading them.
	Start int64
}

// Pool is a face pool that can be streamed any number of times with memory
// independent of its size.
type Pool interface {
	// Open starts an iteration.
	Open(ctx context.Context, opt OpenOptions) (PoolIterator, error)
	// String describes the pool (format and path) for manifest headers.
	String() string
}

// FuncPool is a pool defined by functions of the index: a generated pool
// (synthetic faces by index), or an adapter over any random-access source.
type FuncPool struct {
	// Name describes the pool in headers.
	Name string
	// N is the number of images, indexed 0..N-1.
	N int64
	// Ref names image i; nil gives "#i".
	Ref func(i int64) string
	// Truth returns image i's hidden label, or nil for none.
	Truth func(i int64) string
	// Load decodes image i into dst.
	Load func(i int64, shape ImageShape, dst []float32) error
	// Shape, when set, is the only image shape the pool can produce; Open
	// refuses any other.
	Shape ImageShape
}

func (p *FuncPool) String() string { return p.Name }

// Open implements Pool.
func (p *FuncPool) Open(ctx context.Context, opt OpenOptions) (PoolIterator, error) {
	shape := opt.Shape
	if p.Load == nil {
		return nil, fmt.Errorf("omni: pool %q has no Load function", p.Name)
	}
	if p.Shape != (ImageShape{}) && p.Shape != shape {
		return nil, fmt.Errorf("omni: pool %q holds %s images, the model takes %s", p.Name, p.Shape, shape)
	}
	sh := opt.Shard
	if sh.N < 1 {
		sh = Shard{I: 1, N: 1}
	}
	first := max(opt.Start, 0)
	for !sh.Holds(first) {
		first++
	}
	return &funcIter{p: p, shape: shape, i: first - int64(sh.N), step: int64(sh.N)}, nil
}

type funcIter struct {
	p       *FuncPool
	shape   ImageShape
	i, step int64
}

func (it *funcIter) Next(ctx context.Context) (PoolItem, error) {
	if it.i+it.step >= it.p.N {
		return PoolItem{}, io.EOF
	}
	it.i += it.step
	item := PoolItem{Index: it.i, Ref: fmt.Sprintf("#%d", it.i)}
	if it.p.Ref != nil {
		item.Ref = it.p.Ref(it.i)
	}
	if it.p.Truth != nil {
		item.Truth = it.p.Truth(it.i)
	}
	return item, nil
}

func (it *funcIter) Load(dst []float32) error { return it.p.Load(it.i, it.shape, dst) }
func (it *funcIter) Close() error             { return nil }

// ArrayPool serves in-memory images (x: NHWC, n = len(x)/shape.Size()) as
// a pool, with labels[i] (when valid) as image i's hidden truth: the way to
// measure pseudo-label precision on a labelled set used as a pool. With
// dataset.Tensors t: ArrayPool(name, t.X, ImageShape{t.H, t.W, t.C},
// t.Labels, t.Refs). labels and refs may be nil.
func ArrayPool(name string, x []float32, shape ImageShape, labels []fernb.Label, refs []string) *FuncPool {
	size := shape.Size()
	return &FuncPool{
		Name: name,
		N:    int64(len(x) / size),
		Ref: func(i int64) string {
			if i < int64(len(refs)) && refs[i] != "" {
				return refs[i]
			}
			return fmt.Sprintf("#%d", i)
		},
		Truth: func(i int64) string {
			if i < int64(len(labels)) && labels[i].Valid() {
				return labels[i].String()
			}
			return ""
		},
		Load: func(i int64, _ ImageShape, dst []float32) error {
			copy(dst, x[i*int64(size):(i+1)*int64(size)])
			return nil
		},
		Shape: shape,
	}
}
