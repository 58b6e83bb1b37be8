package train

import (
	"math"
	"math/rand/v2"

	"github.com/fernb/fernb/fernb/dataset"
)

// The recipe's image augmentation (Config.Crop, Rotate, Scale, Erase) runs
// on the host while the batch is assembled, one image at a time, writing
// straight from the training set into the batch buffer: no image is copied
// twice and nothing is allocated per image.
//
// The geometric part is one affine map per image (shift, rotation and
// zoom about the centre, and the mirror when the flip is drawn) sampled
// bilinearly, so a transformed image is a single pass over its pixels.
// Positions outside the image read the nearest edge pixel (replicate
// padding), which needs no statistics of the data and so is the same at
// training and at test time (EvalOptions.TenCrop). An integer shift
// without rotation or zoom lands on pixel centres, so it moves values
// exactly: pad-and-crop is the special case with only Crop set.

// Random erasing's ranges (Zhong et al., "Random Erasing Data
// Augmentation", AAAI 2020, and torchvision's RandomErasing defaults): the
// erased rectangle covers a fraction of the image drawn uniformly from
// [eraseMinArea, eraseMaxArea], with an aspect ratio (height/width) drawn
// log-uniformly from [eraseMinAspect, 1/eraseMinAspect]; a draw that does
// not fit is retried, up to eraseTries times, and then the image is left
// whole.
const (
	eraseMinArea   = 0.02
	eraseMaxArea   = 1.0 / 3
	eraseMinAspect = 0.3
	eraseTries     = 10
)

// affine maps an output pixel (row i, column j) of an h x w image to the
// input position it samples: column a*(j-cx-dx) + b*(i-cy-dy) + cx and
// row c*(j-cx-dx) + d*(i-cy-dy) + cy, with (cx, cy) the image centre.
type affine struct {
	a, b, c, d float64
	dx, dy     float64
}

// identity is the affine map that copies an image.
var identity = affine{a: 1, d: 1}

// newAffine composes a shift of (dx, dy) pixels, a rotation by theta
// radians and a zoom by scale (> 1 enlarges the face) about the centre,
// and a mirror image when flip is set.
func newAffine(dx, dy, theta, scale float64, flip bool) affine {
	cos, sin := math.Cos(theta)/scale, math.Sin(theta)/scale
	fx := 1.0
	if flip {
		fx = -1
	}
	return affine{a: fx * cos, b: fx * sin, c: -sin, d: cos, dx: dx, dy: dy}
}

// warpImage writes into dst the h x w x c image src seen through m,
// sampling bilinearly; positions outside src read its nearest edge pixel.
// Each output value is a convex combination of input values, so the range
// of the image never grows.
func warpImage(dst, src []float32, h, w, c int, m affine) {
	cx, cy := float64(w-1)/2, float64(h-1)/2
	for i := range h {
		v := float64(i) - cy - m.dy
		for j := range w {
			u := float64(j) - cx - m.dx
			xs := m.a*u + m.b*v + cx
			ys := m.c*u + m.d*v + cy
			x0, y0 := floor(xs), floor(ys)
			fx, fy := float32(xs-float64(x0)), float32(ys-float64(y0))
			c0, c1 := clampIndex(x0, w), clampIndex(x0+1, w)
			r0, r1 := clampIndex(y0, h), clampIndex(y0+1, h)
			p00, p01 := src[(r0*w+c0)*c:], src[(r0*w+c1)*c:]
			p10, p11 := src[(r1*w+c0)*c:], src[(r1*w+c1)*c:]
			out := dst[(i*w+j)*c : (i*w+j+1)*c]
			for k := range out {
				top := (1-fx)*p00[k] + fx*p01[k]
				bot := (1-fx)*p10[k] + fx*p11[k]
				out[k] = (1-fy)*top + fy*bot
			}
		}
	}
}

// floor is math.Floor as an int, without the function call math.Floor
// costs where the CPU level lacks a rounding instruction (GOAMD64=v1).
func floor(x float64) int {
	i := int(x)
	if x < float64(i) {
		i--
	}
	return i
}

// clampIndex is i as an index into [0, n), edges extended.
func clampIndex(i, n int) int { return min(max(i, 0), n-1) }

// rect is an axis-aligned rectangle of pixels: rows [y, y+h), columns
// [x, x+w).
type rect struct{ y, x, h, w int }

// drawErase draws random erasing's rectangle for an h x w image; ok is
// false when no draw fitted.
func drawErase(rng *rand.Rand, h, w int) (r rect, ok bool) {
	logLo, logHi := math.Log(eraseMinAspect), -math.Log(eraseMinAspect)
	for range eraseTries {
		area := float64(h*w) * (eraseMinArea + rng.Float64()*(eraseMaxArea-eraseMinArea))
		aspect := math.Exp(logLo + rng.Float64()*(logHi-logLo))
		eh := int(math.Round(math.Sqrt(area * aspect)))
		ew := int(math.Round(math.Sqrt(area / aspect)))
		if eh < 1 || ew < 1 || eh >= h || ew >= w {
			continue
		}
		return rect{y: rng.IntN(h - eh + 1), x: rng.IntN(w - ew + 1), h: eh, w: ew}, true
	}
	return rect{}, false
}

// eraseImage sets the pixels of r in an h x w x c image to value.
func eraseImage(img []float32, w, c int, r rect, value float32) {
	for i := r.y; i < r.y+r.h; i++ {
		row := img[(i*w+r.x)*c : (i*w+r.x+r.w)*c]
		for k := range row {
			row[k] = value
		}
	}
}

// augmenter applies a Config's per-image augmentation.
type augmenter struct {
	flip                 bool
	crop                 int
	rotate, scale, erase float64
	geometric            bool // any of crop, rotate, scale
}

func newAugmenter(cfg Config) augmenter {
	return augmenter{flip: !cfg.NoFlip, crop: cfg.Crop, rotate: cfg.Rotate, scale: cfg.Scale, erase: cfg.Erase,
		geometric: cfg.Crop > 0 || cfg.Rotate > 0 || cfg.Scale > 0}
}

// apply writes the h x w x c image src into dst under a random draw from
// rng. The draws come in a fixed order (flip, shift, rotation, zoom,
// erasing), each only when its option is on, so a recipe with the new
// options off draws exactly what the flip-only recipe did.
func (a augmenter) apply(dst, src []float32, h, w, c int, rng *rand.Rand) {
	flip := a.flip && rng.IntN(2) == 1
	if !a.geometric {
		copy(dst, src)
		if flip {
			dataset.FlipImage(dst, h, w, c)
		}
	} else {
		var dx, dy, theta float64
		scale := 1.0
		if a.crop > 0 {
			dx = float64(rng.IntN(2*a.crop+1) - a.crop)
			dy = float64(rng.IntN(2*a.crop+1) - a.crop)
		}
		if a.rotate > 0 {
			theta = (2*rng.Float64() - 1) * a.rotate * math.Pi / 180
		}
		if a.scale > 0 {
			scale = 1 + (2*rng.Float64()-1)*a.scale
		}
		warpImage(dst, src, h, w, c, newAffine(dx, dy, theta, scale, flip))
	}
	if a.erase > 0 && rng.Float64() < a.erase {
		if r, ok := drawErase(rng, h, w); ok {
			eraseImage(dst, w, c, r, 0)
		}
	}
}
