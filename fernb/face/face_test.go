package face

import (
	"errors"
	"image"
	_ "image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// sample returns pigo's own test photograph (one face) from the module
// cache as an h x w x c buffer with values in [0,255].
func sample(tb testing.TB, c int) ([]float32, int, int) {
	tb.Helper()
	dir, err := ModuleDir()
	if err != nil {
		tb.Skipf("pigo module not located (%v): run `go mod download`", err)
	}
	f, err := os.Open(filepath.Join(dir, "testdata", "sample.jpg"))
	if err != nil {
		tb.Skipf("pigo's testdata/sample.jpg is not in the module cache (%v): run `go mod download github.com/esimov/pigo`", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	return toFloat(img, c)
}

func toFloat(img image.Image, c int) ([]float32, int, int) {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	out := make([]float32, h*w*c)
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			rf, gf, bf := float32(r)/257, float32(g)/257, float32(bl)/257
			i := (y*w + x) * c
			if c == 1 {
				out[i] = 0.299*rf + 0.587*gf + 0.114*bf
			} else {
				out[i], out[i+1], out[i+2] = rf, gf, bf
			}
		}
	}
	return out, h, w
}

func newAligner(tb testing.TB, opt Options) *Aligner {
	tb.Helper()
	if _, err := CascadeDir(); err != nil {
		tb.Skipf("pigo cascades not available: %v", err)
	}
	a, err := New(opt)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestSampleFaceFoundAndCropped(t *testing.T) {
	a := newAligner(t, DefaultOptions())
	var boxes []Result
	for _, c := range []int{1, 3} {
		src, h, w := sample(t, c)
		crop, side, res, err := a.Align(src, h, w, c)
		if err != nil {
			t.Fatalf("c=%d: %v", c, err)
		}
		if res.Faces != 1 {
			t.Errorf("c=%d: %d faces in pigo's one-face sample, want 1", c, res.Faces)
		}
		if len(crop) != side*side*c {
			t.Errorf("c=%d: crop has %d values, want a square %dx%dx%d", c, len(crop), side, side, c)
		}
		if f := res.Face.Side; f < 0.25*float64(min(h, w)) || f > float64(min(h, w)) {
			t.Errorf("c=%d: face side %g in a %dx%d portrait", c, f, w, h)
		}
		half := res.Side / 2
		if res.Center.X-half < 0 || res.Center.Y-half < 0 || res.Center.X+half > float64(w) || res.Center.Y+half > float64(h) {
			t.Errorf("c=%d: crop square %+v side %g leaves the %dx%d image", c, res.Center, res.Side, w, h)
		}
		if want := res.Face.Side * (1 + 2*a.Options().Margin); math.Abs(res.Side-want) > 1e-9 && res.Side != float64(min(h, w)) {
			t.Errorf("c=%d: crop side %g, want face side with margin %g", c, res.Side, want)
		}
		if len(res.Face.Eyes) != 2 {
			t.Errorf("c=%d: pupils not located in the sample", c)
		} else if math.Abs(res.Angle) > math.Pi/12 {
			t.Errorf("c=%d: angle %g rad for an upright portrait", c, res.Angle)
		}
		boxes = append(boxes, res)
	}
	if boxes[0].Center != boxes[1].Center || boxes[0].Side != boxes[1].Side || boxes[0].Angle != boxes[1].Angle {
		t.Errorf("grey and RGB give different crops: %+v vs %+v", boxes[0], boxes[1])
	}
}

func TestAlignDeterministic(t *testing.T) {
	a := newAligner(t, DefaultOptions())
	src, h, w := sample(t, 1)
	c1, _, r1, err1 := a.Align(src, h, w, 1)
	c2, _, r2, err2 := a.Align(src, h, w, 1)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if r1.Angle != r2.Angle || r1.Center != r2.Center {
		t.Fatalf("two runs differ: %+v vs %+v", r1, r2)
	}
	for i := range c1 {
		if c1[i] != c2[i] {
			t.Fatalf("crops differ at %d", i)
		}
	}
}

// blank is a smooth gradient with nothing face-like in it.
func blank(h, w int) []float32 {
	out := make([]float32, h*w)
	for y := range h {
		for x := range w {
			out[y*w+x] = float32(40 + (x+y)*150/(h+w))
		}
	}
	return out
}

func TestNoFace(t *testing.T) {
	opt := DefaultOptions()
	a := newAligner(t, opt)
	src := blank(120, 160)
	if _, _, res, err := a.Align(src, 120, 160, 1); !errors.Is(err, ErrNoFace) || res.Found() {
		t.Fatalf("gradient: err %v, result %+v; want ErrNoFace", err, res)
	}
	opt.NoFace = Centre
	a = newAligner(t, opt)
	crop, side, res, err := a.Align(src, 120, 160, 1)
	if err != nil || res.Found() {
		t.Fatalf("centre policy: err %v, result %+v", err, res)
	}
	if side != 120 || len(crop) != 120*120 {
		t.Fatalf("centre crop side %d (%d values), want 120", side, len(crop))
	}
	// The central square starts 20 columns in.
	if crop[0] != src[20] || crop[len(crop)-1] != src[119*160+139] {
		t.Errorf("centre crop is not the central square")
	}
}

func TestLevelAngle(t *testing.T) {
	for _, tc := range []struct {
		l, r Point
		deg  float64
	}{
		{Point{10, 20}, Point{30, 20}, 0},
		{Point{10, 20}, Point{30, 40}, 45},
		{Point{10, 40}, Point{30, 20}, -45},
	} {
		if got := LevelAngle(tc.l, tc.r) * 180 / math.Pi; math.Abs(got-tc.deg) > 1e-9 {
			t.Errorf("LevelAngle(%v, %v) = %g degrees, want %g", tc.l, tc.r, got, tc.deg)
		}
	}
}

// darkest returns the centroid of the pixels below 100 in the left and the
// right half of an n x n image.
func darkest(img []float32, n int) (l, r Point) {
	var sum [2]Point
	var cnt [2]float64
	for y := range n {
		for x := range n {
			if img[y*n+x] < 100 {
				k := 0
				if x >= n/2 {
					k = 1
				}
				sum[k].X += float64(x) + 0.5
				sum[k].Y += float64(y) + 0.5
				cnt[k]++
			}
		}
	}
	return Point{sum[0].X / cnt[0], sum[0].Y / cnt[0]}, Point{sum[1].X / cnt[1], sum[1].Y / cnt[1]}
}

func TestCropLevelsKnownEyes(t *testing.T) {
	// Two dark discs ("pupils") 40 pixels apart on a line tilted 20
	// degrees, around the image centre.
	const n = 120
	tilt := 20 * math.Pi / 180
	c := Point{60, 60}
	left := Point{c.X - 20*math.Cos(tilt), c.Y - 20*math.Sin(tilt)}
	right := Point{c.X + 20*math.Cos(tilt), c.Y + 20*math.Sin(tilt)}
	src := make([]float32, n*n)
	for y := range n {
		for x := range n {
			p := Point{float64(x) + 0.5, float64(y) + 0.5}
			v := float32(200)
			if math.Hypot(p.X-left.X, p.Y-left.Y) < 4 || math.Hypot(p.X-right.X, p.Y-right.Y) < 4 {
				v = 0
			}
			src[y*n+x] = v
		}
	}
	l0, r0 := darkest(src, n)
	if math.Abs(LevelAngle(l0, r0)-tilt) > 0.02 {
		t.Fatalf("test image: measured tilt %g, built %g", LevelAngle(l0, r0), tilt)
	}
	out := Crop(src, n, n, 1, c, 80, LevelAngle(left, right))
	l, r := darkest(out, 80)
	if math.Abs(l.Y-r.Y) > 0.5 {
		t.Errorf("after rotation the pupils are at rows %.2f and %.2f, want level", l.Y, r.Y)
	}
	if d := math.Hypot(r.X-l.X, r.Y-l.Y); math.Abs(d-40) > 1 {
		t.Errorf("pupil distance %.2f after rotation, want 40", d)
	}
	if math.Abs((l.X+r.X)/2-40) > 0.5 || math.Abs(l.Y-40) > 0.5 {
		t.Errorf("pupils centred at (%.2f, %.2f), want the crop centre (40, 40)", (l.X+r.X)/2, l.Y)
	}
	// Unrotated on whole pixels, Crop copies.
	out = Crop(src, n, n, 1, Point{50, 40}, 20, 0)
	for y := range 20 {
		for x := range 20 {
			if out[y*20+x] != src[(30+y)*n+40+x] {
				t.Fatalf("unrotated crop differs from the source at (%d,%d)", x, y)
			}
		}
	}
}

func TestOptionsAndKey(t *testing.T) {
	if _, err := New(Options{Margin: -1, MinFace: 0.2}); err == nil {
		t.Error("negative margin accepted")
	}
	if _, err := New(Options{MinFace: 0.2, CascadeDir: t.TempDir()}); err == nil {
		t.Error("a directory without cascades accepted")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "facefinder"), []byte("short"), 0o644)
	os.WriteFile(filepath.Join(dir, "puploc"), []byte("short"), 0o644)
	if _, err := New(Options{MinFace: 0.2, CascadeDir: dir}); err == nil {
		t.Error("truncated cascades accepted")
	}
	a := newAligner(t, DefaultOptions())
	o := DefaultOptions()
	o.Margin = 0.3
	b := newAligner(t, o)
	if a.Key() == b.Key() {
		t.Errorf("different margins share the key %q", a.Key())
	}
	if a2 := newAligner(t, DefaultOptions()); a2.Key() != a.Key() {
		t.Errorf("same settings, different keys: %q vs %q", a.Key(), a2.Key())
	}
}

// BenchmarkDetectCrop measures detection (with pupils) and cropping of a
// 256x256 grey photograph, in images per second.
func BenchmarkDetectCrop(b *testing.B) {
	a := newAligner(b, DefaultOptions())
	src, h, w := sample(b, 1)
	// Resample pigo's sample to 256x256 (nearest neighbour suffices here).
	const n = 256
	img := make([]float32, n*n)
	for y := range n {
		for x := range n {
			img[y*n+x] = src[(y*h/n)*w+x*w/n]
		}
	}
	if _, _, res, err := a.Align(img, n, n, 1); err != nil || !res.Found() {
		b.Fatalf("no face in the 256x256 sample: %v", err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, _, err := a.Align(img, n, n, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

func TestSeveralFacesPick(t *testing.T) {
	// pigo's sample next to a half-size copy of itself: two faces, the
	// left one larger.
	src, h, w := sample(t, 1)
	W := w + w/2
	img := make([]float32, h*W)
	for i := range img {
		img[i] = 255
	}
	for y := range h {
		copy(img[y*W:y*W+w], src[y*w:(y+1)*w])
	}
	for y := range h / 2 {
		for x := range w / 2 {
			img[(h/4+y)*W+w+x] = src[(2*y)*w+2*x]
		}
	}
	a := newAligner(t, DefaultOptions())
	_, _, res, err := a.Align(img, h, W, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Faces != 2 {
		t.Fatalf("%d faces, want 2", res.Faces)
	}
	if res.Face.Center.X > float64(w) {
		t.Errorf("largest pick kept the small face at x=%g", res.Face.Center.X)
	}
	if got := res.Describe(Largest); got != "2 faces; kept the largest" {
		t.Errorf("Describe = %q", got)
	}
}

func TestSuppress(t *testing.T) {
	big := Face{Center: Point{100, 100}, Side: 200, Q: 50}
	for _, tc := range []struct {
		name  string
		other Face
		want  int
	}{
		{"same face, slightly smaller box", Face{Center: Point{102, 98}, Side: 190, Q: 60}, 1},
		{"box around a feature inside the face", Face{Center: Point{60, 50}, Side: 50, Q: 5}, 1},
		{"another face beside it", Face{Center: Point{330, 100}, Side: 150, Q: 10}, 2},
	} {
		if got := len(suppress([]Face{big, tc.other})); got != tc.want {
			t.Errorf("%s: %d faces kept, want %d", tc.name, got, tc.want)
		}
	}
}
