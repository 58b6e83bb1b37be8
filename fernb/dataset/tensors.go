package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fernb/fernb/fernb"
)

// Tensors is a decoded, preprocessed set of images held as one flat float32
// buffer, the shape in which training, feature extraction and distillation
// consume data: one contiguous NHWC block copies straight into a backend
// tensor without per-image allocation.
//
// X holds N images of H x W x C values in NHWC row-major order, normalised as
// the Preprocess that produced them says. Labels[i] is fernb.Unlabelled for
// pool images. Refs[i] is the image's stable reference (path inside the data
// set or archive, or "rec:INDEX" for RecordIO) so that results can name the
// image they came from. Subjects[i] is the subject identifier where the
// format knows it, "" otherwise.
type Tensors struct {
	X          []float32
	N, H, W, C int
	Labels     []fernb.Label
	Refs       []string
	Subjects   []string
}

// NewTensors allocates Tensors for n images of h x w x c values, with
// labels set to fernb.Unlabelled.
func NewTensors(n, h, w, c int) *Tensors {
	t := &Tensors{
		X: make([]float32, n*h*w*c),
		N: n, H: h, W: w, C: c,
		Labels:   make([]fernb.Label, n),
		Refs:     make([]string, n),
		Subjects: make([]string, n),
	}
	for i := range t.Labels {
		t.Labels[i] = fernb.Unlabelled
	}
	return t
}

// Len returns the number of images; a nil set (no validation set, say) has
// none.
func (t *Tensors) Len() int {
	if t == nil {
		return 0
	}
	return t.N
}

// ImageSize returns the number of float32 values per image (H*W*C).
func (t *Tensors) ImageSize() int { return t.H * t.W * t.C }

// Shape returns [N, H, W, C], the shape of X as a tensor.
func (t *Tensors) Shape() []int { return []int{t.N, t.H, t.W, t.C} }

// Image returns image i as a slice of X (HWC, shared, not copied).
func (t *Tensors) Image(i int) []float32 {
	s := t.ImageSize()
	return t.X[i*s : (i+1)*s : (i+1)*s]
}

// Validate checks that the buffer and the per-image slices agree with N, H,
// W and C; code that builds Tensors by hand calls it before training.
func (t *Tensors) Validate() error {
	if t.N < 0 || t.H <= 0 || t.W <= 0 || t.C <= 0 {
		return fmt.Errorf("dataset: bad tensor shape N=%d H=%d W=%d C=%d", t.N, t.H, t.W, t.C)
	}
	if len(t.X) != t.N*t.ImageSize() {
		return fmt.Errorf("dataset: X has %d values, want N*H*W*C = %d", len(t.X), t.N*t.ImageSize())
	}
	if len(t.Labels) != t.N {
		return fmt.Errorf("dataset: %d labels for %d images", len(t.Labels), t.N)
	}
	if t.Refs != nil && len(t.Refs) != t.N {
		return fmt.Errorf("dataset: %d refs for %d images", len(t.Refs), t.N)
	}
	if t.Subjects != nil && len(t.Subjects) != t.N {
		return fmt.Errorf("dataset: %d subjects for %d images", len(t.Subjects), t.N)
	}
	return nil
}

// Subset returns a new Tensors holding the images at idx, in that order
// (indices may repeat). X is copied so the subset can be modified (e.g.
// flipped) without touching t.
func (t *Tensors) Subset(idx []int) *Tensors {
	s := t.ImageSize()
	out := &Tensors{
		X: make([]float32, len(idx)*s),
		N: len(idx), H: t.H, W: t.W, C: t.C,
		Labels: make([]fernb.Label, len(idx)),
	}
	if t.Refs != nil {
		out.Refs = make([]string, len(idx))
	}
	if t.Subjects != nil {
		out.Subjects = make([]string, len(idx))
	}
	for j, i := range idx {
		copy(out.X[j*s:(j+1)*s], t.Image(i))
		out.Labels[j] = t.Labels[i]
		if t.Refs != nil {
			out.Refs[j] = t.Refs[i]
		}
		if t.Subjects != nil {
			out.Subjects[j] = t.Subjects[i]
		}
	}
	return out
}

// Clone returns a copy of t that can be modified without touching t.
func (t *Tensors) Clone() *Tensors {
	out := *t
	out.X = slices.Clone(t.X)
	out.Labels = slices.Clone(t.Labels)
	out.Refs = slices.Clone(t.Refs)
	out.Subjects = slices.Clone(t.Subjects)
	return &out
}

// Append adds the images of u (same H, W, C) to the end of t, e.g. the
// auxiliary samples after the anchor set.
func (t *Tensors) Append(u *Tensors) error {
	if u.H != t.H || u.W != t.W || u.C != t.C {
		return fmt.Errorf("dataset: cannot append %dx%dx%d images to %dx%dx%d", u.H, u.W, u.C, t.H, t.W, t.C)
	}
	pad := func(s []string, n int) []string {
		if s == nil {
			return make([]string, n)
		}
		return s
	}
	if t.Refs != nil || u.Refs != nil {
		t.Refs = append(pad(t.Refs, t.N), pad(u.Refs, u.N)...)
	}
	if t.Subjects != nil || u.Subjects != nil {
		t.Subjects = append(pad(t.Subjects, t.N), pad(u.Subjects, u.N)...)
	}
	t.X = append(t.X, u.X...)
	t.Labels = append(t.Labels, u.Labels...)
	t.N += u.N
	return nil
}

// ClassCounts returns the number of images per label (index = label; the
// last entry, index fernb.NumLabels, counts unlabelled images).
func (t *Tensors) ClassCounts() [fernb.NumLabels + 1]int {
	var c [fernb.NumLabels + 1]int
	for _, l := range t.Labels {
		if l.Valid() {
			c[l]++
		} else {
			c[fernb.NumLabels]++
		}
	}
	return c
}

// FlipHorizontal mirrors image i in place (left-right), the augmentation
// used by the paper's training recipe.
func (t *Tensors) FlipHorizontal(i int) { FlipImage(t.Image(i), t.H, t.W, t.C) }

// FlipImage mirrors one h x w x c image (rows, then columns, channels
// last) left-right in place: FlipHorizontal for an image that lives in a
// batch buffer rather than in a Tensors.
func FlipImage(img []float32, h, w, c int) {
	for y := 0; y < h; y++ {
		row := img[y*w*c : (y+1)*w*c]
		for a, b := 0, w-1; a < b; a, b = a+1, b-1 {
			for k := 0; k < c; k++ {
				row[a*c+k], row[b*c+k] = row[b*c+k], row[a*c+k]
			}
		}
	}
}

// BatchIndices splits 0..n-1 into batches of at most size indices, in a
// random order drawn from rng (nil: in order). Together with Subset and
// RandomFlip it forms an epoch's mini-batches, reproducible from a seed.
func BatchIndices(n, size int, rng *rand.Rand) [][]int {
	if size <= 0 {
		size = n
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	if rng != nil {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	}
	var out [][]int
	for lo := 0; lo < n; lo += size {
		out = append(out, perm[lo:min(lo+size, n)])
	}
	return out
}

// ChannelStats returns the per-channel mean and (population) standard
// deviation of t's pixel values: the fill value and brightness unit of
// distillation's augmentation, the statistics a noise-initialised
// synthetic image is drawn from.
func (t *Tensors) ChannelStats() (mean, std []float32) {
	sum, sq := make([]float64, t.C), make([]float64, t.C)
	for i, v := range t.X {
		sum[i%t.C] += float64(v)
		sq[i%t.C] += float64(v) * float64(v)
	}
	n := float64(len(t.X) / t.C)
	mean, std = make([]float32, t.C), make([]float32, t.C)
	for c := range t.C {
		m := sum[c] / n
		mean[c] = float32(m)
		std[c] = float32(math.Sqrt(max(sq[c]/n-m*m, 0)))
	}
	return mean, std
}
