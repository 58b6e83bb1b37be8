package face

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	pigo "github.com/esimov/pigo/core"
)

// ErrNoFace is returned for an image in which no face was found when the
// NoFace policy is Skip.
var ErrNoFace = errors.New("no face found")

// Pick says which face to keep when an image holds several.
type Pick string

const (
	// Largest keeps the biggest face: in a photograph of one subject the
	// subject is nearest the camera, and stray detections in hair or
	// background are small.
	Largest Pick = "largest"
	// Confident keeps the face the cascade scores highest.
	Confident Pick = "confident"
)

// NoFacePolicy says what happens to an image in which no face is found.
type NoFacePolicy string

const (
	// Skip leaves the image out (ErrNoFace); the loader lists it.
	Skip NoFacePolicy = "skip"
	// Centre keeps the central square of the image, as if the face filled
	// it; the loader lists it too.
	Centre NoFacePolicy = "centre"
)

// Options are the alignment settings. Every field changes the crops, so all
// of them (and the cascades' digest) make up Key; a checkpoint records them
// (without CascadeDir, which is machine-local) so that evaluation and
// selection can align as training did.
type Options struct {
	// Margin widens the detected face square by this fraction of its side
	// on every side before cropping (0.2: the crop is 1.4 face sides).
	Margin float64 `json:"margin"`
	// Rotate turns the crop so that the pupils are level, when both are
	// located plausibly (else the crop is not rotated).
	Rotate bool `json:"rotate"`
	// Pick chooses among several faces (default Largest).
	Pick Pick `json:"pick"`
	// NoFace is what to do without a face (default Skip).
	NoFace NoFacePolicy `json:"noface"`
	// MinQuality is the lowest cascade score a face may have (pigo's
	// clustered detection score; its examples use 5).
	MinQuality float64 `json:"min_quality"`
	// MinFace is the smallest face searched for, as a fraction of the
	// image's shorter side.
	MinFace float64 `json:"min_face"`
	// Pad extends the image on every side by this fraction of its shorter
	// side (edge pixels repeated) before detecting: pigo only slides
	// windows that fit inside the image, so without it a face that fills
	// an already-cropped picture (FER-2013, UTKFace) cannot be found.
	Pad float64 `json:"pad"`
	// CascadeDir holds pigo's facefinder and puploc files ("" = the pigo
	// module in the Go module cache, see CascadeDir).
	CascadeDir string `json:"cascade_dir,omitempty"`
}

// DefaultOptions are the settings `--align` uses unless told otherwise.
func DefaultOptions() Options {
	return Options{Margin: 0.1, Rotate: true, Pick: Largest, NoFace: Skip, MinQuality: 5, MinFace: 0.2, Pad: 0.25}
}

func (o Options) validate() error {
	switch {
	case o.Margin < 0 || o.Margin > 2:
		return fmt.Errorf("face: margin %g must be in [0,2]", o.Margin)
	case o.Pick != Largest && o.Pick != Confident:
		return fmt.Errorf("face: pick %q must be %q or %q", o.Pick, Largest, Confident)
	case o.NoFace != Skip && o.NoFace != Centre:
		return fmt.Errorf("face: no-face policy %q must be %q or %q", o.NoFace, Skip, Centre)
	case o.MinFace <= 0 || o.MinFace > 1:
		return fmt.Errorf("face: min face %g must be in (0,1]", o.MinFace)
	case o.Pad < 0 || o.Pad > 1:
		return fmt.Errorf("face: pad %g must be in [0,1]", o.Pad)
	}
	return nil
}

// Aligner detects and crops faces with fixed Options. Build one with New
// and share it between goroutines.
type Aligner struct {
	opt Options
	cas *cascades
}

// New loads the cascades and checks the options. Empty Pick and NoFace
// take their defaults.
func New(opt Options) (*Aligner, error) {
	if opt.Pick == "" {
		opt.Pick = Largest
	}
	if opt.NoFace == "" {
		opt.NoFace = Skip
	}
	if err := opt.validate(); err != nil {
		return nil, err
	}
	cas, err := loadCascades(opt.CascadeDir)
	if err != nil {
		return nil, err
	}
	return &Aligner{opt: opt, cas: cas}, nil
}

// Options returns the settings the Aligner was built with.
func (a *Aligner) Options() Options { return a.opt }

// Key names the settings and cascades, for cache keys: two Aligners with
// the same Key produce the same crops.
func (a *Aligner) Key() string {
	o := a.opt
	return fmt.Sprintf("face1 margin=%g rotate=%t pick=%s noface=%s minq=%g minface=%g pad=%g cascades=%s",
		o.Margin, o.Rotate, o.Pick, o.NoFace, o.MinQuality, o.MinFace, o.Pad, a.cas.digest)
}

// Point is a position in image pixels (X right, Y down; pixel (0,0)
// spans [0,1)x[0,1)).
type Point struct{ X, Y float64 }

// Face is one detection: the centre and side of its square, the cascade's
// score, and the pupils (image-left first) when located.
type Face struct {
	Center Point
	Side   float64
	Q      float64
	Eyes   []Point
}

// Result says what Align found and did.
type Result struct {
	// Faces is the number of faces found (0: none; above 1: the one Pick
	// chose was kept).
	Faces int
	// Face is the face cropped (the zero Face when none was found).
	Face Face
	// Center, Side and Angle (radians, clockwise in image coordinates)
	// describe the square cut out of the source image.
	Center Point
	Side   float64
	Angle  float64
}

// Found reports whether a face was found.
func (r Result) Found() bool { return r.Faces > 0 }

// Describe is the report line for an image with several faces or none.
func (r Result) Describe(pick Pick) string {
	if r.Faces == 0 {
		return "no face found"
	}
	which := "largest"
	if pick == Confident {
		which = "most confident"
	}
	return fmt.Sprintf("%d faces; kept the %s", r.Faces, which)
}

// grey converts an h x w x c buffer with values in [0,255] to 8-bit luma
// on a canvas padded by pad pixels on every side (edges repeated).
func grey(src []float32, h, w, c, pad int) []uint8 {
	ph, pw := h+2*pad, w+2*pad
	out := make([]uint8, ph*pw)
	for y := range ph {
		sy := min(max(y-pad, 0), h-1)
		for x := range pw {
			sx := min(max(x-pad, 0), w-1)
			i := (sy*w + sx) * c
			v := src[i]
			if c == 3 {
				v = 0.299*src[i] + 0.587*src[i+1] + 0.114*src[i+2]
			}
			out[y*pw+x] = uint8(min(max(v+0.5, 0), 255))
		}
	}
	return out
}

// Detect returns the faces of an h x w x c image (c 1 or 3, values in
// [0,255]) that pass MinQuality, the one Pick prefers first, with pupils
// located when Rotate is set.
func (a *Aligner) Detect(src []float32, h, w, c int) ([]Face, error) {
	if h <= 0 || w <= 0 || (c != 1 && c != 3) || len(src) < h*w*c {
		return nil, fmt.Errorf("face: image %dx%dx%d with %d values", h, w, c, len(src))
	}
	short := min(h, w)
	pad := int(math.Round(a.opt.Pad * float64(short)))
	ph, pw := h+2*pad, w+2*pad
	pix := grey(src, h, w, c, pad)
	params := pigo.CascadeParams{
		MinSize:     max(int(a.opt.MinFace*float64(short)), 8),
		MaxSize:     min(ph, pw),
		ShiftFactor: 0.1,
		ScaleFactor: 1.1,
		ImageParams: pigo.ImageParams{Pixels: pix, Rows: ph, Cols: pw, Dim: pw},
	}
	dets := a.cas.face.RunCascade(params, 0)
	dets = a.cas.face.ClusterDetections(dets, 0.2)
	var faces []Face
	for _, d := range dets {
		if float64(d.Q) < a.opt.MinQuality {
			continue
		}
		faces = append(faces, Face{
			Center: Point{float64(d.Col-pad) + 0.5, float64(d.Row-pad) + 0.5},
			Side:   float64(d.Scale),
			Q:      float64(d.Q),
		})
	}
	faces = suppress(faces)
	sort.SliceStable(faces, func(i, j int) bool {
		fi, fj := faces[i], faces[j]
		if a.opt.Pick == Confident || fi.Side == fj.Side {
			return fi.Q > fj.Q
		}
		return fi.Side > fj.Side
	})
	if a.opt.Rotate && len(faces) > 0 {
		faces[0].Eyes = a.pupils(faces[0], pix, ph, pw, pad)
	}
	return faces, nil
}

// suppress drops detections of a face already kept: pigo's clustering is
// greedy and leaves overlapping clusters of one face (a box and a slightly
// larger or smaller one, or a box around the mouth or an eye inside the
// face's), which would count as several faces and let Largest pick a box
// that is mostly background. Faces are kept by score; one whose square
// overlaps a kept one by more than 30% (intersection over union) or whose
// centre lies inside a kept one is dropped.
func suppress(faces []Face) []Face {
	sort.SliceStable(faces, func(i, j int) bool { return faces[i].Q > faces[j].Q })
	var kept []Face
next:
	for _, f := range faces {
		for _, k := range kept {
			if iou(f, k) > 0.3 || inside(f.Center, k) || inside(k.Center, f) {
				continue next
			}
		}
		kept = append(kept, f)
	}
	return kept
}

func inside(p Point, f Face) bool {
	return math.Abs(p.X-f.Center.X) < f.Side/2 && math.Abs(p.Y-f.Center.Y) < f.Side/2
}

func iou(a, b Face) float64 {
	ox := math.Max(0, math.Min(a.Center.X+a.Side/2, b.Center.X+b.Side/2)-math.Max(a.Center.X-a.Side/2, b.Center.X-b.Side/2))
	oy := math.Max(0, math.Min(a.Center.Y+a.Side/2, b.Center.Y+b.Side/2)-math.Max(a.Center.Y-a.Side/2, b.Center.Y-b.Side/2))
	in := ox * oy
	return in / (a.Side*a.Side + b.Side*b.Side - in)
}

// pupils locates both pupils of f, or returns nil when either lands where
// no pupil of an upright face can be (outside the face's upper half, too
// close together or too far apart, or tilted beyond 30 degrees): a wrong
// angle would turn a good crop into a bad one.
func (a *Aligner) pupils(f Face, pix []uint8, rows, cols, pad int) []Point {
	// Starting points and scale as pigo's own examples.
	r0 := f.Center.Y + float64(pad) - 0.075*f.Side
	var eyes []Point
	for k, dx := range []float64{-0.175, 0.185} {
		c0 := f.Center.X + float64(pad) + dx*f.Side
		// Seeded per face so that the same image gives the same crop.
		rng := rand.New(rand.NewPCG(uint64(math.Float64bits(r0)), uint64(math.Float64bits(c0))^uint64(k)))
		const perturbs = 63
		rs, cs := make([]float64, perturbs), make([]float64, perturbs)
		s0 := float32(0.25 * f.Side)
		for i := range perturbs {
			r := float32(r0) + s0*0.15*(0.5-rng.Float32())
			c := float32(c0) + s0*0.15*(0.5-rng.Float32())
			s := s0 * (0.925 + 0.15*rng.Float32())
			rr, cc := a.cas.pupil.regress(r, c, s, pix, rows, cols)
			rs[i], cs[i] = float64(rr), float64(cc)
		}
		sort.Float64s(rs)
		sort.Float64s(cs)
		eyes = append(eyes, Point{cs[perturbs/2] - float64(pad), rs[perturbs/2] - float64(pad)})
	}
	l, r := eyes[0], eyes[1]
	half := f.Side / 2
	for _, e := range eyes {
		if math.Abs(e.X-f.Center.X) > half || e.Y < f.Center.Y-half || e.Y > f.Center.Y+0.1*f.Side {
			return nil
		}
	}
	d := math.Hypot(r.X-l.X, r.Y-l.Y)
	if r.X <= l.X || d < 0.2*f.Side || d > 0.7*f.Side || math.Abs(LevelAngle(l, r)) > math.Pi/6 {
		return nil
	}
	return eyes
}

// LevelAngle is the angle (radians, clockwise in image coordinates, where
// Y points down) of the line from the image-left pupil to the other one:
// the rotation that makes them level.
func LevelAngle(left, right Point) float64 {
	return math.Atan2(right.Y-left.Y, right.X-left.X)
}

// Align finds the face of an h x w x c image (values in [0,255]) and
// returns its square crop at the source resolution (side x side x c), for
// dataset.Preprocess to resize. Without a face it returns ErrNoFace (policy
// Skip) or the central square (policy Centre) with Result.Faces 0.
func (a *Aligner) Align(src []float32, h, w, c int) ([]float32, int, Result, error) {
	faces, err := a.Detect(src, h, w, c)
	if err != nil {
		return nil, 0, Result{}, err
	}
	res := Result{Faces: len(faces)}
	if len(faces) == 0 {
		if a.opt.NoFace == Skip {
			return nil, 0, res, ErrNoFace
		}
		res.Side = float64(min(h, w))
		res.Center = Point{float64(w) / 2, float64(h) / 2}
	} else {
		f := faces[0]
		res.Face = f
		res.Side = math.Min(f.Side*(1+2*a.opt.Margin), float64(min(h, w)))
		// Keep the square inside the image: shift it in rather than pad
		// with pixels that are not there.
		half := res.Side / 2
		res.Center = Point{
			math.Min(math.Max(f.Center.X, half), float64(w)-half),
			math.Min(math.Max(f.Center.Y, half), float64(h)-half),
		}
		if len(f.Eyes) == 2 {
			res.Angle = LevelAngle(f.Eyes[0], f.Eyes[1])
		}
	}
	side := max(int(math.Round(res.Side)), 1)
	return Crop(src, h, w, c, res.Center, float64(side), res.Angle), side, res, nil
}

// Crop cuts a side x side square centred on center out of an h x w x c
// image, turned by angle (radians, clockwise in image coordinates) so that
// a line at that angle in the source comes out level; samples are bilinear
// and positions outside the image take the nearest edge pixel. With angle
// 0 and a square on whole pixels it copies pixels exactly.
func Crop(src []float32, h, w, c int, center Point, side, angle float64) []float32 {
	n := max(int(math.Round(side)), 1)
	out := make([]float32, n*n*c)
	cos, sin := math.Cos(angle), math.Sin(angle)
	half := float64(n) / 2
	for v := range n {
		dv := float64(v) + 0.5 - half
		for u := range n {
			du := float64(u) + 0.5 - half
			// Pixel-centre convention: pixel i covers [i, i+1).
			x := center.X + du*cos - dv*sin - 0.5
			y := center.Y + du*sin + dv*cos - 0.5
			x0, y0 := math.Floor(x), math.Floor(y)
			fx, fy := float32(x-x0), float32(y-y0)
			xa, xb := clampi(int(x0), w), clampi(int(x0)+1, w)
			ya, yb := clampi(int(y0), h), clampi(int(y0)+1, h)
			o := (v*n + u) * c
			for k := range c {
				p00 := src[(ya*w+xa)*c+k]
				p01 := src[(ya*w+xb)*c+k]
				p10 := src[(yb*w+xa)*c+k]
				p11 := src[(yb*w+xb)*c+k]
				out[o+k] = (p00*(1-fx)+p01*fx)*(1-fy) + (p10*(1-fx)+p11*fx)*fy
			}
		}
	}
	return out
}

func clampi(v, n int) int { return min(max(v, 0), n-1) }
