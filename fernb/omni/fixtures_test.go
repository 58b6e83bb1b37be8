package omni

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/fernb/fernb/fernb"
)

// clusters is a generated feature space: K Gaussian clusters in Dim
// dimensions around fixed random means. Image i of the generated pool "is"
// its feature vector (an image of shape 1x1xDim), and the fake embedder is
// the identity, so tests exercise omni and nothing else.
type clusters struct {
	K, Dim int
	Means  [][]float64
	Sigma  float64
	Seed   uint64
}

func newClusters(k, dim int, sigma float64, seed uint64) *clusters {
	r := rand.New(rand.NewPCG(seed, 1))
	c := &clusters{K: k, Dim: dim, Sigma: sigma, Seed: seed}
	for range k {
		m := make([]float64, dim)
		for d := range m {
			m[d] = r.NormFloat64()
		}
		c.Means = append(c.Means, m)
	}
	return c
}

// label of pool image i (deterministic, not stored).
func (c *clusters) label(i int64) fernb.Label { return fernb.Label(i % int64(c.K)) }

// sample writes the feature of pool image i (a pure function of i).
func (c *clusters) sample(stream, i int64, dst []float32) fernb.Label {
	r := rand.New(rand.NewPCG(c.Seed+uint64(stream)*7919, uint64(i)))
	l := c.label(i)
	for d := range dst[:c.Dim] {
		dst[d] = float32(c.Means[l][d] + c.Sigma*r.NormFloat64())
	}
	return l
}

// labelled returns n labelled feature vectors (stream 1).
func (c *clusters) labelled(n int) ([]float32, []fernb.Label) {
	x := make([]float32, n*c.Dim)
	ls := make([]fernb.Label, n)
	for i := range n {
		ls[i] = c.sample(1, int64(i), x[i*c.Dim:(i+1)*c.Dim])
	}
	return x, ls
}

// pool returns a generated pool of n images (stream 2) whose hidden truth is
// the cluster. Images whose index is in corrupt fail to load.
func (c *clusters) pool(n int64, corrupt map[int64]bool) *FuncPool {
	return &FuncPool{
		Name:  fmt.Sprintf("generated:clusters(k=%d,dim=%d,sigma=%g,seed=%d,n=%d)", c.K, c.Dim, c.Sigma, c.Seed, n),
		N:     n,
		Ref:   func(i int64) string { return fmt.Sprintf("pool/%06d.png", i) },
		Truth: func(i int64) string { return c.label(i).String() },
		Load: func(i int64, shape ImageShape, dst []float32) error {
			if corrupt[i] {
				return errors.New("bad JPEG header")
			}
			c.sample(2, i, dst)
			return nil
		},
		Shape: ImageShape{H: 1, W: 1, C: c.Dim},
	}
}

// fakeEmbedder is the identity on features, with softmax probabilities of a
// fixed linear classifier (logits = scale * x . mean_k), so both rules have
// something to work on. Row i depends only on image i. It counts the images
// it embedded and can cancel a context after a number of calls.
type fakeEmbedder struct {
	c        *clusters
	scale    float64
	images   atomic.Int64
	calls    atomic.Int64
	cancelAt int64 // cancel after this many calls (0: never)
	cancel   context.CancelFunc
	feats    []float32
	probs    []float32
}

func (e *fakeEmbedder) InputShape() ImageShape { return ImageShape{H: 1, W: 1, C: e.c.Dim} }
func (e *fakeEmbedder) FeatureDim() int        { return e.c.Dim }
func (e *fakeEmbedder) ProbClasses() []fernb.Label {
	ls := make([]fernb.Label, e.c.K)
	for k := range ls {
		ls[k] = fernb.Label(k)
	}
	return ls
}

func (e *fakeEmbedder) Embed(ctx context.Context, x []float32, n int) ([]float32, []float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	e.feats = append(e.feats[:0], x[:n*e.c.Dim]...)
	e.probs = e.probs[:0]
	logits := make([]float64, e.c.K)
	for i := range n {
		row := x[i*e.c.Dim : (i+1)*e.c.Dim]
		mx := math.Inf(-1)
		for k := range logits {
			var dot float64
			for d, v := range row {
				dot += float64(v) * e.c.Means[k][d]
			}
			logits[k] = e.scale * dot / float64(e.c.Dim)
			mx = max(mx, logits[k])
		}
		var sum float64
		for k := range logits {
			logits[k] = math.Exp(logits[k] - mx)
			sum += logits[k]
		}
		for k := range logits {
			e.probs = append(e.probs, float32(logits[k]/sum))
		}
	}
	e.images.Add(int64(n))
	if c := e.calls.Add(1); e.cancelAt > 0 && c == e.cancelAt {
		e.cancel()
	}
	return e.feats, e.probs, nil
}

// anchorCentroids embeds n labelled vectors per class and returns their
// centroids.
func anchorCentroids(c *clusters, e Embedder, perClass int) (*CentroidSet, error) {
	x, ls := c.labelled(perClass * c.K)
	f, _, err := Extract(context.Background(), e, x, len(ls), 32)
	if err != nil {
		return nil, err
	}
	return Centroids(f, ls)
}
