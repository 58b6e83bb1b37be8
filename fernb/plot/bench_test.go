package plot

import (
	"fmt"
	"testing"
)

// BenchmarkFitPCA measures fitting a 2-D PCA to pipeline-sized features.
func BenchmarkFitPCA(b *testing.B) {
	for _, sz := range []struct{ n, d int }{{2000, 128}, {10000, 512}, {10000, 4096}} {
		x, _ := clusters(sz.n, sz.d, 7, 5)
		b.Run(fmt.Sprintf("N%d_D%d", sz.n, sz.d), func(b *testing.B) {
			for b.Loop() {
				if _, err := FitPCA(x, sz.n, sz.d, 2); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScatterPNG measures rendering a scatter of 10k points to PNG.
func BenchmarkScatterPNG(b *testing.B) {
	const n = 10000
	x, labels := clusters(n, 2, 7, 6)
	pts := make([][2]float64, n)
	for i := range pts {
		pts[i] = [2]float64{float64(x[2*i]), float64(x[2*i+1])}
	}
	fig, err := Scatter(ScatterSpec{ClassNames: classNames, Points: pts, Labels: labels})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := fig.PNG(800, 0); err != nil {
			b.Fatal(err)
		}
	}
}
