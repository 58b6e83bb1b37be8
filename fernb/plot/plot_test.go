package plot

import (
	"bytes"
	"html"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var classNames = []string{"Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"}

// render saves fig as PNG, SVG and PDF in a temp dir (or in
// $FERNB_PLOT_KEEP, to look at them) and checks each decodes, has the
// natural size, and that the SVG carries every string in texts.
func render(t *testing.T, fig *Figure, name string, texts ...string) image.Image {
	t.Helper()
	dir := os.Getenv("FERNB_PLOT_KEEP")
	if dir == "" {
		dir = t.TempDir()
	}
	pngPath := filepath.Join(dir, name+".png")
	svgPath := filepath.Join(dir, name+".svg")
	pdfPath := filepath.Join(dir, name+".pdf")
	for _, p := range []string{pngPath, svgPath, pdfPath} {
		if err := fig.Save(p); err != nil {
			t.Fatalf("Save(%s): %v", p, err)
		}
	}
	b, err := os.ReadFile(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", pngPath, err)
	}
	wantW := int(math.Ceil(fig.Width.Dots(PixelDPI)))
	wantH := int(math.Ceil(fig.Height.Dots(PixelDPI)))
	if got := img.Bounds(); abs(got.Dx()-wantW) > 1 || abs(got.Dy()-wantH) > 1 {
		t.Errorf("%s: size %v, want about %dx%d", name, got.Size(), wantW, wantH)
	}
	if nonWhite(img) < 100 {
		t.Errorf("%s: PNG is blank", name)
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("<svg")) {
		t.Errorf("%s.svg has no <svg element", name)
	}
	for _, s := range texts {
		if !bytes.Contains(svg, []byte(">"+html.EscapeString(s)+"<")) {
			t.Errorf("%s.svg does not show text %q", name, s)
		}
	}
	pdf, err := os.ReadFile(pdfPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Errorf("%s.pdf does not start with %%PDF", name)
	}
	return img
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func nonWhite(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bb < 0xf000 {
				n++
			}
		}
	}
	return n
}

// countColor counts pixels within tol (0..255) of c.
func countColor(img image.Image, c color.Color, tol int) int {
	cr, cg, cb, _ := c.RGBA()
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			if abs(int(r>>8)-int(cr>>8)) <= tol && abs(int(g>>8)-int(cg>>8)) <= tol && abs(int(bb>>8)-int(cb>>8)) <= tol {
				n++
			}
		}
	}
	return n
}

func solid(w, h int, c color.Color) image.Image {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			im.Set(x, y, c)
		}
	}
	return im
}

func TestCurves(t *testing.T) {
	var tl, vl, ta, va []float64
	for e := range 15 {
		tl = append(tl, 2*math.Exp(-float64(e)/4)+0.1)
		vl = append(vl, 2*math.Exp(-float64(e)/5)+0.3)
		ta = append(ta, 1-0.8*math.Exp(-float64(e)/4))
		va = append(va, 1-0.85*math.Exp(-float64(e)/5))
	}
	va[7] = math.NaN() // a missing evaluation leaves a gap, not an error
	fig, err := Curves(
		Panel{Title: "loss", YLabel: "cross-entropy", Series: []Series{{Name: "train", Y: tl, Dashed: true}, {Name: "test", Y: vl}}},
		Panel{Title: "accuracy", YMin: 0, YMax: 1, Series: []Series{{Name: "train", Y: ta, Dashed: true}, {Name: "test", Y: va}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	img := render(t, fig, "curves", "loss", "accuracy", "train", "test", "epoch", "cross-entropy")
	// Each series has its own colour, the same in both panels.
	if n := countColor(img, seriesColor(0), 30); n < 200 {
		t.Errorf("train colour: %d pixels, want a curve", n)
	}
	if n := countColor(img, seriesColor(1), 30); n < 200 {
		t.Errorf("test colour: %d pixels, want a curve", n)
	}
	// PNG(w, h) gives exactly that many pixels, and keeps aspect with h=0.
	b, err := fig.PNG(640, 300)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != 640 || cfg.Height != 300 {
		t.Errorf("PNG(640,300) = %dx%d, %v", cfg.Width, cfg.Height, err)
	}
	b, err = fig.PNG(500, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ = png.DecodeConfig(bytes.NewReader(b))
	if want := int(math.Round(500 * float64(fig.Height/fig.Width))); cfg.Width != 500 || abs(cfg.Height-want) > 1 {
		t.Errorf("PNG(500,0) = %dx%d, want 500x%d", cfg.Width, cfg.Height, want)
	}
}

func TestCurvesErrors(t *testing.T) {
	if _, err := Curves(); err == nil {
		t.Error("Curves() with no panels: want error")
	}
	if _, err := Curves(Panel{Series: []Series{{Name: "a", X: []float64{1, 2}, Y: []float64{1}}}}); err == nil || !strings.Contains(err.Error(), "2 X values but 1 Y") {
		t.Errorf("mismatched X/Y: got %v", err)
	}
	if _, err := Lines(Panel{Series: []Series{{Name: "a", Y: []float64{1}}}}); err == nil {
		t.Error("Lines without X: want error")
	}
}

func TestLines(t *testing.T) {
	m := []float64{0, 0.05, 0.1, 0.15, 0.2}
	fig, err := Lines(Panel{
		Title: "pseudo-label precision", XLabel: "margin m", YLabel: "precision", Markers: true, YMin: 0, YMax: 1,
		Series: []Series{{Name: "cosine margin", X: m, Y: []float64{0.6, 0.7, 0.8, 0.88, 0.93}},
			{Name: "softmax threshold", X: []float64{0.5, 0.6, 0.7, 0.8, 0.9}, Y: []float64{0.55, 0.6, 0.66, 0.7, 0.74}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	render(t, fig, "lines", "pseudo-label precision", "margin m", "cosine margin", "softmax threshold")
}

func TestImageGrid(t *testing.T) {
	var g Grid
	g.Title = "Selected samples by confidence"
	g.ColLabels = []string{"1st", "2nd", "3rd"}
	for k, name := range classNames[:4] {
		var imgs []image.Image
		var caps []string
		for j := range 3 - k%2 { // ragged rows
			imgs = append(imgs, solid(48, 48, ClassColor(k)))
			caps = append(caps, "m=0.3"+string(rune('0'+j)))
		}
		g.AddRow(name, imgs, caps)
	}
	g.Rows[1][0].Caption = "true: Sad\npred: Disgust"
	g.Rows[1][0].Border = color.NRGBA{255, 0, 0, 255}
	fig, err := ImageGrid(g)
	if err != nil {
		t.Fatal(err)
	}
	img := render(t, fig, "grid", "Selected samples by confidence", "Angry", "Happy", "1st", "m=0.30", "true: Sad")
	// Every image shows up at roughly its slot size: 56pt = 75px square.
	side := 56.0 * PixelDPI / 72
	for k := range 4 {
		want := float64(3-k%2) * side * side
		if k == 1 {
			want -= side * 4 * 2 // the red border covers part of one image
		}
		got := float64(countColor(img, ClassColor(k), 8))
		if got < 0.8*want || got > 1.2*float64(3-k%2)*side*side {
			t.Errorf("class %d: %v pixels of its colour, want about %v", k, got, want)
		}
	}
	if countColor(img, color.NRGBA{255, 0, 0, 255}, 10) < 100 {
		t.Error("the red border of the failure case is missing")
	}
}

func TestImageGridErrors(t *testing.T) {
	if _, err := ImageGrid(Grid{}); err == nil {
		t.Error("empty grid: want error")
	}
	if _, err := ImageGrid(Grid{Rows: [][]Cell{{{}}}}); err == nil {
		t.Error("grid without images: want error")
	}
	if _, err := ImageGrid(Grid{RowLabels: []string{"a", "b"}, Rows: [][]Cell{{{Image: solid(2, 2, color.Black)}}}}); err == nil {
		t.Error("more row labels than rows: want error")
	}
}

func TestImagesFromNHWC(t *testing.T) {
	// Two 1x2 grey images, batch range -1..3.
	x := []float32{-1, 1, 3, float32(math.NaN())}
	imgs, err := ImagesFromNHWC(x, 2, 1, 2, 1, Norm{})
	if err != nil {
		t.Fatal(err)
	}
	g0, g1 := imgs[0].(*image.Gray), imgs[1].(*image.Gray)
	if got := []uint8{g0.Pix[0], g0.Pix[1], g1.Pix[0], g1.Pix[1]}; got[0] != 0 || got[1] != 128 || got[2] != 255 || got[3] != 0 {
		t.Errorf("batch range: got %v, want [0 128 255 0]", got)
	}
	// Fixed range clips.
	imgs, _ = ImagesFromNHWC(x, 2, 1, 2, 1, Norm{Min: 0, Max: 2})
	if g := imgs[0].(*image.Gray).Pix; g[0] != 0 || g[1] != 128 {
		t.Errorf("fixed range: got %v, want [0 128]", g)
	}
	// Per image: image 0 spans -1..1.
	imgs, _ = ImagesFromNHWC(x, 2, 1, 2, 1, Norm{PerImage: true})
	if g := imgs[0].(*image.Gray).Pix; g[0] != 0 || g[1] != 255 {
		t.Errorf("per image: got %v, want [0 255]", g)
	}
	// RGB: one pixel (0, 0.5, 1) in range 0..1.
	imgs, err = ImagesFromNHWC([]float32{0, 0.5, 1}, 1, 1, 1, 3, Norm{Min: 0, Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p := imgs[0].(*image.RGBA).Pix; p[0] != 0 || p[1] != 128 || p[2] != 255 || p[3] != 255 {
		t.Errorf("RGB: got %v", p)
	}
	if _, err := ImagesFromNHWC(x, 2, 1, 2, 2, Norm{}); err == nil {
		t.Error("2 channels: want error")
	}
	if _, err := ImagesFromNHWC(x, 3, 1, 2, 1, Norm{}); err == nil {
		t.Error("wrong length: want error")
	}
}

func TestPCAHandComputed(t *testing.T) {
	// Points a*u + b*v + offset with u = (3,4,0)/5, v = (-4,3,0)/5,
	// a = (3,-3,0,0), b = (0,0,1,-1): variance 6 along u, 2/3 along v, 0
	// along z. v's largest entry is negative, so the sign rule flips it.
	off := []float64{10, -20, 5}
	u := []float64{0.6, 0.8, 0}
	v := []float64{-0.8, 0.6, 0}
	a := []float64{3, -3, 0, 0}
	b := []float64{0, 0, 1, -1}
	var x []float32
	for i := range 4 {
		for j := range 3 {
			x = append(x, float32(a[i]*u[j]+b[i]*v[j]+off[j]))
		}
	}
	p, err := FitPCA(x, 4, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	near := func(got, want, tol float64) bool { return math.Abs(got-want) <= tol }
	for j := range 3 {
		if !near(p.Mean[j], off[j], 1e-5) {
			t.Errorf("mean[%d] = %v, want %v", j, p.Mean[j], off[j])
		}
		if !near(p.Components[0][j], u[j], 1e-5) || !near(p.Components[1][j], -v[j], 1e-5) {
			t.Errorf("components %v, want u=%v and -v=(0.8,-0.6,0)", p.Components, u)
			break
		}
	}
	if !near(p.Variance[0], 6, 1e-4) || !near(p.Variance[1], 2.0/3, 1e-4) || !near(p.TotalVariance, 6+2.0/3, 1e-4) {
		t.Errorf("variance %v total %v, want [6 0.667] total 6.667", p.Variance, p.TotalVariance)
	}
	if r := p.ExplainedRatio(); !near(r[0], 0.9, 1e-5) {
		t.Errorf("explained ratio %v, want 0.9 first", r)
	}
	got, err := p.Project2D(x, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]float64{{3, 0}, {-3, 0}, {0, -1}, {0, 1}}
	for i := range want {
		if !near(got[i][0], want[i][0], 1e-4) || !near(got[i][1], want[i][1], 1e-4) {
			t.Errorf("projection %d = %v, want %v", i, got[i], want[i])
		}
	}
	// Deterministic: the same input gives the same output bit for bit.
	p2, _ := FitPCA(x, 4, 3, 2)
	got2, _ := p2.Project2D(x, 4)
	for i := range got {
		if got[i] != got2[i] {
			t.Fatalf("PCA not deterministic: %v vs %v", got[i], got2[i])
		}
	}
	if _, err := FitPCA(x, 4, 3, 4); err == nil {
		t.Error("k > d: want error")
	}
	if _, err := p.Transform(x[:5], 2); err == nil {
		t.Error("wrong length: want error")
	}
}

// clusters returns n labelled feature vectors of dimension d around k
// class means, deterministically.
func clusters(n, d, k int, seed uint64) ([]float32, []int) {
	r := rand.New(rand.NewPCG(seed, 1))
	means := make([][]float64, k)
	for c := range means {
		means[c] = make([]float64, d)
		for j := range d {
			means[c][j] = 4 * r.NormFloat64()
		}
	}
	x := make([]float32, 0, n*d)
	labels := make([]int, n)
	for i := range n {
		c := i % k
		labels[i] = c
		for j := range d {
			x = append(x, float32(means[c][j]+r.NormFloat64()))
		}
	}
	return x, labels
}

func TestScatterWithPCA(t *testing.T) {
	const d, k = 16, 7
	x, labels := clusters(210, d, k, 1)
	pca, err := FitPCA(x, 210, d, 2)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := pca.Project2D(x, 210)
	if err != nil {
		t.Fatal(err)
	}
	// Centroids in feature space, then projected (PCA is affine, so this
	// equals the mean of the projected points).
	cent := make([]float32, k*d)
	for i, l := range labels {
		for j := range d {
			cent[l*d+j] += x[i*d+j] / 30
		}
	}
	cpts, err := pca.Project2D(cent, k)
	if err != nil {
		t.Fatal(err)
	}
	pool, pl := clusters(40, d, k, 2)
	ppts, _ := pca.Project2D(pool, 40)
	r := pca.ExplainedRatio()
	fig, err := Scatter(ScatterSpec{
		Title: "features and centroids (PCA)", XLabel: "PC1", YLabel: "PC2",
		ClassNames: classNames, Points: pts, Labels: labels, Centroids: cpts,
		Overlay: ppts, OverlayLabels: pl, OverlayName: "selected pool",
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = r
	img := render(t, fig, "scatter", append([]string{"features and centroids (PCA)", "centroid", "selected pool"}, classNames...)...)
	for c := range k {
		if n := countColor(img, ClassColor(c), 40); n < 30 {
			t.Errorf("class %d colour: %d pixels", c, n)
		}
	}
}

func TestScatterErrors(t *testing.T) {
	if _, err := Scatter(ScatterSpec{ClassNames: []string{"a"}, Points: [][2]float64{{0, 0}}, Labels: []int{1}}); err == nil {
		t.Error("label out of range: want error")
	}
	if _, err := Scatter(ScatterSpec{ClassNames: []string{"a"}, Points: [][2]float64{{0, 0}}}); err == nil {
		t.Error("missing labels: want error")
	}
}

func TestConfusion(t *testing.T) {
	m := make([][]int, 7)
	for i := range m {
		m[i] = make([]int, 7)
		m[i][i] = 20 + i
		m[i][(i+1)%7] = 5
	}
	m[6][3] = 17
	fig, err := Confusion(ConfusionSpec{Title: "RAF-DB test", Matrix: m, Names: classNames})
	if err != nil {
		t.Fatal(err)
	}
	img := render(t, fig, "confusion", append([]string{"predicted", "true", "26", "80%"}, classNames...)...)
	// Diagonal cells are dark (over half of the row), so heat(>0.55) shows.
	if n := countColor(img, heat(0.8), 12); n < 1000 {
		t.Errorf("dark diagonal cells: %d pixels", n)
	}
	svg, _ := fig.SVG()
	if !bytes.Contains(svg, []byte("accuracy")) {
		t.Error("title lacks the accuracy")
	}
	if _, err := Confusion(ConfusionSpec{Matrix: [][]int{{1, 2}}, Names: []string{"a"}}); err == nil {
		t.Error("non-square: want error")
	}
	if _, err := Confusion(ConfusionSpec{Matrix: [][]int{{1}}, Names: []string{"a", "b"}}); err == nil {
		t.Error("names mismatch: want error")
	}
}

func TestBars(t *testing.T) {
	fig, err := Bars(BarsSpec{
		Title: "training cost", YLabel: "seconds per epoch", ValueLabels: true, Format: "%.1f",
		Categories: []string{"fer-cnn", "resnet18"},
		Series: []BarSeries{
			{Name: "baseline", Values: []float64{10, 40}, Errors: []float64{0.5, 2}},
			{Name: "+VAS", Values: []float64{25, 95}, Errors: []float64{1, 3}},
			{Name: "+DAS", Values: []float64{11, 43}, Errors: []float64{0.4, 1}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	img := render(t, fig, "bars", "training cost", "seconds per epoch", "baseline", "+VAS", "+DAS", "fer-cnn", "95.0")
	for k := range 3 {
		if n := countColor(img, seriesColor(k), 10); n < 300 {
			t.Errorf("series %d bars: %d pixels", k, n)
		}
	}
	if _, err := Bars(BarsSpec{Categories: []string{"a"}, Series: []BarSeries{{Values: []float64{1, 2}}}}); err == nil {
		t.Error("length mismatch: want error")
	}
}

func TestHistogram(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var right, wrong []float64
	for range 500 {
		right = append(right, 0.25+0.08*r.NormFloat64())
		wrong = append(wrong, 0.05+0.05*r.NormFloat64())
	}
	fig, err := Histogram(HistogramSpec{
		Title: "margin of pseudo-labels", XLabel: "cosine margin", Bins: 25, Density: true,
		Series:  []HistSeries{{Name: "correct", Values: right}, {Name: "wrong", Values: wrong}},
		Markers: []Marker{{Name: "m = 0.1", X: 0.1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	render(t, fig, "histogram", "margin of pseudo-labels", "cosine margin", "correct", "wrong", "m = 0.1", "density")
	if _, err := Histogram(HistogramSpec{Series: []HistSeries{{Values: []float64{math.NaN()}}}}); err == nil {
		t.Error("no finite values: want error")
	}
}

func TestSaveErrors(t *testing.T) {
	fig, err := Lines(Panel{Series: []Series{{X: []float64{0, 1}, Y: []float64{0, 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := fig.Save(filepath.Join(dir, "x.bmp")); err == nil || !strings.Contains(err.Error(), "unsupported format") {
		t.Errorf("Save(.bmp): got %v", err)
	}
	if err := fig.Save(filepath.Join(dir, "noext")); err == nil {
		t.Error("Save without extension: want error")
	}
	var nilFig *Figure
	if _, err := nilFig.PNG(10, 10); err == nil {
		t.Error("nil figure PNG: want error")
	}
	if err := nilFig.Save(filepath.Join(dir, "nil.png")); err == nil {
		t.Error("nil figure Save: want error")
	}
	// Nested directories are created; no temp file is left behind.
	p := filepath.Join(dir, "a", "b", "fig.svg")
	if err := fig.Save(p); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("files after Save: %v", ents)
	}
}

func TestSVGPortable(t *testing.T) {
	var g Grid
	g.AddRow("Happy", []image.Image{solid(4, 4, color.White)}, nil)
	fig, err := ImageGrid(g)
	if err != nil {
		t.Fatal(err)
	}
	svg, err := fig.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")) {
		t.Error("SVG text has no font fallbacks")
	}
	if !bytes.Contains(svg, []byte("data:image/png;base64,iVBOR")) {
		t.Error("embedded image is not labelled as PNG")
	}
}

func TestIntegerTicks(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var l []string
		for _, tk := range (integerTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				l = append(l, tk.Label)
			}
		}
		return l
	}
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{1, 20, "1 5 10 15 20"},
		{1, 5, "1 2 3 4 5"},
		{1, 25, "1 5 10 15 20 25"},
		{0, 300, "0 50 100 150 200 250 300"},
		{1, 2, "1 2"},
	} {
		if got := strings.Join(labels(c.lo, c.hi), " "); got != c.want {
			t.Errorf("ticks(%v, %v) = %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
}

func TestNHWCGrid(t *testing.T) {
	// 5 images of 2x2x1 in 2 columns: rows of 2, 2, 1; image i is all i.
	var x []float32
	for i := range 5 {
		x = append(x, float32(i), float32(i), float32(i), float32(i))
	}
	g, err := NHWCGrid(x, 5, 2, 2, 1, Norm{Min: 0, Max: 4}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Rows) != 3 || len(g.Rows[0]) != 2 || len(g.Rows[2]) != 1 {
		t.Fatalf("layout %d rows (%d, %d last)", len(g.Rows), len(g.Rows[0]), len(g.Rows[len(g.Rows)-1]))
	}
	if v := g.Rows[2][0].Image.(*image.Gray).Pix[0]; v != 255 {
		t.Errorf("last image value %d, want 255", v)
	}
	if v := g.Rows[0][1].Image.(*image.Gray).Pix[0]; v != 64 {
		t.Errorf("image 1 value %d, want 64", v)
	}
	g.ColLabels = []string{"a", "b"}
	fig, err := ImageGrid(g)
	if err != nil {
		t.Fatal(err)
	}
	render(t, fig, "nhwcgrid", "a", "b")
	if _, err := NHWCGrid(x, 5, 2, 2, 1, Norm{}, 0); err == nil {
		t.Error("cols=0: want error")
	}
}

func TestPCAIterativeMatchesExact(t *testing.T) {
	const n, d = 600, 40
	x, _ := clusters(n, d, 7, 9)
	exact, err := fitPCA(x, n, d, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	iter, err := fitPCA(x, n, d, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	for c := range 3 {
		var dot float64
		for j := range d {
			dot += exact.Components[c][j] * iter.Components[c][j]
		}
		if dot < 1-1e-8 {
			t.Errorf("component %d: dot(exact, iterative) = %v, want 1 (same sign rule)", c, dot)
		}
		if math.Abs(exact.Variance[c]-iter.Variance[c]) > 1e-8*exact.Variance[0] {
			t.Errorf("variance %d: exact %v, iterative %v", c, exact.Variance[c], iter.Variance[c])
		}
	}
	if exact.TotalVariance != iter.TotalVariance {
		t.Errorf("total variance differs: %v vs %v", exact.TotalVariance, iter.TotalVariance)
	}
}
