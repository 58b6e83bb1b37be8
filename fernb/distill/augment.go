package distill

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/gomlx/core/graph"
)

// Differentiable Siamese augmentation (DSA; Zhao & Bilen, "Dataset
// Condensation with Differentiable Siamese Augmentation", ICML 2021), which
// DM's authors use in every DM run: in each outer iteration the real
// images of a class and the synthetic images of that class pass through the
// same random transformation before they are embedded, so the synthetic
// images are learned to match the real ones under shifts, scalings,
// rotations, flips, cut-outs and colour changes rather than only as they
// are. Without it, DM's images only have to match the mean embedding of
// untransformed faces.
//
// As in DSA's "S" mode (its default), every class draws one family of
// transformation per iteration (colour, crop, cut-out, flip, scale or
// rotate) and every image its own parameters; synthetic image j of a class
// shares the parameters of real image j of that class (the Siamese part).
// The geometric families are nearest-neighbour index maps computed on the
// host and applied with one Gather, whose gradient (a scatter-add) carries
// the matching loss back to the synthetic pixels; pixels that a map takes
// from outside the image (and cut-out squares) read the real data's
// per-channel mean, which is where DSA's zero padding of normalised images
// lands. Colour is brightness (± half a standard deviation), saturation
// (RGB only, x0-2 around the grey value) and contrast (x0.5-1.5 around the
// image mean), DSA's ranges.

// The families of DSA's "S" mode and their parameters (DSA's ParamDiffAug).
const (
	dsaColour = iota
	dsaCrop
	dsaCutout
	dsaFlip
	dsaScale
	dsaRotate
	dsaFamilies

	dsaScaleRatio  = 1.2  // scale in [1/1.2, 1.2] along each axis
	dsaRotateDeg   = 15.0 // rotation in [-15°, 15°]
	dsaCropPad     = 0.125
	dsaCutoutRatio = 0.5
	dsaBrightness  = 1.0 // offset (u-0.5) x this, in standard deviations
	dsaSaturation  = 2.0 // factor u x this
	dsaContrast    = 0.5 // factor u + this
)

// augBatch is the transformation of a batch of n images of h x w x c: for
// every output pixel the flat pixel index it reads (n*h*w means "the fill
// value"), and per image a brightness offset per channel, a saturation and
// a contrast factor.
type augBatch struct {
	idx      []int32   // [n*h*w]
	add      []float32 // [n*c]
	sat, con []float32 // [n]
}

// augParams is one image's draw.
type augParams struct {
	family                int
	flip                  bool
	sx, sy, theta         float64 // scale factors, rotation (radians)
	dx, dy                int     // crop shift in pixels
	cx, cy, half          int     // cut-out centre and half size
	bright, satur, contra float64
}

// drawAug draws the parameters of perClass images of each of k classes
// (class-major): one family per class, parameters per image.
func drawAug(rng *rand.Rand, k, perClass, h, w int) []augParams {
	out := make([]augParams, k*perClass)
	for c := range k {
		fam := rng.IntN(dsaFamilies)
		for j := range perClass {
			p := augParams{family: fam, sx: 1, sy: 1, satur: 1, contra: 1}
			switch fam {
			case dsaColour:
				p.bright = (rng.Float64() - 0.5) * dsaBrightness
				p.satur = rng.Float64() * dsaSaturation
				p.contra = rng.Float64() + dsaContrast
			case dsaCrop:
				// DSA's crop pads by 1/8 of the size and crops back: an
				// integer shift of up to that many pixels each way.
				mh, mw := int(float64(h)*dsaCropPad+0.5), int(float64(w)*dsaCropPad+0.5)
				p.dy, p.dx = rng.IntN(2*mh+1)-mh, rng.IntN(2*mw+1)-mw
			case dsaCutout:
				p.half = int(float64(min(h, w))*dsaCutoutRatio+0.5) / 2
				p.cy, p.cx = rng.IntN(h), rng.IntN(w)
			case dsaFlip:
				p.flip = rng.IntN(2) == 1
			case dsaScale:
				lo := 1 / dsaScaleRatio
				p.sx = lo + rng.Float64()*(dsaScaleRatio-lo)
				p.sy = lo + rng.Float64()*(dsaScaleRatio-lo)
			case dsaRotate:
				p.theta = (rng.Float64() - 0.5) * 2 * dsaRotateDeg * math.Pi / 180
			}
			out[c*perClass+j] = p
		}
	}
	return out
}

// source returns the input pixel (row, col) that output pixel (i, j) of an
// h x w image reads under p, and false when it lies outside the image or
// in the cut-out.
func (p augParams) source(i, j, h, w int) (int, int, bool) {
	switch p.family {
	case dsaCrop:
		i, j = i-p.dy, j-p.dx
	case dsaCutout:
		if i >= p.cy-p.half && i < p.cy+p.half && j >= p.cx-p.half && j < p.cx+p.half {
			return 0, 0, false
		}
	case dsaFlip:
		if p.flip {
			j = w - 1 - j
		}
	case dsaScale, dsaRotate:
		// An affine grid in normalised coordinates (pixel centres,
		// align_corners=False), as torch's affine_grid + grid_sample,
		// sampled at the nearest pixel.
		u := (2*float64(j)+1)/float64(w) - 1
		v := (2*float64(i)+1)/float64(h) - 1
		cos, sin := math.Cos(p.theta), math.Sin(p.theta)
		su := p.sx * (cos*u - sin*v)
		sv := p.sy * (sin*u + cos*v)
		j = int(math.Floor(((su+1)*float64(w)-1)/2 + 0.5))
		i = int(math.Floor(((sv+1)*float64(h)-1)/2 + 0.5))
	}
	return i, j, i >= 0 && i < h && j >= 0 && j < w
}

// buildAug turns the draws of n images of h x w x c into the tensors the graph
// takes; std is the real data's per-channel standard deviation (the unit of
// the brightness offset).
func buildAug(ps []augParams, h, w, c int, std []float32) augBatch {
	n := len(ps)
	b := augBatch{idx: make([]int32, n*h*w), add: make([]float32, n*c), sat: make([]float32, n), con: make([]float32, n)}
	fill := int32(n * h * w)
	for k, p := range ps {
		for i := range h {
			for j := range w {
				dst := (k*h+i)*w + j
				if si, sj, ok := p.source(i, j, h, w); ok {
					b.idx[dst] = int32((k*h+si)*w + sj)
				} else {
					b.idx[dst] = fill
				}
			}
		}
		for ch := range c {
			b.add[k*c+ch] = float32(p.bright) * std[ch]
		}
		b.sat[k], b.con[k] = float32(p.satur), float32(p.contra)
	}
	return b
}

// siamese returns the draws for the synthetic images: image j of class c
// takes real image (j mod perClass) of class c's parameters.
func siamese(real []augParams, k, perClass, ipc int) []augParams {
	out := make([]augParams, k*ipc)
	for c := range k {
		for j := range ipc {
			out[c*ipc+j] = real[c*perClass+j%perClass]
		}
	}
	return out
}

// applyAug applies an augBatch to images x [n, h, w, c]: colour first
// (brightness, saturation, contrast), then the index map, whose fill index
// reads fill [c] (the real data's mean). idx is [n*h*w, 1] int32, add
// [n, c], sat and con [n].
func applyAug(x, idx, add, sat, con, fill *graph.Node) *graph.Node {
	dims := x.Shape().Dimensions
	n, h, w, c := dims[0], dims[1], dims[2], dims[3]
	x = graph.Add(x, graph.Reshape(add, n, 1, 1, c))
	if c > 1 {
		grey := graph.ReduceAndKeep(x, graph.ReduceMean, -1)
		x = graph.Add(graph.Mul(graph.Sub(x, grey), graph.Reshape(sat, n, 1, 1, 1)), grey)
	}
	m := graph.ReduceAndKeep(x, graph.ReduceMean, 1, 2, 3)
	x = graph.Add(graph.Mul(graph.Sub(x, m), graph.Reshape(con, n, 1, 1, 1)), m)
	flat := graph.Concatenate([]*graph.Node{graph.Reshape(x, n*h*w, c), graph.Reshape(fill, 1, c)}, 0)
	return graph.Reshape(graph.Gather(flat, idx), n, h, w, c)
}

// apply transforms one h x w x c image by p in place: the host twin of
// applyAug, with mean the value of pixels read from outside the image and
// std the brightness unit. It works on one copy of the image (the colour
// step's output), from which the index map writes back into img.
func (p augParams) apply(img []float32, h, w, c int, mean, std []float32) {
	col := slices.Clone(img)
	if p.family == dsaColour {
		var m float64
		for i := range col {
			col[i] += float32(p.bright) * std[i%c]
		}
		if c > 1 {
			for px := 0; px < len(col); px += c {
				var g float32
				for ch := range c {
					g += col[px+ch]
				}
				g /= float32(c)
				for ch := range c {
					col[px+ch] = (col[px+ch]-g)*float32(p.satur) + g
				}
			}
		}
		for _, v := range col {
			m += float64(v)
		}
		mm := float32(m / float64(len(col)))
		for i := range col {
			col[i] = (col[i]-mm)*float32(p.contra) + mm
		}
	}
	for i := range h {
		for j := range w {
			o := (i*w + j) * c
			si, sj, ok := p.source(i, j, h, w)
			for ch := range c {
				if ok {
					img[o+ch] = col[(si*w+sj)*c+ch]
				} else {
					img[o+ch] = mean[ch]
				}
			}
		}
	}
}

// Augment returns a train.Aux Augment hook that applies one random DSA
// transformation (family and parameters drawn from the step's stream) to
// every auxiliary image: a DAS distilled with Config.DSA was matched to the
// real images under these transformations, and DSA's protocol trains on its
// images under them too, which keeps a network from memorising K fixed
// images that it sees at every step. mean and std are the per-channel
// statistics of the training images (the fill value and the brightness
// unit); dataset.Tensors.ChannelStats gives them.
func Augment(mean, std []float32) func(img []float32, h, w, c int, rng *rand.Rand) {
	mean, std = slices.Clone(mean), slices.Clone(std)
	return func(img []float32, h, w, c int, rng *rand.Rand) {
		drawAug(rng, 1, 1, h, w)[0].apply(img, h, w, c, mean, std)
	}
}
