package distill

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb/dataset"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// runAug applies the transformations ps to images x (n x h x w x c) and
// returns the result and the gradient of Σ out·r with respect to x.
func runAug(t *testing.T, x []float32, ps []augParams, h, w, c int, std, fill, r []float32) (out, grad []float32) {
	t.Helper()
	n := len(ps)
	b := buildAug(ps, h, w, c, std)
	exec, err := graph.NewExec(goBackend(t), func(in []*graph.Node) []*graph.Node {
		y := applyAug(in[0], in[1], in[2], in[3], in[4], in[5])
		loss := graph.ReduceAllSum(graph.Mul(y, in[6]))
		return []*graph.Node{y, graph.Gradient(loss, in[0])[0]}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	args := []any{tensors.FromFlatDataAndDimensions(x, n, h, w, c)}
	args = append(args, augTensors(b, b, fill)[:4]...)
	args = append(args, tensors.FromFlatDataAndDimensions(fill, c), tensors.FromFlatDataAndDimensions(r, n, h, w, c))
	outs, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	defer finalizeAll(outs)
	return tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1])
}

func identityAug() augParams { return augParams{family: dsaColour, sx: 1, sy: 1, satur: 1, contra: 1} }

// TestAugmentTransforms checks every DSA family against what it should do
// to a small image whose pixels are all different, and that its gradient
// sends the upstream gradient back to the pixels each output read.
func TestAugmentTransforms(t *testing.T) {
	const h, w = 6, 6
	x := make([]float32, h*w)
	for i := range x {
		x[i] = float32(i) / 10
	}
	fill := []float32{-7}
	std := []float32{2}
	ones := make([]float32, h*w)
	for i := range ones {
		ones[i] = 1
	}
	at := func(img []float32, i, j int) float32 { return img[i*w+j] }
	mean := float32(0)
	for _, v := range x {
		mean += v
	}
	mean /= float32(len(x))

	cases := []struct {
		name string
		p    augParams
		// want returns output pixel (i, j) as the input pixel it reads
		// (ok) or the fill value (!ok).
		want func(i, j int) (int, int, bool)
		// colour maps an input value to the expected output.
		colour func(v float32) float32
	}{
		{"identity", identityAug(), func(i, j int) (int, int, bool) { return i, j, true }, nil},
		{"flip", augParams{family: dsaFlip, flip: true, sx: 1, sy: 1, satur: 1, contra: 1},
			func(i, j int) (int, int, bool) { return i, w - 1 - j, true }, nil},
		{"crop", augParams{family: dsaCrop, dx: 1, dy: -2, sx: 1, sy: 1, satur: 1, contra: 1},
			func(i, j int) (int, int, bool) { return i + 2, j - 1, i+2 < h && j-1 >= 0 }, nil},
		{"cutout", augParams{family: dsaCutout, cy: 2, cx: 3, half: 1, sx: 1, sy: 1, satur: 1, contra: 1},
			func(i, j int) (int, int, bool) { return i, j, !(i >= 1 && i < 3 && j >= 2 && j < 4) }, nil},
		{"unit scale", augParams{family: dsaScale, sx: 1, sy: 1, satur: 1, contra: 1},
			func(i, j int) (int, int, bool) { return i, j, true }, nil},
		// Output (i, j) of a 90° rotation reads (j, w-1-i) on a square.
		{"rotate 90", augParams{family: dsaRotate, theta: math.Pi / 2, sx: 1, sy: 1, satur: 1, contra: 1},
			func(i, j int) (int, int, bool) { return j, w - 1 - i, true }, nil},
		// Scaling by 1/2 reads the middle of the image: output pixel j
		// reads the pixel nearest 2.5 + (j-2.5)/2 = j/2 + 1.25.
		{"zoom", augParams{family: dsaScale, sx: 0.5, sy: 0.5, satur: 1, contra: 1},
			func(i, j int) (int, int, bool) { return (i + 3) / 2, (j + 3) / 2, true }, nil},
		{"brightness", augParams{family: dsaColour, bright: 0.25, sx: 1, sy: 1, satur: 1, contra: 1},
			func(i, j int) (int, int, bool) { return i, j, true }, func(v float32) float32 { return v + 0.5 }},
		{"contrast", augParams{family: dsaColour, sx: 1, sy: 1, satur: 1, contra: 1.5},
			func(i, j int) (int, int, bool) { return i, j, true }, func(v float32) float32 { return (v-mean)*1.5 + mean }},
	}
	for _, tc := range cases {
		out, grad := runAug(t, x, []augParams{tc.p}, h, w, 1, std, fill, ones)
		wantGrad := make([]float32, h*w)
		for i := range h {
			for j := range w {
				si, sj, ok := tc.want(i, j)
				want := fill[0]
				if ok {
					want = at(x, si, sj)
					if tc.colour != nil {
						want = tc.colour(want)
					}
					wantGrad[si*w+sj]++
				}
				if got := at(out, i, j); math.Abs(float64(got-want)) > 1e-5 {
					t.Errorf("%s: pixel (%d,%d) = %g, want %g", tc.name, i, j, got, want)
				}
			}
		}
		if tc.colour != nil {
			continue // colour changes also scale the gradient; checked below
		}
		for k := range grad {
			if math.Abs(float64(grad[k]-wantGrad[k])) > 1e-5 {
				t.Errorf("%s: gradient at pixel %d = %g, want %g (times the pixel is read)", tc.name, k, grad[k], wantGrad[k])
				break
			}
		}
	}

	// The flip map is dataset.FlipImage's.
	out, _ := runAug(t, x, []augParams{{family: dsaFlip, flip: true, sx: 1, sy: 1, satur: 1, contra: 1}}, h, w, 1, std, fill, ones)
	flipped := append([]float32(nil), x...)
	dataset.FlipImage(flipped, h, w, 1)
	if maxAbsDiff(out, flipped) > 1e-6 { // the identity colour step rounds
		t.Errorf("flip differs from dataset.FlipImage by %g", maxAbsDiff(out, flipped))
	}
}

// TestAugmentSaturation: saturation 0 turns an RGB pixel into its grey
// value, and the colour inputs act per image.
func TestAugmentSaturation(t *testing.T) {
	const h, w, c = 2, 2, 3
	x := []float32{0.1, 0.2, 0.6, 0.3, 0.3, 0.3, 0.9, 0.0, 0.0, 0.2, 0.4, 0.6}
	x = append(x, x...) // two images
	grey := augParams{family: dsaColour, sx: 1, sy: 1, satur: 0, contra: 1}
	out, _ := runAug(t, x, []augParams{grey, identityAug()}, h, w, c, []float32{1, 1, 1}, []float32{0, 0, 0}, make([]float32, len(x)))
	for p := range h * w {
		m := (x[3*p] + x[3*p+1] + x[3*p+2]) / 3
		for ch := range c {
			if d := math.Abs(float64(out[3*p+ch] - m)); d > 1e-6 {
				t.Errorf("grey image pixel %d channel %d = %g, want %g", p, ch, out[3*p+ch], m)
			}
		}
	}
	if d := maxAbsDiff(out[len(x)/2:], x[len(x)/2:]); d > 1e-6 {
		t.Errorf("second image (identity) changed by %g", d)
	}
}

// TestDrawAug: one family per class, per-image parameters within DSA's
// ranges, synthetic images sharing their real partner's draw, and the same
// draw from the same stream.
func TestDrawAug(t *testing.T) {
	const k, per, ipc = 6, 5, 2
	draw := func() []augParams { return drawAug(rand.New(rand.NewPCG(1, 2)), k, per, 32, 32) }
	ps := draw()
	families := map[int]bool{}
	for c := range k {
		f := ps[c*per].family
		families[f] = true
		for j := range per {
			p := ps[c*per+j]
			if p.family != f {
				t.Fatalf("class %d mixes families %d and %d", c, f, p.family)
			}
			if p.sx < 1/dsaScaleRatio-1e-9 || p.sx > dsaScaleRatio || math.Abs(p.theta) > dsaRotateDeg*math.Pi/180 ||
				p.contra < 0.5 || p.contra > 1.5 || math.Abs(p.bright) > 0.5 || abs(p.dx) > 4 || abs(p.dy) > 4 {
				t.Errorf("class %d image %d: parameters out of range: %+v", c, j, p)
			}
		}
	}
	if len(families) < 2 {
		t.Errorf("6 classes drew only families %v", families)
	}
	syn := siamese(ps, k, per, ipc)
	for c := range k {
		for j := range ipc {
			if syn[c*ipc+j] != ps[c*per+j] {
				t.Errorf("synthetic image %d of class %d does not share real image %d's draw", j, c, j)
			}
		}
	}
	again := draw()
	for i := range ps {
		if ps[i] != again[i] {
			t.Fatal("the same stream drew different transformations")
		}
	}
}

func abs(v int) int { return max(v, -v) }

// TestDSAIsDMOnly: DD refuses DSA (its unrolled graph has no place for it).
func TestDSAIsDMOnly(t *testing.T) {
	_, err := Run(context.Background(), goBackend(t), bands(30, 12, 3, 3), Config{Method: DD, DSA: true, Model: tinyModel, Iterations: 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "DSA") {
		t.Errorf("DD with DSA: %v, want an error naming DSA", err)
	}
}

// TestAugmentHostMatchesGraph: the host transformation that training
// applies to DAS images (Augment) is the one the DM graph applies, for
// draws of every family, in grey and in RGB.
func TestAugmentHostMatchesGraph(t *testing.T) {
	for _, c := range []int{1, 3} {
		const h, w, n = 9, 7, 24
		rng := rand.New(rand.NewPCG(7, uint64(c)))
		x := make([]float32, n*h*w*c)
		for i := range x {
			x[i] = rng.Float32()
		}
		mean, std := make([]float32, c), make([]float32, c)
		for ch := range c {
			mean[ch], std[ch] = 0.4+0.1*float32(ch), 0.2
		}
		ps := drawAug(rng, n/4, 4, h, w) // 6 classes: most families drawn
		graphOut, _ := runAug(t, x, ps, h, w, c, std, mean, make([]float32, len(x)))
		size := h * w * c
		for k, p := range ps {
			host := slices.Clone(x[k*size : (k+1)*size])
			p.apply(host, h, w, c, mean, std)
			if d := maxAbsDiff(host, graphOut[k*size:(k+1)*size]); d > 1e-5 {
				t.Errorf("channels %d image %d (family %d): host and graph differ by %g", c, k, p.family, d)
			}
		}
	}
	// Augment changes an image in place, deterministically for a stream.
	img := make([]float32, 8*8)
	for i := range img {
		img[i] = float32(i%8) / 8
	}
	a, b := slices.Clone(img), slices.Clone(img)
	hook := Augment([]float32{0.5}, []float32{0.3})
	changed := false
	for s := range uint64(6) {
		hook(a, 8, 8, 1, rand.New(rand.NewPCG(s, 1)))
		hook(b, 8, 8, 1, rand.New(rand.NewPCG(s, 1)))
		changed = changed || maxAbsDiff(a, img) > 0
	}
	if maxAbsDiff(a, b) != 0 || !changed {
		t.Errorf("Augment: same streams gave images %g apart, changed=%v; want 0 and true", maxAbsDiff(a, b), changed)
	}
}
