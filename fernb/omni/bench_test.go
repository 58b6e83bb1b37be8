package omni

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/train"
)

// BenchmarkScorePool measures omni's own cost per pool image (listing,
// cosine similarities, scores file, checkpoints, selection) with a cheap
// fake embedder (identity on 64-d features, 7-class softmax): the ceiling
// above any real model.
func BenchmarkScorePool(b *testing.B) {
	const n = 20000
	c := newClusters(7, 64, 1.5, 1)
	e := &fakeEmbedder{c: c, scale: 4}
	cfg := testRunConfig(c, e, b, "")
	cfg.BatchSize = 256
	cfg.CheckpointEvery = 16
	b.ResetTimer()
	for i := range b.N {
		cfg.Out = filepath.Join(b.TempDir(), fmt.Sprintf("vas%d.jsonl", i))
		if _, err := Run(context.Background(), c.pool(n, nil), e, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkScorePoolMemory reports the peak live heap while scoring a
// generated pool of 10k and of 100k images: it must not grow with the pool
// (compare the peak-heap-MB of the two sizes). It samples
// runtime.MemStats.HeapAlloc after every batch.
func BenchmarkScorePoolMemory(b *testing.B) {
	for _, n := range []int64{10_000, 100_000} {
		b.Run(fmt.Sprintf("pool=%d", n), func(b *testing.B) {
			c := newClusters(7, 64, 1.5, 1)
			e := &fakeEmbedder{c: c, scale: 4}
			cfg := testRunConfig(c, e, b, "")
			cfg.BatchSize = 256
			var peak uint64
			var ms runtime.MemStats
			cfg.Progress = func(ScoreProgress) {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			b.ResetTimer()
			for i := range b.N {
				cfg.Out = filepath.Join(b.TempDir(), fmt.Sprintf("vas%d.jsonl", i))
				if _, err := Run(context.Background(), c.pool(n, nil), e, cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "peak-over-start-MB")
			b.ReportMetric(float64(n*int64(b.N))/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkScorePoolModel measures pool scoring with the default model
// (fer-cnn, 48x48 grayscale, briefly fitted on generated images so that it
// is a real checkpointed train.Model) on a generated pool: images/s of the
// whole stage (decode-free, so it is the model's inference rate plus omni).
func BenchmarkScorePoolModel(b *testing.B) {
	backend, err := fernb.NewBackend()
	if err != nil {
		b.Fatal(err)
	}
	net, err := models.New(models.Config{})
	if err != nil {
		b.Fatal(err)
	}
	c := net.Config
	shape := ImageShape{H: c.Height, W: c.Width, C: c.Channels}
	data := dataset.NewTensors(64, c.Height, c.Width, c.Channels)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range data.N {
		data.Labels[i] = fernb.Label(i % 7)
		for j, v := 0, data.Image(i); j < len(v); j++ {
			v[j] = r.Float32()
		}
	}
	res, err := train.Fit(context.Background(), backend, net, data, nil, train.Config{Epochs: 1, BatchSize: 32, Seed: 1, CheckpointDir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	e := NewModelEmbedder(res.Model, 64)
	cent, err := TensorsCentroids(context.Background(), e, data, 64)
	if err != nil {
		b.Fatal(err)
	}
	const n = 512
	pool := &FuncPool{Name: "generated-noise", N: n, Shape: shape, Load: func(i int64, _ ImageShape, dst []float32) error {
		rr := rand.New(rand.NewPCG(uint64(i), 7))
		for j := range dst {
			dst[j] = rr.Float32()
		}
		return nil
	}}
	cfg := RunConfig{ScoreConfig: ScoreConfig{Centroids: cent, Model: "fer-cnn", BatchSize: 64}, Selection: Selection{Rule: Rule{Kind: Cosine, Margin: 0.1}}}
	b.ResetTimer()
	for i := range b.N {
		cfg.Out = filepath.Join(b.TempDir(), fmt.Sprintf("vas%d.jsonl", i))
		if _, err := Run(context.Background(), pool, e, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}
