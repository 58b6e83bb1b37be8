package omni

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb"
)

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if im.Bounds().Dx() < 100 || im.Bounds().Dy() < 100 {
		t.Fatalf("figure only %v", im.Bounds())
	}
	return im
}

func TestFigures(t *testing.T) {
	c := newClusters(4, 8, 1.5, 3)
	e := &fakeEmbedder{c: c, scale: 4}
	dir := t.TempDir()
	cfg := testRunConfig(c, e, t, filepath.Join(dir, "vas.jsonl"))
	if _, err := Run(context.Background(), c.pool(300, nil), e, cfg); err != nil {
		t.Fatal(err)
	}
	scores := ScoresPath(cfg.Out)
	rep, err := Quality([]string{scores}, ReportConfig{Positive: "happy"})
	if err != nil {
		t.Fatal(err)
	}
	qf, err := QualityFigure(rep)
	if err != nil {
		t.Fatal(err)
	}
	b, err := qf.PNG(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	decodePNG(t, b)
	svg := filepath.Join(dir, "quality.svg")
	if err := SaveQualityPlot(rep, svg); err != nil {
		t.Fatal(err)
	}
	if s := string(readFile(t, svg)); !strings.Contains(s, "<svg") || !strings.Contains(s, "precision") {
		t.Error("SVG quality plot lacks the precision curve")
	}

	hf, err := MarginHistogramFigure([]string{scores}, cfg.Selection.Margin, "")
	if err != nil {
		t.Fatal(err)
	}
	if b, err = hf.PNG(0, 0); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, b)

	x, ls := c.labelled(80)
	anchor, _, _ := Extract(context.Background(), e, x, len(ls), 32)
	_, entries, err := ReadManifest(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	sel := NewFeatures(len(entries), c.Dim)
	selLabels := make([]fernb.Label, len(entries))
	for i, en := range entries {
		c.sample(2, en.Index, sel.Row(i))
		selLabels[i] = en.Label
	}
	sf, err := ScatterFigure(anchor, ls, cfg.Centroids, sel, selLabels, "generated clusters")
	if err != nil {
		t.Fatal(err)
	}
	if b, err = sf.PNG(0, 0); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, b)

	var asked []int64
	gf, err := SelectedGrid(entries, Cosine, 5, func(en *Entry) (image.Image, error) {
		asked = append(asked, en.Index)
		im := image.NewGray(image.Rect(0, 0, 16, 16))
		for i := range im.Pix {
			im.Pix[i] = uint8(255 * en.Margin)
		}
		return im, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := 5 * len(cfg.Centroids.Classes); len(asked) != want {
		t.Errorf("grid drew %d images, want %d (5 per class)", len(asked), want)
	}
	grid := filepath.Join(dir, "grid.png")
	if err := gf.Save(grid); err != nil {
		t.Fatal(err)
	}
	decodePNG(t, readFile(t, grid))
	if _, err := SelectedGrid(nil, Cosine, 5, nil); err == nil {
		t.Error("empty grid accepted")
	}
	_ = color.Gray{}
	_ = os.Remove
}
