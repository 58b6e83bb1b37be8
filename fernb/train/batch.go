package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
)

// classIndex maps labels to logit indices for one label order.
type classIndex map[fernb.Label]int32

func newClassIndex(labels []fernb.Label) classIndex {
	ci := make(classIndex, len(labels))
	for i, l := range labels {
		ci[l] = int32(i)
	}
	return ci
}

// usable returns the indices of the images of t whose label is in ci, their
// class indices, and how many were left out.
func (ci classIndex) usable(t *dataset.Tensors) (idx []int, cls []int32, skipped int) {
	for i, l := range t.Labels {
		c, ok := ci[l]
		if !ok {
			skipped++
			continue
		}
		idx = append(idx, i)
		cls = append(cls, c)
	}
	return idx, cls, skipped
}

// epochRNG and stepRNG derive independent generators from the seed, so
// that shuffles and flips depend only on (seed, epoch, step), never on how
// many processes a run took.
func epochRNG(seed int64, epoch int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x5eed0000+uint64(epoch)))
}

// stepSeed is the PCG seed of step's random stream in epoch.
func stepSeed(seed int64, epoch, step int) (uint64, uint64) {
	return uint64(seed) ^ 0x9e3779b97f4a7c15, uint64(epoch)<<32 | uint64(step)
}

func stepRNG(seed int64, epoch, step int) *rand.Rand {
	return rand.New(rand.NewPCG(stepSeed(seed, epoch, step)))
}

// batchBuf is one assembled batch: images (NHWC), class indices, loss
// weights.
type batchBuf struct {
	x []float32
	y []int32
	w []float32
}

func newBatchBuf(n, imageSize int) batchBuf {
	return batchBuf{x: make([]float32, n*imageSize), y: make([]int32, n), w: make([]float32, n)}
}

// batcher assembles training batches into reused buffers. Its own buffer
// (the embedded batchBuf) is what fill writes; prefetch adds a second one.
type batcher struct {
	batchBuf
	spare     batchBuf // the second buffer of prefetch
	src       *dataset.Tensors
	idx       []int   // usable images of src
	cls       []int32 // their classes
	k         int     // classes in the label order
	aux       *Aux
	auxCls    []int32 // class of every aux image (-1: not in the label order)
	auxIdx    []int   // usable aux images
	batch     int     // images drawn from src per step
	total     int     // images per step including aux
	aug       augmenter
	balance   Balance
	classW    []float32 // BalanceWeights: loss weight per class index
	seed      int64
	imageSize int
	// pcg and rng are the step's random stream, reseeded for every batch
	// rather than allocated; only one goroutine fills at a time.
	pcg *rand.PCG
	rng *rand.Rand
}

func newBatcher(src *dataset.Tensors, ci classIndex, cfg Config) (*batcher, int, error) {
	b := &batcher{src: src, aux: cfg.Aux, aug: newAugmenter(cfg), balance: cfg.Balance, seed: cfg.Seed,
		imageSize: src.ImageSize(), k: len(ci), pcg: rand.NewPCG(0, 0)}
	b.rng = rand.New(b.pcg)
	if cfg.Crop >= src.H || cfg.Crop >= src.W {
		return nil, 0, fmt.Errorf("train: Crop=%d pixels, want fewer than the image's %dx%d", cfg.Crop, src.H, src.W)
	}
	var skipped int
	b.idx, b.cls, skipped = ci.usable(src)
	if len(b.idx) == 0 {
		return nil, skipped, fmt.Errorf("train: no training image has a label in the model's label order (%d left out)", skipped)
	}
	if b.balance == BalanceWeights {
		b.classW = classWeights(b.cls, b.k)
	}
	b.batch = cfg.BatchSize
	if b.aux != nil && b.aux.Mode == AuxMix {
		b.batch = cfg.BatchSize - b.aux.PerBatch
	}
	if len(b.idx) < b.batch {
		return nil, skipped, fmt.Errorf("train: %d usable training images, fewer than one batch of %d: lower BatchSize", len(b.idx), b.batch)
	}
	b.total = cfg.BatchSize
	if a := b.aux; a != nil {
		if a.Set.H != src.H || a.Set.W != src.W || a.Set.C != src.C {
			return nil, skipped, fmt.Errorf("train: auxiliary images are %dx%dx%d, training images %dx%dx%d",
				a.Set.H, a.Set.W, a.Set.C, src.H, src.W, src.C)
		}
		var auxSkipped int
		b.auxIdx, b.auxCls, auxSkipped = ci.usable(a.Set)
		if len(b.auxIdx) == 0 {
			return nil, skipped, fmt.Errorf("train: no auxiliary image has a label in the model's label order (%d)", auxSkipped)
		}
		if a.Mode == AuxAppend {
			b.total = cfg.BatchSize + len(b.auxIdx)
		}
	}
	b.batchBuf = newBatchBuf(b.total, b.imageSize)
	return b, skipped, nil
}

// stepsPerEpoch is how many full batches one shuffled pass over the
// training images gives.
func (b *batcher) stepsPerEpoch() int { return len(b.idx) / b.batch }

// permutation returns the order of the training images in epoch (indices
// into idx): a shuffle, or with BalanceSample a class-first draw.
func (b *batcher) permutation(epoch int) []int {
	rng := epochRNG(b.seed, epoch)
	if b.balance == BalanceSample {
		order := make([]int, len(b.idx))
		balancedDraw(rng, b.cls, b.k, order)
		return order
	}
	return rng.Perm(len(b.idx))
}

// fill writes batch `step` of `epoch` (given its permutation) into the
// batcher's own buffer.
func (b *batcher) fill(perm []int, epoch, step int) { b.fillInto(&b.batchBuf, perm, epoch, step) }

// fillInto writes batch `step` of `epoch` into dst. Everything random in
// it is drawn from the stream of (seed, epoch, step), so a batch is the
// same whenever and wherever it is assembled.
func (b *batcher) fillInto(dst *batchBuf, perm []int, epoch, step int) {
	b.pcg.Seed(stepSeed(b.seed, epoch, step))
	rng := b.rng
	s := b.imageSize
	put := func(slot int, t *dataset.Tensors, img int, cls int32, w float32, aux bool) {
		out := dst.x[slot*s : (slot+1)*s]
		b.aug.apply(out, t.Image(img), t.H, t.W, t.C, rng)
		if aux && b.aux.Augment != nil {
			b.aux.Augment(out, t.H, t.W, t.C, rng)
		}
		dst.y[slot], dst.w[slot] = cls, w
	}
	for j := 0; j < b.batch; j++ {
		k := perm[step*b.batch+j]
		w := float32(1)
		if b.classW != nil {
			w = b.classW[b.cls[k]]
		}
		put(j, b.src, b.idx[k], b.cls[k], w, false)
	}
	if a := b.aux; a != nil {
		w := float32(1)
		if a.Weight > 0 {
			w = float32(a.Weight)
		}
		switch a.Mode {
		case AuxMix:
			for j := b.batch; j < b.total; j++ {
				k := rng.IntN(len(b.auxIdx))
				put(j, a.Set, b.auxIdx[k], b.auxCls[k], w, true)
			}
		case AuxAppend:
			for j, k := range b.auxIdx {
				put(b.batch+j, a.Set, k, b.auxCls[j], w, true)
			}
		}
	}
}

// prefetcher assembles the batches of one epoch in a goroutine while the
// caller trains on the previous one: two buffers, so at most one batch is
// ready ahead, and the batches come in step order (each is a function of
// its step alone, so the overlap changes no value).
type prefetcher struct {
	ready chan *batchBuf // filled, in step order
	free  chan *batchBuf // handed back by the consumer
	stop  chan struct{}
	done  chan struct{}
}

// prefetch starts filling the batches of steps [from, to) of epoch; call
// next for each of them in order, release each after use, and close when
// done (also early).
func (b *batcher) prefetch(perm []int, epoch, from, to int) *prefetcher {
	if b.spare.x == nil {
		b.spare = newBatchBuf(b.total, b.imageSize)
	}
	p := &prefetcher{ready: make(chan *batchBuf, 1), free: make(chan *batchBuf, 2),
		stop: make(chan struct{}), done: make(chan struct{})}
	p.free <- &b.batchBuf
	p.free <- &b.spare
	go func() {
		defer close(p.done)
		for step := from; step < to; step++ {
			var buf *batchBuf
			select {
			case buf = <-p.free:
			case <-p.stop:
				return
			}
			b.fillInto(buf, perm, epoch, step)
			select {
			case p.ready <- buf:
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// next returns the next batch, waiting for it if needed.
func (p *prefetcher) next() *batchBuf { return <-p.ready }

// release hands a batch's buffer back for a later step.
func (p *prefetcher) release(buf *batchBuf) { p.free <- buf }

// close stops the goroutine and waits for it, so the batcher may be
// filled again; it is safe to call more than once and on nil.
func (p *prefetcher) close() {
	if p == nil {
		return
	}
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}
