package synth

import "testing"

// BenchmarkFace48Gray measures the rendering rate of default faces (48x48
// grayscale) per domain on one goroutine; faces/s is reported.
func BenchmarkFace48Gray(b *testing.B) {
	for _, d := range Domains() {
		b.Run(string(d), func(b *testing.B) {
			g, err := New(Config{Domain: d, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]float32, 48*48)
			b.ResetTimer()
			for i := range b.N {
				if _, err := g.Float32(i, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "faces/s")
		})
	}
}

// BenchmarkGenerate48Gray measures Generate (images, all cores) for 1000 faces.
func BenchmarkGenerate48Gray(b *testing.B) {
	for i := range b.N {
		if _, err := Generate(Config{Domain: Pool, N: 1000, Seed: int64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "faces/s")
}

// BenchmarkMeta measures listing a pool (labels, identities) without pixels.
func BenchmarkMeta(b *testing.B) {
	g, err := New(Config{Domain: Pool, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		_ = g.Meta(i)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "faces/s")
}
