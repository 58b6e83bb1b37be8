package synth

import (
	"fmt"
	"image"
	"runtime"
	"sync"

	"github.com/fernb/fernb/fernb"
)

// Domain is the capture condition a set of faces is drawn under.
type Domain string

// The three domains of the omni-supervised setting.
const (
	// Lab faces are frontal, evenly lit, centred and clean, like posed
	// laboratory data sets (CK+, JAFFE): the labelled anchor set.
	Lab Domain = "lab"
	// Wild faces have head pose (yaw and roll), scale and position jitter, a
	// lighting gradient, colour cast, blur, noise, background clutter and
	// partial occlusions (sunglasses, a hand, an object): the test domain
	// with a gap to close, like RAF-DB or FER-2013 after training on lab data.
	Wild Domain = "wild"
	// Pool is the unlabelled mix the pipeline pseudo-labels: lab-like and
	// wild-like faces (Config.WildFraction), some of them of no clear
	// expression (Config.UnclearFraction). Every pool face has Label
	// fernb.Unlabelled; Face.TrueLabel keeps the truth for measuring
	// pseudo-label precision.
	Pool Domain = "pool"
)

// Domains lists the valid domains.
func Domains() []Domain { return []Domain{Lab, Wild, Pool} }

// ParseDomain maps "lab", "wild" or "pool" to a Domain.
func ParseDomain(s string) (Domain, error) {
	for _, d := range Domains() {
		if string(d) == s {
			return d, nil
		}
	}
	return "", fmt.Errorf("synth: unknown domain %q (known: lab, wild, pool)", s)
}

// Defaults used where a Config field is left at its zero value.
const (
	DefaultSize            = 48
	DefaultChannels        = 1
	DefaultIdentities      = 100
	DefaultMinIntensity    = 0.55
	DefaultMaxIntensity    = 1.0
	DefaultWildFraction    = 0.5
	DefaultUnclearFraction = 0.2
)

// Config describes a synthetic data set. The zero value of every field means
// its default, so Config{Domain: Wild, N: 500, Seed: 1} is complete.
type Config struct {
	// Size is the side of the square images in pixels (default 48; any
	// size from 16 to 1024 renders the same faces at that resolution).
	Size int
	// Channels is 1 (grayscale, *image.Gray) or 3 (RGB, *image.RGBA).
	// Default 1.
	Channels int
	// Domain is Lab (default), Wild or Pool.
	Domain Domain
	// N is the number of faces Generate returns and Generator.Len reports.
	// Generator.Face accepts any index >= 0, so a pool can be streamed
	// past N.
	N int
	// Seed decides everything: which identities look how, which face gets
	// which class, expression, pose and noise. Same Seed, same bytes.
	Seed int64
	// Identities is how many different people appear (default 100); face i
	// shows identity FirstIdentity + (a hash of Seed and i) mod Identities.
	// The look of identity k depends only on Seed and k, so two configs with
	// the same Seed and overlapping identity ranges share people; give them
	// disjoint ranges (FirstIdentity) or different Seeds for subject-disjoint
	// sets.
	Identities    int
	FirstIdentity int
	// MinIntensity and MaxIntensity bound the expression intensity: 0 is the
	// identity's resting face, 1 the full prototype. Each labelled face gets
	// an intensity drawn uniformly in [MinIntensity, MaxIntensity]
	// (defaults 0.55 and 1; both zero means the defaults).
	MinIntensity, MaxIntensity float64
	// WildFraction (Pool only) is the share of pool faces drawn with the wild
	// look; the rest look like lab faces. 0 means the default 0.5; a
	// negative value means none.
	WildFraction float64
	// UnclearFraction (Pool only) is the share of pool faces that show no
	// clear expression: a 50/50 blend of two different expressions or a
	// single one at weak intensity (0.1-0.3). Their TrueLabel is
	// fernb.Unlabelled. 0 means the default 0.2; a negative value means
	// none. The count over any run of n consecutive indices is n times the
	// fraction, to within one.
	UnclearFraction float64
	// WildSeverity scales every wild nuisance (pose, scale, shift, light,
	// colour cast, blur, noise, occlusion rate) and so the size of the
	// lab-to-wild gap: 1 is the default range, 0.5 half of it. 0 means 1.
	// The wild faces' identities, expressions and backgrounds do not
	// depend on it.
	WildSeverity float64
}

// Expression says what a face shows.
type Expression struct {
	// Class is the expression rendered; for a blend, the first component.
	Class fernb.Label
	// Blend is the second expression of a blend, or fernb.Unlabelled.
	Blend fernb.Label
	// BlendWeight is Blend's share (0.5 for blends, 0 otherwise).
	BlendWeight float64
	// Intensity scales the expression from the resting face (0) to the
	// prototype (1).
	Intensity float64
}

// Face is one generated image with everything the generator knows about it.
type Face struct {
	// Index is the face's index in its data set (the i of Generator.Face).
	Index int
	// Img is *image.Gray for 1 channel, *image.RGBA (opaque) for 3.
	Img image.Image
	// Label is the class a loader should report: the expression for Lab
	// and Wild faces, fernb.Unlabelled for every Pool face.
	Label fernb.Label
	// TrueLabel is the expression actually drawn, for every domain; it is
	// fernb.Unlabelled ("none") for pool faces of no clear expression.
	// Tests use it to measure pseudo-label precision; a pipeline must never
	// train on it.
	TrueLabel fernb.Label
	// Identity is the person shown, stable across domains and sizes for a
	// given Seed: the subject id for subject-independent splits.
	Identity int
	// Look is Lab or Wild: the capture condition this face was drawn under
	// (for Pool faces, whichever of the two it got).
	Look Domain
	// Expression details (blend, intensity).
	Expression Expression
}

// Subject returns the identity as the subject string loaders use.
func (f Face) Subject() string { return fmt.Sprintf("synth-%04d", f.Identity) }

// Generator renders the faces of one Config. Face i is computed from Seed and
// i alone, so faces can be generated in any order, in parallel, or streamed
// without holding the set. A Generator is safe for concurrent use.
type Generator struct {
	cfg Config
}

// New checks cfg, fills in its defaults and returns a Generator.
func New(cfg Config) (*Generator, error) {
	c, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	return &Generator{cfg: c}, nil
}

// Config returns the generator's configuration with defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// Len returns Config.N.
func (g *Generator) Len() int { return g.cfg.N }

// Ref names face i uniquely within a seed: "synthetic/<domain>/s<seed>/<i>".
func (g *Generator) Ref(i int) string {
	return fmt.Sprintf("synthetic/%s/s%d/%07d", g.cfg.Domain, g.cfg.Seed, i)
}

// Face renders face i (any i >= 0, also beyond Len). It allocates the image.
func (g *Generator) Face(i int) Face {
	if i < 0 {
		panic(fmt.Sprintf("synth: negative face index %d", i))
	}
	f, buf := g.render(i, nil)
	f.Img = toImage(buf, g.cfg.Size, g.cfg.Channels)
	return f
}

// Meta returns face i's metadata (labels, identity, look, expression)
// without rendering it (Img nil): listing a data set of any size costs
// microseconds per face. It equals Face(i) but for Img.
func (g *Generator) Meta(i int) Face {
	if i < 0 {
		panic(fmt.Sprintf("synth: negative face index %d", i))
	}
	f, _, _ := g.meta(i)
	return f
}

// Float32 renders face i into dst as HWC float32 values in [0, 1] (len
// Size*Size*Channels) without building an image.Image, and returns the
// face's metadata (Img nil). It is the fast path for filling tensors.
func (g *Generator) Float32(i int, dst []float32) (Face, error) {
	n := g.cfg.Size * g.cfg.Size * g.cfg.Channels
	if len(dst) != n {
		return Face{}, fmt.Errorf("synth: Float32 needs a buffer of %d values (%dx%dx%d), got %d", n, g.cfg.Size, g.cfg.Size, g.cfg.Channels, len(dst))
	}
	if i < 0 {
		return Face{}, fmt.Errorf("synth: negative face index %d", i)
	}
	f, _ := g.render(i, dst)
	return f, nil
}

// Generate renders faces 0..cfg.N-1, in parallel over GOMAXPROCS goroutines;
// the result does not depend on the number of goroutines.
func Generate(cfg Config) ([]Face, error) {
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return g.Range(0, g.cfg.N), nil
}

// Range renders faces lo..hi-1 in parallel (the streaming form: a pool of any
// size is scored chunk by chunk).
func (g *Generator) Range(lo, hi int) []Face {
	if hi < lo {
		hi = lo
	}
	out := make([]Face, hi-lo)
	workers := min(runtime.GOMAXPROCS(0), len(out))
	var wg sync.WaitGroup
	next := make(chan int, len(out))
	for i := range out {
		next <- i
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				out[k] = g.Face(lo + k)
			}
		}()
	}
	wg.Wait()
	return out
}

func (c Config) normalize() (Config, error) {
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.Size < 16 || c.Size > 1024 {
		return c, fmt.Errorf("synth: image size %d out of range (16..1024)", c.Size)
	}
	if c.Channels == 0 {
		c.Channels = DefaultChannels
	}
	if c.Channels != 1 && c.Channels != 3 {
		return c, fmt.Errorf("synth: channels must be 1 (gray) or 3 (RGB), got %d", c.Channels)
	}
	if c.Domain == "" {
		c.Domain = Lab
	}
	if _, err := ParseDomain(string(c.Domain)); err != nil {
		return c, err
	}
	if c.N < 0 {
		return c, fmt.Errorf("synth: negative number of faces %d", c.N)
	}
	if c.Identities == 0 {
		c.Identities = DefaultIdentities
	}
	if c.Identities < 0 || c.FirstIdentity < 0 {
		return c, fmt.Errorf("synth: identities must be positive and FirstIdentity >= 0 (got %d, %d)", c.Identities, c.FirstIdentity)
	}
	if c.MinIntensity == 0 && c.MaxIntensity == 0 {
		c.MinIntensity, c.MaxIntensity = DefaultMinIntensity, DefaultMaxIntensity
	}
	if c.MinIntensity < 0 || c.MaxIntensity < c.MinIntensity || c.MaxIntensity > 1.5 {
		return c, fmt.Errorf("synth: intensity range [%g, %g] invalid (want 0 <= min <= max <= 1.5)", c.MinIntensity, c.MaxIntensity)
	}
	if c.WildSeverity == 0 {
		c.WildSeverity = 1
	}
	if c.WildSeverity < 0 || c.WildSeverity > 2 {
		return c, fmt.Errorf("synth: WildSeverity %g out of range (0..2]", c.WildSeverity)
	}
	var err error
	if c.WildFraction, err = fraction("WildFraction", c.WildFraction, DefaultWildFraction); err != nil {
		return c, err
	}
	if c.UnclearFraction, err = fraction("UnclearFraction", c.UnclearFraction, DefaultUnclearFraction); err != nil {
		return c, err
	}
	return c, nil
}

// fraction applies the "0 means default, negative means none" rule.
func fraction(name string, v, def float64) (float64, error) {
	switch {
	case v == 0:
		return def, nil
	case v < 0:
		return -1, nil // kept negative so that New(g.Config()) round-trips
	case v > 1:
		return 0, fmt.Errorf("synth: %s %g is above 1", name, v)
	}
	return v, nil
}
