package dataset

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// webp1x1 is a 1x1 lossless WebP (no WebP encoder exists in Go).
var webp1x1 = []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")

func TestDecodeEveryFormat(t *testing.T) {
	img := grayImage(20, 10, 40)
	enc := map[string][]byte{"png": pngBytes(t, img), "jpeg": jpegBytes(t, img)}
	var b bytes.Buffer
	bmp.Encode(&b, img)
	enc["bmp"] = append([]byte(nil), b.Bytes()...)
	b.Reset()
	tiff.Encode(&b, img, nil)
	enc["tiff"] = append([]byte(nil), b.Bytes()...)
	b.Reset()
	pal := image.NewPaletted(img.Bounds(), color.Palette(grayPalette()))
	for y := 0; y < 10; y++ {
		for x := 0; x < 20; x++ {
			pal.Set(x, y, img.At(x, y))
		}
	}
	gif.Encode(&b, pal, nil)
	enc["gif"] = b.Bytes()
	pre := Preprocess{Height: 10, Width: 20, Channels: 1}
	want := make([]float32, 200)
	pre.Apply(img, want)
	for name, data := range enc {
		got := make([]float32, 200)
		if err := pre.Decode(data, got); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		tol := 1e-6
		if name == "jpeg" {
			tol = 0.03
		}
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > tol {
				t.Errorf("%s: value %d = %v, want %v", name, i, got[i], want[i])
				break
			}
		}
	}
	one := make([]float32, 4)
	if err := (Preprocess{Height: 2, Width: 2, Channels: 1}).Decode(webp1x1, one); err != nil {
		t.Errorf("webp: %v", err)
	}
}

func grayPalette() []color.Color {
	p := make([]color.Color, 256)
	for i := range p {
		p[i] = color.Gray{Y: uint8(i)}
	}
	return p
}

func TestResizeCropNormalise(t *testing.T) {
	// A constant image stays constant under any resize and crop.
	img := image.NewGray(image.Rect(0, 0, 37, 23))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	pre := Preprocess{Height: 16, Width: 16, Channels: 3, CenterCrop: 0.7, Mean: []float32{0.5}, Std: []float32{0.25}}
	dst := make([]float32, 16*16*3)
	pre.Apply(img, dst)
	want := (200.0/255 - 0.5) / 0.25
	for i, v := range dst {
		if math.Abs(float64(v)-want) > 1e-5 {
			t.Fatalf("value %d = %v, want %v", i, v, want)
		}
	}
	// Downscaling a 2-pixel stripe pattern averages it (antialiasing)
	// instead of picking every other stripe.
	stripes := image.NewGray(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			if x%2 == 0 {
				stripes.SetGray(x, y, color.Gray{255})
			}
		}
	}
	small := make([]float32, 8*8)
	Preprocess{Height: 8, Width: 8, Channels: 1}.Apply(stripes, small)
	for i, v := range small {
		if math.Abs(float64(v)-0.5) > 0.1 {
			t.Fatalf("downscaled stripes value %d = %v, want about 0.5", i, v)
		}
	}
	// Centre crop keeps the centre: a bright centre square fills the crop.
	c := image.NewGray(image.Rect(0, 0, 40, 40))
	for y := 10; y < 30; y++ {
		for x := 10; x < 30; x++ {
			c.SetGray(x, y, color.Gray{255})
		}
	}
	crop := make([]float32, 4)
	Preprocess{Height: 2, Width: 2, Channels: 1, CenterCrop: 0.4}.Apply(c, crop)
	for _, v := range crop {
		if v < 0.99 {
			t.Fatalf("centre crop %v, want all 1", crop)
		}
	}
	// RGB to grayscale uses luma weights.
	rgb := image.NewRGBA(image.Rect(0, 0, 1, 1))
	rgb.Set(0, 0, color.RGBA{255, 0, 0, 255})
	g := make([]float32, 1)
	Preprocess{Height: 1, Width: 1, Channels: 1}.Apply(rgb, g)
	if math.Abs(float64(g[0])-0.299) > 1e-3 {
		t.Errorf("red as gray = %v, want 0.299", g[0])
	}
	if err := (Preprocess{Height: 4, Width: 4, Channels: 2}).validate(); err == nil {
		t.Error("2 channels accepted")
	}
}

func TestFlip(t *testing.T) {
	x := NewTensors(3, 2, 3, 2)
	for i := range x.X {
		x.X[i] = float32(i)
	}
	orig := append([]float32(nil), x.X...)
	x.FlipHorizontal(1)
	img := x.Image(1)
	// row 0 of image 1 was pixels (12,13) (14,15) (16,17)
	if !reflect.DeepEqual(img[:6], []float32{16, 17, 14, 15, 12, 13}) {
		t.Errorf("flipped row %v", img[:6])
	}
	x.FlipHorizontal(1)
	if !reflect.DeepEqual(x.X, orig) {
		t.Error("flip twice is not the identity")
	}
	x.Refs = []string{"a", "b", "c"}
	c := x.Clone()
	c.FlipHorizontal(0)
	c.Labels[2], c.Refs[2], c.Subjects[2] = 5, "z", "s9"
	if !reflect.DeepEqual(x.X, orig) || x.Labels[2] == 5 || x.Refs[2] != "c" || x.Subjects[2] != "" {
		t.Error("Clone shares storage with the original")
	}
	if !reflect.DeepEqual(c.Image(1), x.Image(1)) || c.N != 3 || c.W != 3 {
		t.Error("Clone does not copy the images and shape")
	}
	a, b := NewTensors(50, 2, 2, 1), NewTensors(50, 2, 2, 1)
	for i := range a.X {
		a.X[i], b.X[i] = float32(i), float32(i)
	}
	na := RandomFlip(a, rand.New(rand.NewPCG(1, 2)))
	nb := RandomFlip(b, rand.New(rand.NewPCG(1, 2)))
	if na != nb || !reflect.DeepEqual(a.X, b.X) || na == 0 || na == 50 {
		t.Errorf("RandomFlip not reproducible or degenerate: %d %d", na, nb)
	}
	s := a.Subset([]int{4, 4, 0})
	if s.N != 3 || !reflect.DeepEqual(s.Image(0), a.Image(4)) || s.Validate() != nil {
		t.Errorf("subset %+v", s)
	}
	if err := s.Append(a); err != nil || s.N != 53 || s.Validate() != nil {
		t.Errorf("append: %v", err)
	}
}

func TestBombsRejectedBeforeDecoding(t *testing.T) {
	if _, err := DecodeImage(bombPNG(9000, 9000), 0); !errors.Is(err, ErrImageTooLarge) {
		t.Errorf("81 Mpx header: %v", err)
	}
	if _, err := DecodeImage(bombPNG(100, 100), 50*50); !errors.Is(err, ErrImageTooLarge) {
		t.Errorf("custom limit: %v", err)
	}
	// An archive member larger than the image limit is rejected from its
	// header: in a .tar.gz it is never inflated into memory.
	big := bytes.Repeat([]byte{0}, 200<<10)
	files := map[string][]byte{"happy/big.png": big, "happy/ok.png": pngBytes(t, grayImage(8, 8, 1))}
	pre := Preprocess{Height: 8, Width: 8, Channels: 1, MaxImageBytes: 100 << 10}
	for kind, p := range allLayouts(t, files) {
		d := mustOpen(t, "folder", p)
		x, err := d.Load(context.Background(), d.Items, pre)
		if err != nil || x.N != 1 || len(d.Report.TooLarge) != 1 || !strings.Contains(d.Report.TooLarge[0].Err, "limit") {
			t.Errorf("%s: n=%d err=%v report %s", kind, x.N, err, d.Report)
		}
	}
	// A stream that holds more than the limit is cut off even when the
	// declared size is small.
	lr := &limitedReader{r: bytes.NewReader(big), n: 10, name: "m", limit: 10}
	buf := make([]byte, 64)
	n, _ := lr.Read(buf)
	if _, err := lr.Read(buf); n != 10 || !errors.Is(err, ErrTooLarge) {
		t.Errorf("limited reader read %d then %v", n, err)
	}
}

func TestCacheWritesOnlyInsideCacheDir(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	writeTree(t, data, poolFiles(t, 6))
	cache := filepath.Join(root, "cache")
	pre := Preprocess{Height: 10, Width: 10, Channels: 1, CacheDir: cache}
	d := mustOpen(t, "pool", data)
	x1, err := d.Load(context.Background(), d.Items, pre)
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(cache)
	if len(ents) != 1 || !strings.HasSuffix(ents[0].Name(), ".tensors") {
		t.Fatalf("cache dir holds %v", ents)
	}
	top, _ := os.ReadDir(root)
	if len(top) != 2 {
		t.Errorf("something was written next to the cache: %v", top)
	}
	// Corrupt the source: a cache hit must not touch it.
	os.WriteFile(filepath.Join(data, "crop_part1/0/face_000.jpg"), []byte("gone"), 0o644)
	d2 := mustOpen(t, "pool", data)
	x2, err := d2.Load(context.Background(), d2.Items, pre)
	if err != nil || !reflect.DeepEqual(x1, x2) {
		t.Fatalf("cached load differs: %v", err)
	}
	if len(d2.Report.Corrupt) != 1 {
		t.Errorf("cached load lost the report: %s", d2.Report)
	}
	// Another preprocessing is another cache entry.
	pre.Height = 12
	if _, err := d2.Load(context.Background(), d2.Items, pre); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 2 {
		t.Errorf("cache dir holds %d files, want 2", len(ents))
	}
}

func TestBatchIndices(t *testing.T) {
	bs := BatchIndices(10, 4, rand.New(rand.NewPCG(1, 1)))
	seen := map[int]bool{}
	for _, b := range bs {
		for _, i := range b {
			seen[i] = true
		}
	}
	if len(bs) != 3 || len(bs[2]) != 2 || len(seen) != 10 {
		t.Errorf("batches %v", bs)
	}
	if reflect.DeepEqual(bs, BatchIndices(10, 4, nil)) {
		t.Error("shuffled batches equal the ordered ones")
	}
	if !reflect.DeepEqual(bs, BatchIndices(10, 4, rand.New(rand.NewPCG(1, 1)))) {
		t.Error("not reproducible from the seed")
	}
}

// A nil set (fernb train --val-frac 0 has no validation set) has no images.
func TestNilTensorsLen(t *testing.T) {
	var none *Tensors
	if n := none.Len(); n != 0 {
		t.Errorf("nil Tensors: Len %d, want 0", n)
	}
	if n := NewTensors(3, 2, 2, 1).Len(); n != 3 {
		t.Errorf("Len %d, want 3", n)
	}
}
