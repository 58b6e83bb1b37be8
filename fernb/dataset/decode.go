package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registers GIF
	_ "image/jpeg"
	_ "image/png"
	"math"
	"math/rand/v2"
	"path"
	"strings"

	"github.com/fernb/fernb/fernb/face"
	_ "golang.org/x/image/bmp" // registers BMP
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels is the largest image (width x height, from its header)
// that is decoded: a 64 Mpx image already needs 256 MB as RGBA, and a header
// claiming more is far more likely a decompression bomb than a face.
const DefaultMaxPixels = 64 << 20

// DefaultMaxImageBytes bounds the encoded size of one image file or record.
const DefaultMaxImageBytes = 64 << 20

// ErrImageTooLarge is returned when an image header claims more pixels than
// Preprocess.MaxPixels; the image is rejected before decoding.
var ErrImageTooLarge = errors.New("image too large")

// imageExts are the file extensions loaders treat as images.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".bmp": true,
	".tif": true, ".tiff": true, ".webp": true,
}

// IsImageName reports whether name has an image extension that the decoder
// handles (JPEG, PNG, GIF, BMP, TIFF, WebP).
func IsImageName(name string) bool {
	return imageExts[strings.ToLower(path.Ext(name))]
}

// Preprocess says how encoded images become model inputs. The zero value of
// each optional field picks the common choice; Height, Width and Channels
// are required (Channels 1 = grayscale, 3 = RGB).
//
// The order is: decode (rejecting headers over MaxPixels), convert to
// grayscale or RGB, cut out the face (when Align is set), centre-crop,
// resize (antialiased), scale to [0,1], then (v - Mean[c]) / Std[c].
type Preprocess struct {
	Height, Width, Channels int
	// CenterCrop keeps the central square of this fraction of the shorter
	// side before resizing (0 or 1 = keep the whole image, resized to
	// Height x Width without preserving aspect ratio).
	CenterCrop float64
	// Mean and Std per channel (len 1 applies to every channel); empty
	// means 0 and 1, i.e. values in [0,1].
	Mean, Std []float32
	// MaxPixels rejects images whose header claims more pixels (default
	// DefaultMaxPixels).
	MaxPixels int64
	// MaxImageBytes rejects encoded images larger than this (default
	// DefaultMaxImageBytes).
	MaxImageBytes int64
	// Workers decoding in parallel (default GOMAXPROCS).
	Workers int
	// CacheDir, when set, stores decoded Tensors there so that later
	// loads of the same items with the same Preprocess skip decoding.
	// Nothing is ever written outside it.
	CacheDir string
	// Align, when set, replaces each image by the square crop of its face
	// (see package face) before the steps above. Load, Verify and
	// Pool.Stream list the images with no face or several in the Report;
	// Apply and Decode, which have no report, ignore it. It is not saved
	// with a checkpoint's preprocessing: every command takes --align.
	Align *face.Aligner `json:"-"`
}

// DefaultPreprocess is the paper's primitive-learner input: 48x48 grayscale
// in [0,1].
func DefaultPreprocess() Preprocess { return Preprocess{Height: 48, Width: 48, Channels: 1} }

func (p Preprocess) validate() error {
	if p.Height <= 0 || p.Width <= 0 {
		return fmt.Errorf("dataset: preprocess size %dx%d must be positive", p.Height, p.Width)
	}
	if p.Channels != 1 && p.Channels != 3 {
		return fmt.Errorf("dataset: preprocess channels %d must be 1 (grayscale) or 3 (RGB)", p.Channels)
	}
	if p.CenterCrop < 0 || p.CenterCrop > 1 {
		return fmt.Errorf("dataset: centre crop %g must be in (0,1]", p.CenterCrop)
	}
	for _, s := range p.Std {
		if s == 0 {
			return errors.New("dataset: preprocess Std must not be zero")
		}
	}
	if (len(p.Mean) > 1 && len(p.Mean) != p.Channels) || (len(p.Std) > 1 && len(p.Std) != p.Channels) {
		return fmt.Errorf("dataset: Mean/Std need 1 or %d values", p.Channels)
	}
	return nil
}

func (p Preprocess) maxPixels() int64 {
	if p.MaxPixels > 0 {
		return p.MaxPixels
	}
	return DefaultMaxPixels
}

func (p Preprocess) maxImageBytes() int64 {
	if p.MaxImageBytes > 0 {
		return p.MaxImageBytes
	}
	return DefaultMaxImageBytes
}

// DecodeImage decodes an encoded image after checking that its header
// claims at most maxPixels pixels (<= 0 means DefaultMaxPixels).
func DecodeImage(data []byte, maxPixels int64) (image.Image, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading image header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s header claims %dx%d pixels", format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, fmt.Errorf("%s header claims %dx%d pixels: %w (limit %d)", format, cfg.Width, cfg.Height, ErrImageTooLarge, maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", format, err)
	}
	return img, nil
}

// toFloat converts img to an H x W x c float32 buffer with values in
// [0,255], as grayscale (ITU-R 601 luma) or RGB.
func toFloat(img image.Image, c int) (buf []float32, h, w int) {
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	buf = make([]float32, w*h*c)
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				for k := 0; k < c; k++ {
					buf[(y*w+x)*c+k] = float32(v)
				}
			}
		}
		return
	case *image.YCbCr:
		if c == 1 {
			for y := 0; y < h; y++ {
				row := m.Y[y*m.YStride : y*m.YStride+w]
				for x, v := range row {
					buf[y*w+x] = float32(v)
				}
			}
			return
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			rf, gf, bf := float32(r)/257, float32(g)/257, float32(bl)/257
			i := (y*w + x) * c
			if c == 1 {
				buf[i] = 0.299*rf + 0.587*gf + 0.114*bf
			} else {
				buf[i], buf[i+1], buf[i+2] = rf, gf, bf
			}
		}
	}
	return
}

// resizeAxis builds, for each of the n output positions, the input indices
// and weights of a triangle filter whose support widens when shrinking, so
// that downscaling averages (antialiases) instead of skipping pixels.
func resizeAxis(in, out int, off, span float64) (idx [][]int, wts [][]float32) {
	scale := span / float64(out)
	support := math.Max(1, scale)
	// Taps outside the crop window are clamped to its edge, as if the
	// image had been cropped first.
	first := min(max(int(math.Floor(off)), 0), in-1)
	last := min(max(int(math.Ceil(off+span))-1, first), in-1)
	idx = make([][]int, out)
	wts = make([][]float32, out)
	for o := 0; o < out; o++ {
		center := off + (float64(o)+0.5)*scale
		lo := int(math.Floor(center - support))
		hi := int(math.Ceil(center + support))
		var sum float64
		for i := lo; i <= hi; i++ {
			d := math.Abs(float64(i)+0.5-center) / support
			if d >= 1 {
				continue
			}
			ii := min(max(i, first), last)
			wt := 1 - d
			idx[o] = append(idx[o], ii)
			wts[o] = append(wts[o], float32(wt))
			sum += wt
		}
		if sum == 0 {
			ii := min(max(int(center), first), last)
			idx[o], wts[o] = []int{ii}, []float32{1}
			continue
		}
		for k := range wts[o] {
			wts[o][k] /= float32(sum)
		}
	}
	return
}

// resample crops (crop fraction of the shorter side, centred; 0 = none) and
// resizes an h x w x c buffer into dst (oh x ow x c).
func resample(src []float32, h, w, c int, dst []float32, oh, ow int, crop float64) {
	y0, x0, ch, cw := 0.0, 0.0, float64(h), float64(w)
	if crop > 0 && crop < 1 {
		side := crop * math.Min(float64(h), float64(w))
		y0, x0 = (float64(h)-side)/2, (float64(w)-side)/2
		ch, cw = side, side
	}
	if crop == 0 && oh == h && ow == w {
		copy(dst, src)
		return
	}
	yi, yw := resizeAxis(h, oh, y0, ch)
	xi, xw := resizeAxis(w, ow, x0, cw)
	// Horizontal pass into tmp (h x ow x c), then vertical into dst.
	tmp := make([]float32, h*ow*c)
	for y := 0; y < h; y++ {
		for ox := 0; ox < ow; ox++ {
			for k := 0; k < c; k++ {
				var s float32
				for j, ix := range xi[ox] {
					s += xw[ox][j] * src[(y*w+ix)*c+k]
				}
				tmp[(y*ow+ox)*c+k] = s
			}
		}
	}
	for oy := 0; oy < oh; oy++ {
		row := dst[oy*ow*c : (oy+1)*ow*c]
		for i := range row {
			row[i] = 0
		}
		for j, iy := range yi[oy] {
			wt := yw[oy][j]
			srow := tmp[iy*ow*c : (iy+1)*ow*c]
			for i, v := range srow {
				row[i] += wt * v
			}
		}
	}
}

// Apply converts a decoded image into dst (Height*Width*Channels values).
func (p Preprocess) Apply(img image.Image, dst []float32) {
	buf, h, w := toFloat(img, p.Channels)
	p.applyFloat(buf, h, w, dst)
}

// applyFloat crops, resizes and normalises an h x w x Channels buffer of
// values in [0,255] into dst.
func (p Preprocess) applyFloat(buf []float32, h, w int, dst []float32) {
	resample(buf, h, w, p.Channels, dst, p.Height, p.Width, p.CenterCrop)
	c := p.Channels
	for i := range dst {
		k := i % c
		v := dst[i] / 255
		if len(p.Mean) > 0 {
			v -= p.Mean[min(k, len(p.Mean)-1)]
		}
		if len(p.Std) > 0 {
			v /= p.Std[min(k, len(p.Std)-1)]
		}
		dst[i] = v
	}
}

// Decode decodes encoded bytes (with the size and pixel limits) and applies
// the preprocessing into dst.
func (p Preprocess) Decode(data []byte, dst []float32) error {
	img, err := p.decodeImage(data)
	if err != nil {
		return err
	}
	p.Apply(img, dst)
	return nil
}

func (p Preprocess) decodeImage(data []byte) (image.Image, error) {
	if int64(len(data)) > p.maxImageBytes() {
		return nil, fmt.Errorf("%d bytes: %w (limit %d)", len(data), ErrTooLarge, p.maxImageBytes())
	}
	return DecodeImage(data, p.maxPixels())
}

// decodeItem is Decode for the loaders: it aligns when Align is set and
// notes the outcome for ref in rep.
func (p Preprocess) decodeItem(data []byte, dst []float32, ref string, rep *Report) error {
	img, err := p.decodeImage(data)
	if err != nil {
		return err
	}
	buf, h, w := toFloat(img, p.Channels)
	return p.finish(buf, h, w, dst, ref, rep)
}

// finish cuts out the face (when Align is set, noting in rep what it found
// in ref) and then crops, resizes and normalises an h x w x Channels
// buffer of values in [0,255] into dst. Without a face under the Skip
// policy it returns face.ErrNoFace.
func (p Preprocess) finish(buf []float32, h, w int, dst []float32, ref string, rep *Report) error {
	if p.Align != nil {
		crop, side, res, err := p.Align.Align(buf, h, w, p.Channels)
		rep.addAlign(ref, res, p.Align.Options())
		if err != nil {
			return err
		}
		buf, h, w = crop, side, side
	}
	p.applyFloat(buf, h, w, dst)
	return nil
}

// RandomFlip mirrors each image of t left-right with probability 0.5,
// drawing from rng so that augmentation is reproducible from a seed. It
// returns how many images were flipped.
func RandomFlip(t *Tensors, rng *rand.Rand) int {
	n := 0
	for i := 0; i < t.N; i++ {
		if rng.IntN(2) == 1 {
			t.FlipHorizontal(i)
			n++
		}
	}
	return n
}
