package omni

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/fernb/fernb/fernb/train"

	"github.com/fernb/fernb/fernb"
)

// Features is a row-major matrix of N vectors of Dim float32 values: the
// penultimate-layer features of N images, or (with Dim = number of classes)
// their softmax probabilities. One flat buffer, like dataset.Tensors, so a
// batch copies to and from a backend tensor without per-row allocation.
type Features struct {
	Data   []float32
	N, Dim int
}

// NewFeatures allocates an n x dim zero matrix.
func NewFeatures(n, dim int) Features {
	return Features{Data: make([]float32, n*dim), N: n, Dim: dim}
}

// Row returns vector i (shared with Data, not copied).
func (f Features) Row(i int) []float32 { return f.Data[i*f.Dim : (i+1)*f.Dim : (i+1)*f.Dim] }

// Validate checks that Data holds exactly N*Dim values.
func (f Features) Validate() error {
	if f.N < 0 || f.Dim <= 0 {
		return fmt.Errorf("omni: bad feature shape N=%d Dim=%d", f.N, f.Dim)
	}
	if len(f.Data) != f.N*f.Dim {
		return fmt.Errorf("omni: features hold %d values, want N*Dim = %d*%d = %d", len(f.Data), f.N, f.Dim, f.N*f.Dim)
	}
	return nil
}

// ImageShape is the height, width and channels of the images an Embedder
// takes; pools decode and resize into it.
type ImageShape struct{ H, W, C int }

// Size is the number of float32 values of one image (H*W*C).
func (s ImageShape) Size() int { return s.H * s.W * s.C }

func (s ImageShape) String() string { return fmt.Sprintf("%dx%dx%d", s.H, s.W, s.C) }

// Embedder maps a batch of images to their features (the layer before the
// classifier) and, when the model has a classifier, its softmax
// probabilities. It is the only thing omni needs from a model, so selection
// runs the same on a trained checkpoint (see the train package), on a
// pre-trained network, or on a cheap fake in tests.
type Embedder interface {
	// InputShape is the shape of one image in the batches Embed receives.
	InputShape() ImageShape
	// FeatureDim is the length of one feature vector.
	FeatureDim() int
	// ProbClasses names the columns of the probabilities Embed returns
	// (the model's label order), or nil when it returns none.
	ProbClasses() []fernb.Label
	// Embed maps n images (x holds n*InputShape().Size() values, NHWC) to
	// n*FeatureDim() features and n*len(ProbClasses()) probabilities (nil
	// when ProbClasses is nil). The returned slices may be reused by the
	// next call; callers copy what they keep. Row i of the result must
	// depend only on image i.
	Embed(ctx context.Context, x []float32, n int) (features, probs []float32, err error)
}

// FuncEmbedder adapts a function to the Embedder interface.
type FuncEmbedder struct {
	Shape   ImageShape
	Dim     int
	Classes []fernb.Label
	Fn      func(ctx context.Context, x []float32, n int) (features, probs []float32, err error)
}

func (e FuncEmbedder) InputShape() ImageShape     { return e.Shape }
func (e FuncEmbedder) FeatureDim() int            { return e.Dim }
func (e FuncEmbedder) ProbClasses() []fernb.Label { return e.Classes }
func (e FuncEmbedder) Embed(ctx context.Context, x []float32, n int) ([]float32, []float32, error) {
	return e.Fn(ctx, x, n)
}

// checkEmbedding verifies the sizes an Embedder returned, so that a wrong
// model/shape combination stops with a clear error instead of a panic.
func checkEmbedding(e Embedder, n int, feats, probs []float32) error {
	if len(feats) != n*e.FeatureDim() {
		return fmt.Errorf("omni: embedder returned %d feature values for %d images, want %d (FeatureDim %d)", len(feats), n, n*e.FeatureDim(), e.FeatureDim())
	}
	if k := len(e.ProbClasses()); k > 0 && len(probs) != n*k {
		return fmt.Errorf("omni: embedder returned %d probabilities for %d images, want %d (%d classes)", len(probs), n, n*k, k)
	}
	return nil
}

// Extract runs n images (x, NHWC, n*InputShape().Size() values) through e in
// batches of batch images and returns their features and probabilities
// (probs.N == 0 when e has no classifier). It is how the labelled anchor set
// is embedded to compute the centroids.
func Extract(ctx context.Context, e Embedder, x []float32, n, batch int) (feats, probs Features, err error) {
	size := e.InputShape().Size()
	if len(x) != n*size {
		return feats, probs, fmt.Errorf("omni: extract: %d input values for %d images of %s, want %d", len(x), n, e.InputShape(), n*size)
	}
	if batch <= 0 {
		batch = train.DefaultInferBatch
	}
	k := len(e.ProbClasses())
	feats = NewFeatures(n, e.FeatureDim())
	if k > 0 {
		probs = NewFeatures(n, k)
	}
	for start := 0; start < n; start += batch {
		if err := ctx.Err(); err != nil {
			return Features{}, Features{}, err
		}
		m := min(batch, n-start)
		f, p, err := e.Embed(ctx, x[start*size:(start+m)*size], m)
		if err != nil {
			return Features{}, Features{}, fmt.Errorf("omni: extract images %d..%d: %w", start, start+m-1, err)
		}
		if err := checkEmbedding(e, m, f, p); err != nil {
			return Features{}, Features{}, err
		}
		copy(feats.Data[start*feats.Dim:], f)
		if k > 0 {
			copy(probs.Data[start*k:], p)
		}
	}
	return feats, probs, nil
}

// CentroidSet holds one centroid per class present in the labelled set: the
// mean feature of that class's labelled images (the paper's Eq. 4).
// Classes[j] is the label of Vectors[j]; similarity vectors, manifests and
// reports use this column order.
type CentroidSet struct {
	Classes []fernb.Label `json:"classes"`
	Vectors [][]float32   `json:"vectors"`
	// Counts[j] is the number of labelled images averaged into Vectors[j].
	Counts []int `json:"counts"`
	norms  []float64
}

// ErrTooFewClasses is returned when the labelled set has fewer than two
// classes: a margin between the best and the second-best centroid then has
// no meaning.
var ErrTooFewClasses = errors.New("omni: need labelled images of at least two classes")

// Centroids computes the per-class mean feature of the labelled images (Eq.
// 4). labels[i] labels feats.Row(i); rows labelled fernb.Unlabelled are
// ignored. Classes come out in label order. Means are accumulated in float64
// so that the result does not depend on the order of a large anchor set
// beyond float32 rounding of the final value.
func Centroids(feats Features, labels []fernb.Label) (*CentroidSet, error) {
	if err := feats.Validate(); err != nil {
		return nil, err
	}
	if len(labels) != feats.N {
		return nil, fmt.Errorf("omni: centroids: %d labels for %d feature vectors", len(labels), feats.N)
	}
	sums := map[fernb.Label][]float64{}
	counts := map[fernb.Label]int{}
	for i, l := range labels {
		if l == fernb.Unlabelled {
			continue
		}
		if !l.Valid() {
			return nil, fmt.Errorf("omni: centroids: row %d has invalid label %d", i, int(l))
		}
		s := sums[l]
		if s == nil {
			s = make([]float64, feats.Dim)
			sums[l] = s
		}
		for d, v := range feats.Row(i) {
			s[d] += float64(v)
		}
		counts[l]++
	}
	c := &CentroidSet{}
	for l := fernb.Label(0); l < fernb.NumLabels; l++ {
		s, ok := sums[l]
		if !ok {
			continue
		}
		v := make([]float32, feats.Dim)
		for d := range v {
			v[d] = float32(s[d] / float64(counts[l]))
		}
		c.Classes = append(c.Classes, l)
		c.Vectors = append(c.Vectors, v)
		c.Counts = append(c.Counts, counts[l])
	}
	if len(c.Classes) < 2 {
		return nil, fmt.Errorf("%w (found %v)", ErrTooFewClasses, c.Classes)
	}
	return c, nil
}

// Dim is the feature dimension of the centroids.
func (c *CentroidSet) Dim() int { return len(c.Vectors[0]) }

// Index returns the column of class l, or -1 when the labelled set had no
// image of l.
func (c *CentroidSet) Index(l fernb.Label) int {
	for j, k := range c.Classes {
		if k == l {
			return j
		}
	}
	return -1
}

// Validate checks a CentroidSet read from disk or built by hand.
func (c *CentroidSet) Validate() error {
	if len(c.Classes) < 2 {
		return fmt.Errorf("%w (have %d)", ErrTooFewClasses, len(c.Classes))
	}
	if len(c.Vectors) != len(c.Classes) {
		return fmt.Errorf("omni: centroid set has %d classes but %d vectors", len(c.Classes), len(c.Vectors))
	}
	for j, v := range c.Vectors {
		if len(v) != len(c.Vectors[0]) || len(v) == 0 {
			return fmt.Errorf("omni: centroid %d (%s) has length %d, want %d", j, c.Classes[j], len(v), len(c.Vectors[0]))
		}
		if !c.Classes[j].Valid() {
			return fmt.Errorf("omni: centroid %d has invalid label %d", j, int(c.Classes[j]))
		}
	}
	return nil
}

func (c *CentroidSet) centroidNorms() []float64 {
	if len(c.norms) != len(c.Vectors) {
		norms := make([]float64, len(c.Vectors))
		for j, v := range c.Vectors {
			norms[j] = norm(v)
		}
		c.norms = norms
	}
	return c.norms
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// Similarities writes the cosine similarity of f to every centroid (Eq. 5,
// s_k = c_k.f / (|c_k| |f|)) into dst (grown if short) and returns it. A zero
// vector (or a zero centroid) has similarity 0 to everything, so that it can
// never pass a positive margin.
func (c *CentroidSet) Similarities(f []float32, dst []float32) []float32 {
	norms := c.centroidNorms()
	if cap(dst) < len(c.Vectors) {
		dst = make([]float32, len(c.Vectors))
	}
	dst = dst[:len(c.Vectors)]
	nf := norm(f)
	for j, v := range c.Vectors {
		if nf == 0 || norms[j] == 0 {
			dst[j] = 0
			continue
		}
		var dot float64
		for d, x := range v {
			dot += float64(x) * float64(f[d])
		}
		dst[j] = float32(dot / (nf * norms[j]))
	}
	return dst
}

// Fingerprint is a short hash of the classes and centroid values; a resumed
// pool scoring run checks it so that it never appends scores computed
// against different centroids.
func (c *CentroidSet) Fingerprint() string {
	h := sha256.New()
	var buf [4]byte
	for j, v := range c.Vectors {
		binary.LittleEndian.PutUint32(buf[:], uint32(c.Classes[j]))
		h.Write(buf[:])
		for _, x := range v {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(x))
			h.Write(buf[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// centroidsFile is the on-disk form of a CentroidSet with its provenance.
type centroidsFile struct {
	Format string `json:"format"`
	Model  string `json:"model"`
	Anchor string `json:"anchor"`
	*CentroidSet
}

const centroidsFormat = "fernb-centroids/1"

// SaveCentroids writes c atomically as JSON, with the model and anchor set
// it came from, so that a resumed or sharded run reuses the same centroids
// instead of re-embedding the anchor set (and cannot mix up two models').
func SaveCentroids(path string, c *CentroidSet, model, anchor string) error {
	return writeAtomicJSON(path, centroidsFile{Format: centroidsFormat, Model: model, Anchor: anchor, CentroidSet: c})
}

// LoadCentroids reads a file SaveCentroids wrote and returns its centroids
// with the model and anchor it records.
func LoadCentroids(path string) (c *CentroidSet, model, anchor string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", "", fmt.Errorf("omni: %w", err)
	}
	f := centroidsFile{CentroidSet: &CentroidSet{}}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, "", "", fmt.Errorf("omni: %s: %v", path, err)
	}
	if f.Format != centroidsFormat {
		return nil, "", "", fmt.Errorf("omni: %s: format %q, want %q", path, f.Format, centroidsFormat)
	}
	if err := f.CentroidSet.Validate(); err != nil {
		return nil, "", "", fmt.Errorf("omni: %s: %w", path, err)
	}
	return f.CentroidSet, f.Model, f.Anchor, nil
}
