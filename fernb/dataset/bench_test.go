package dataset

import (
	"context"
	"fmt"
	"testing"
)

// Throughput of the decode path on generated 48x48 JPEGs (FER-2013's
// format) from a tar archive, and of pool streaming; run with
// `go test -bench . -run XXX ./fernb/dataset`.

func benchFolder(b *testing.B, n int) string {
	files := map[string][]byte{}
	for i := 0; i < n; i++ {
		files[fmt.Sprintf("train/happy/Training_%05d.jpg", i)] = jpegBytes(b, grayImage(48, 48, i))
	}
	return allLayouts(b, files)["tar"]
}

func BenchmarkLoadFER48Tar(b *testing.B) {
	p := benchFolder(b, 512)
	d := mustOpen(b, "folder", p)
	pre := Preprocess{Height: 48, Width: 48, Channels: 1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Load(context.Background(), d.Items, pre); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(d.Items))/b.Elapsed().Seconds(), "img/s")
}

func BenchmarkPoolStream(b *testing.B) {
	p := benchFolder(b, 512)
	pre := Preprocess{Height: 48, Width: 48, Channels: 1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pool, err := OpenPool("pool", p, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := pool.Stream(context.Background(), pre, StreamOptions{Batch: 128}, func(Batch) error { return nil }); err != nil {
			b.Fatal(err)
		}
		pool.Close()
	}
	b.ReportMetric(float64(b.N*512)/b.Elapsed().Seconds(), "img/s")
}
