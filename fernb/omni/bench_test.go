package omni

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
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
