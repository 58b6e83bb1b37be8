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

func stepRNG(seed int64, epoch, step int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed)^0x9e3779b97f4a7c15, uint64(epoch)<<32|uint64(step)))
}

// batcher assembles training batches into reused buffers.
type batcher struct {
	src       *dataset.Tensors
	idx       []int   // usable images of src
	cls       []int32 // their classes
	aux       *Aux
	auxCls    []int32 // class of every aux image (-1: not in the label order)
	auxIdx    []int   // usable aux images
	batch     int     // images drawn from src per step
	total     int     // images per step including aux
	flip      bool
	seed      int64
	imageSize int
	x         []float32
	y         []int32
	w         []float32
}

func newBatcher(src *dataset.Tensors, ci classIndex, cfg Config) (*batcher, int, error) {
	b := &batcher{src: src, aux: cfg.Aux, flip: !cfg.NoFlip, seed: cfg.Seed, imageSize: src.ImageSize()}
	var skipped int
	b.idx, b.cls, skipped = ci.usable(src)
	if len(b.idx) == 0 {
		return nil, skipped, fmt.Errorf("train: no training image has a label in the model's label order (%d left out)", skipped)
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
	b.x = make([]float32, b.total*b.imageSize)
	b.y = make([]int32, b.total)
	b.w = make([]float32, b.total)
	return b, skipped, nil
}

// stepsPerEpoch is how many full batches one shuffled pass over the
// training images gives.
func (b *batcher) stepsPerEpoch() int { return len(b.idx) / b.batch }

// permutation returns the order of the training images in epoch.
func (b *batcher) permutation(epoch int) []int {
	return epochRNG(b.seed, epoch).Perm(len(b.idx))
}

// fill writes batch `step` of `epoch` (given its permutation) into b.x,
// b.y, b.w.
func (b *batcher) fill(perm []int, epoch, step int) {
	rng := stepRNG(b.seed, epoch, step)
	s := b.imageSize
	put := func(slot int, t *dataset.Tensors, img int, cls int32, w float32, aux bool) {
		dst := b.x[slot*s : (slot+1)*s]
		copy(dst, t.Image(img))
		if b.flip && rng.IntN(2) == 1 {
			dataset.FlipImage(dst, t.H, t.W, t.C)
		}
		if aux && b.aux.Augment != nil {
			b.aux.Augment(dst, t.H, t.W, t.C, rng)
		}
		b.y[slot], b.w[slot] = cls, w
	}
	for j := 0; j < b.batch; j++ {
		k := perm[step*b.batch+j]
		put(j, b.src, b.idx[k], b.cls[k], 1, false)
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
