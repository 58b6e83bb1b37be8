package synth

import (
	"bytes"
	"image"
	"math"
	"testing"

	"github.com/fernb/fernb/fernb"
)

func pixels(img image.Image) []byte {
	switch m := img.(type) {
	case *image.Gray:
		return m.Pix
	case *image.RGBA:
		return m.Pix
	}
	panic("unexpected image type")
}

func mustNew(t testing.TB, cfg Config) *Generator {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDeterministic(t *testing.T) {
	for _, d := range Domains() {
		for _, ch := range []int{1, 3} {
			cfg := Config{Domain: d, Channels: ch, N: 40, Seed: 3}
			a, err := Generate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Generate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Seed = 4
			c, err := Generate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			differ := 0
			for i := range a {
				if !bytes.Equal(pixels(a[i].Img), pixels(b[i].Img)) {
					t.Fatalf("%s/%d face %d: same seed, different bytes", d, ch, i)
				}
				fa, fb := a[i], b[i]
				fa.Img, fb.Img = nil, nil
				if fa != fb {
					t.Fatalf("%s/%d face %d: same seed, different metadata %+v vs %+v", d, ch, i, fa, fb)
				}
				if !bytes.Equal(pixels(a[i].Img), pixels(c[i].Img)) {
					differ++
				}
			}
			if differ != len(a) {
				t.Errorf("%s/%d: seeds 3 and 4 gave %d identical faces of %d", d, ch, len(a)-differ, len(a))
			}
		}
	}
}

// TestRandomAccess checks that face i does not depend on N, on the order of
// generation, or on the path (Face, Range, Float32).
func TestRandomAccess(t *testing.T) {
	small := mustNew(t, Config{Domain: Pool, N: 10, Seed: 9})
	big := mustNew(t, Config{Domain: Pool, N: 100000, Seed: 9})
	r := big.Range(95, 100)
	buf := make([]float32, 48*48)
	for _, i := range []int{97, 3, 99, 0, 96} {
		a, b := small.Face(i), big.Face(i)
		if !bytes.Equal(pixels(a.Img), pixels(b.Img)) {
			t.Errorf("face %d depends on N", i)
		}
		if i >= 95 && !bytes.Equal(pixels(a.Img), pixels(r[i-95].Img)) {
			t.Errorf("face %d: Range differs from Face", i)
		}
		f, err := big.Float32(i, buf)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range pixels(a.Img) {
			if float32(v)/255 != buf[k] {
				t.Fatalf("face %d pixel %d: Float32 %v, image %v/255", i, k, buf[k], v)
			}
		}
		if f.Identity != a.Identity || f.TrueLabel != a.TrueLabel || f.Index != i {
			t.Errorf("face %d: Float32 metadata %+v differs from Face %+v", i, f, a)
		}
	}
	for _, d := range Domains() {
		g := mustNew(t, Config{Domain: d, Seed: 9, Channels: 3, Size: 16})
		for i := range 60 {
			f, m := g.Face(i), g.Meta(i)
			f.Img = nil
			if f != m {
				t.Fatalf("%s face %d: Meta %+v differs from Face %+v", d, i, m, f)
			}
		}
	}
	if _, err := big.Float32(0, make([]float32, 10)); err == nil {
		t.Error("Float32 accepted a buffer of the wrong size")
	}
}

func TestSizesAndChannels(t *testing.T) {
	for _, size := range []int{16, 48, 64, 96, 112} {
		for _, ch := range []int{1, 3} {
			g := mustNew(t, Config{Size: size, Channels: ch, Domain: Wild, Seed: 1})
			f := g.Face(5)
			if b := f.Img.Bounds(); b.Dx() != size || b.Dy() != size {
				t.Errorf("size %d: image is %v", size, b)
			}
			switch f.Img.(type) {
			case *image.Gray:
				if ch != 1 {
					t.Errorf("size %d ch %d: got a gray image", size, ch)
				}
			case *image.RGBA:
				if ch != 3 {
					t.Errorf("size %d ch %d: got an RGB image", size, ch)
				}
			}
			// Not a blank image: a face has contrast.
			var lo, hi byte = 255, 0
			for _, v := range pixels(f.Img) {
				lo, hi = min(lo, v), max(hi, v)
			}
			if int(hi)-int(lo) < 60 {
				t.Errorf("size %d ch %d: pixel range %d..%d, too flat for a face", size, ch, lo, hi)
			}
		}
	}
	// The same face at two sizes is the same drawing: downsampled 96 matches 48.
	a := mustNew(t, Config{Size: 48, Seed: 2}).Face(1).Img.(*image.Gray)
	b := mustNew(t, Config{Size: 96, Seed: 2}).Face(1).Img.(*image.Gray)
	var diff float64
	for y := range 48 {
		for x := range 48 {
			s := int(b.GrayAt(2*x, 2*y).Y) + int(b.GrayAt(2*x+1, 2*y).Y) + int(b.GrayAt(2*x, 2*y+1).Y) + int(b.GrayAt(2*x+1, 2*y+1).Y)
			diff += math.Abs(float64(s)/4 - float64(a.GrayAt(x, y).Y))
		}
	}
	if diff /= 48 * 48; diff > 6 {
		t.Errorf("48 and 96 renderings of one face differ by %.1f grey levels on average", diff)
	}
	// Gray is the luma of RGB (before rounding).
	c := mustNew(t, Config{Channels: 3, Seed: 2}).Face(1).Img.(*image.RGBA)
	for y := range 48 {
		for x := range 48 {
			p := c.RGBAAt(x, y)
			l := 0.299*float64(p.R) + 0.587*float64(p.G) + 0.114*float64(p.B)
			if math.Abs(l-float64(a.GrayAt(x, y).Y)) > 1.5 {
				t.Fatalf("pixel %d,%d: gray %d, luma of RGB %.1f", x, y, a.GrayAt(x, y).Y, l)
			}
		}
	}
}

func TestClassesAndIdentities(t *testing.T) {
	for _, d := range []Domain{Lab, Wild} {
		g := mustNew(t, Config{Domain: d, N: 700, Seed: 5, Identities: 30, FirstIdentity: 100})
		faces := make([]Face, g.Len())
		for i := range faces {
			faces[i] = g.Meta(i) // TestRandomAccess checks that Meta is Face without the image
		}
		count := make(map[fernb.Label]int)
		ids := make(map[int]bool)
		for _, f := range faces {
			if f.Label != f.TrueLabel {
				t.Fatalf("%s face %d: Label %v differs from TrueLabel %v", d, f.Index, f.Label, f.TrueLabel)
			}
			if f.Look != d {
				t.Fatalf("%s face %d has look %s", d, f.Index, f.Look)
			}
			count[f.Label]++
			if f.Identity < 100 || f.Identity >= 130 {
				t.Fatalf("%s face %d: identity %d outside [100,130)", d, f.Index, f.Identity)
			}
			ids[f.Identity] = true
			e := f.Expression
			if e.Class != f.TrueLabel || e.Blend != fernb.Unlabelled || e.Intensity < DefaultMinIntensity || e.Intensity > DefaultMaxIntensity {
				t.Fatalf("%s face %d: expression %+v for label %v", d, f.Index, e, f.Label)
			}
		}
		// Classes are balanced per block of 7.
		for l := fernb.Angry; l <= fernb.Neutral; l++ {
			if count[l] != 100 {
				t.Errorf("%s: class %v appears %d times in 700, want 100", d, l, count[l])
			}
		}
		if len(ids) < 28 {
			t.Errorf("%s: only %d of 30 identities appear in 700 faces", d, len(ids))
		}
	}
	// An identity looks the same across domains: its skin and hair are drawn
	// from (Seed, identity) alone.
	if newPerson(5, 42) != newPerson(5, 42) || newPerson(5, 42) == newPerson(5, 43) || newPerson(5, 42) == newPerson(6, 42) {
		t.Error("identity appearance is not a function of (seed, id)")
	}
}

func TestPool(t *testing.T) {
	for _, frac := range []float64{0, 0.35, -1} {
		const n = 700
		g := mustNew(t, Config{Domain: Pool, N: n, Seed: 8, UnclearFraction: frac, WildFraction: 0.3})
		want := g.Config().UnclearFraction
		if frac == 0 && want != DefaultUnclearFraction {
			t.Errorf("UnclearFraction 0 became %g, want the default", want)
		}
		faces := make([]Face, n)
		for i := range faces {
			faces[i] = g.Meta(i)
		}
		unclear, wild, blends, weak := 0, 0, 0, 0
		classes := make(map[fernb.Label]int)
		for _, f := range faces {
			if f.Label != fernb.Unlabelled {
				t.Fatalf("pool face %d carries label %v", f.Index, f.Label)
			}
			if f.Look == Wild {
				wild++
			}
			if f.TrueLabel == fernb.Unlabelled {
				unclear++
				e := f.Expression
				switch {
				case e.Blend != fernb.Unlabelled:
					blends++
					if e.Blend == e.Class || e.Blend == fernb.Neutral || e.Class == fernb.Neutral || e.BlendWeight != 0.5 {
						t.Errorf("pool face %d: bad blend %+v", f.Index, e)
					}
				case e.Intensity <= 0.3:
					weak++
				default:
					t.Errorf("pool face %d: no clear expression but %+v", f.Index, e)
				}
				continue
			}
			classes[f.TrueLabel]++
		}
		w := max(want, 0) * n
		if math.Abs(float64(unclear)-w) > 1 {
			t.Errorf("fraction %g: %d unclear faces of %d, want %.0f±1", frac, unclear, n, w)
		}
		if want > 0 && (blends < unclear/4 || weak < unclear/4) {
			t.Errorf("fraction %g: %d blends and %d weak faces, want both kinds", frac, blends, weak)
		}
		if math.Abs(float64(wild)/n-0.3) > 0.05 {
			t.Errorf("WildFraction 0.3: got %d wild of %d", wild, n)
		}
		for l := fernb.Angry; l <= fernb.Neutral; l++ {
			if classes[l] < 45 {
				t.Errorf("fraction %g: class %v only %d times among clear pool faces", frac, l, classes[l])
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	bad := []Config{
		{Size: 8}, {Size: 5000}, {Channels: 2}, {Domain: "studio"}, {N: -1}, {Identities: -3},
		{MinIntensity: 0.8, MaxIntensity: 0.5}, {MaxIntensity: 3}, {UnclearFraction: 1.5}, {WildFraction: 2},
		{WildSeverity: -1},
	}
	for _, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted a bad config", c)
		}
	}
	g := mustNew(t, Config{})
	c := g.Config()
	if c.Size != 48 || c.Channels != 1 || c.Domain != Lab || c.Identities != DefaultIdentities || c.WildSeverity != 1 {
		t.Errorf("defaults not filled in: %+v", c)
	}
	// The normalised config round-trips, including "none" fractions.
	g = mustNew(t, Config{Domain: Pool, UnclearFraction: -1})
	g2 := mustNew(t, g.Config())
	if g2.Config() != g.Config() {
		t.Errorf("config does not round-trip: %+v vs %+v", g.Config(), g2.Config())
	}
	if _, err := ParseDomain("wild"); err != nil {
		t.Error(err)
	}
	if _, err := ParseDomain("Wilde"); err == nil {
		t.Error("ParseDomain accepted an unknown domain")
	}
}

// TestIntensity checks that intensity is a real parameter: face i drawn at
// intensity k differs from the same face at (almost) 0 by an amount that
// grows with k for every expression but Neutral, whose prototype is the
// resting face.
func TestIntensity(t *testing.T) {
	at := func(k float64) []Face { // k > 0: both bounds zero means the defaults
		return mustNew(t, Config{Seed: 4, MinIntensity: k, MaxIntensity: k}).Range(0, 14)
	}
	rest, half, full := at(1e-6), at(0.5), at(1)
	dist := func(a, b Face) float64 {
		var d float64
		pb := pixels(b.Img)
		for i, v := range pixels(a.Img) {
			d += math.Abs(float64(v) - float64(pb[i]))
		}
		return d / float64(len(pb))
	}
	for i := range rest {
		dh, df := dist(rest[i], half[i]), dist(rest[i], full[i])
		if rest[i].TrueLabel == fernb.Neutral {
			if df > 0.01 {
				t.Errorf("face %d (neutral) changes with intensity by %.2f grey levels", i, df)
			}
			continue
		}
		if !(df > 1 && df > dh && dh > 0.2) {
			t.Errorf("face %d (%v): mean change %.2f at intensity 0.5 and %.2f at 1, want growing and > 1 at 1", i, rest[i].TrueLabel, dh, df)
		}
	}
}
