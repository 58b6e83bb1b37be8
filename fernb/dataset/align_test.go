package dataset

import (
	"context"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb/face"
)

// faceFixture is a folder data set of pigo's own one-face sample (from
// the module cache) and a generated gradient with no face in it.
func faceFixture(t *testing.T) string {
	t.Helper()
	mod, err := face.ModuleDir()
	if err != nil {
		t.Skipf("pigo module not located (%v): run `go mod download`", err)
	}
	sample, err := os.ReadFile(filepath.Join(mod, "testdata", "sample.jpg"))
	if err != nil {
		t.Skipf("pigo's testdata/sample.jpg is not in the module cache (%v): run `go mod download github.com/esimov/pigo`", err)
	}
	grad := image.NewGray(image.Rect(0, 0, 160, 120))
	for y := range 120 {
		for x := range 160 {
			grad.SetGray(x, y, color.Gray{Y: uint8(40 + (x+y)*150/280)})
		}
	}
	dir := filepath.Join(t.TempDir(), "data")
	writeTree(t, dir, map[string][]byte{"happy/sample.jpg": sample, "neutral/blank.png": pngBytes(t, grad)})
	return dir
}

func aligner(t *testing.T, opt face.Options) *face.Aligner {
	t.Helper()
	a, err := face.New(opt)
	if err != nil {
		t.Skipf("pigo cascades not available: %v", err)
	}
	return a
}

func TestLoadAlignedListsImagesWithoutFace(t *testing.T) {
	dir := faceFixture(t)
	for _, c := range []int{1, 3} {
		opt := face.DefaultOptions()
		d := mustOpen(t, "folder", dir)
		pre := Preprocess{Height: 48, Width: 48, Channels: c, Align: aligner(t, opt)}
		x, err := d.Load(context.Background(), d.Items, pre)
		if err != nil {
			t.Fatal(err)
		}
		if x.N != 1 || x.Refs[0] != "happy/sample.jpg" {
			t.Errorf("c=%d skip policy: loaded %v, want the sample only", c, x.Refs)
		}
		r := d.Report
		if r.Aligned != 1 || !slices.Equal(r.NoFace, []string{"neutral/blank.png"}) || r.Skipped() != 1 {
			t.Errorf("c=%d report: aligned %d, no face %v, skipped %d", c, r.Aligned, r.NoFace, r.Skipped())
		}
		if r.AlignSummary() == "" {
			t.Error("no alignment summary")
		}

		opt.NoFace = face.Centre
		d = mustOpen(t, "folder", dir)
		pre.Align = aligner(t, opt)
		x, err = d.Load(context.Background(), d.Items, pre)
		if err != nil {
			t.Fatal(err)
		}
		if x.N != 2 || !slices.Equal(d.Report.CentreCropped, []string{"neutral/blank.png"}) || d.Report.Skipped() != 0 {
			t.Errorf("c=%d centre policy: %d images, centre-cropped %v, skipped %d", c, x.N, d.Report.CentreCropped, d.Report.Skipped())
		}
	}
}

func TestAlignedCrop(t *testing.T) {
	// The aligned sample differs from the plain resize of the whole
	// photograph (the crop drops the background), and matches the face
	// package's crop resized by the same preprocessing.
	dir := faceFixture(t)
	a := aligner(t, face.DefaultOptions())
	d := mustOpen(t, "folder", dir)
	items, _ := d.Split("all")
	items = items[:1] // happy/sample.jpg
	plain, err := d.Load(context.Background(), items, Preprocess{Height: 32, Width: 32, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	pre := Preprocess{Height: 32, Width: 32, Channels: 1, Align: a}
	aligned, err := d.Load(context.Background(), items, pre)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(plain.X, aligned.X) {
		t.Fatal("aligning left the image as it was")
	}
	data, err := d.ReadEncoded(items[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	img, err := DecodeImage(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf, h, w := toFloat(img, 1)
	crop, side, _, err := a.Align(buf, h, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 32*32)
	Preprocess{Height: 32, Width: 32, Channels: 1}.applyFloat(crop, side, side, want)
	if !reflect.DeepEqual(want, aligned.Image(0)) {
		t.Error("loaded crop differs from the face package's crop")
	}
}

func TestAlignCacheKeyedBySettings(t *testing.T) {
	dir := faceFixture(t)
	cache := t.TempDir()
	load := func(align *face.Aligner) (*Tensors, *Report) {
		t.Helper()
		d := mustOpen(t, "folder", dir)
		x, err := d.Load(context.Background(), d.Items, Preprocess{Height: 24, Width: 24, Channels: 1, CacheDir: cache, Align: align})
		if err != nil {
			t.Fatal(err)
		}
		return x, d.Report
	}
	files := func() int {
		ents, _ := os.ReadDir(cache)
		return len(ents)
	}
	if plain, _ := load(nil); plain.N != 2 {
		t.Fatalf("plain load: %d images", plain.N)
	}
	opt := face.DefaultOptions()
	a1, r1 := load(aligner(t, opt))
	if files() != 2 || a1.N != 1 {
		t.Fatalf("aligned load: %d cache files, %d images; want a new entry without the faceless image", files(), a1.N)
	}
	// The same settings hit the cache and replay the report.
	a1b, r1b := load(aligner(t, opt))
	if files() != 2 || !reflect.DeepEqual(a1, a1b) {
		t.Fatalf("same settings: %d cache files, equal %v", files(), reflect.DeepEqual(a1, a1b))
	}
	if r1b.Aligned != r1.Aligned || !slices.Equal(r1b.NoFace, r1.NoFace) {
		t.Errorf("cache hit lost the alignment report: %s", r1b.AlignSummary())
	}
	// Each changed setting is another cache entry with other pixels.
	opt.Margin = 0.4
	a2, _ := load(aligner(t, opt))
	if files() != 3 || reflect.DeepEqual(a1.X, a2.X) {
		t.Errorf("margin change: %d cache files, pixels equal %v", files(), reflect.DeepEqual(a1.X, a2.X))
	}
	opt.NoFace = face.Centre
	a3, _ := load(aligner(t, opt))
	if files() != 4 || a3.N != 2 {
		t.Errorf("no-face policy change: %d cache files, %d images", files(), a3.N)
	}
}

func TestExportAligned(t *testing.T) {
	dir := faceFixture(t)
	opt := face.DefaultOptions()
	opt.NoFace = face.Centre
	d := mustOpen(t, "folder", dir)
	out := filepath.Join(t.TempDir(), "aligned")
	n, err := d.ExportAligned(context.Background(), d.Items, Preprocess{Height: 40, Width: 40, Channels: 3, Align: aligner(t, opt)}, out)
	if err != nil {
		t.Fatal(err)
	}
	want := AlignCounts{Images: 2, Found: 1, CentreCropped: 1, Written: 2, Out: out}
	if n != want {
		t.Errorf("counts %+v, want %+v", n, want)
	}
	rep, err := os.ReadFile(filepath.Join(out, alignReportName))
	if err != nil || !strings.Contains(string(rep), "neutral/blank.png") {
		t.Errorf("report does not list the faceless image: %q (%v)", rep, err)
	}
	// The crops form a folder data set with the source's labels.
	back := mustOpen(t, "folder", out)
	x, err := back.Load(context.Background(), back.Items, Preprocess{Height: 40, Width: 40, Channels: 3})
	if err != nil || x.N != 2 {
		t.Fatalf("reading the crops back: %v (%d images)", err, x.N)
	}
	if got := x.Labels[0].String() + "," + x.Labels[1].String(); got != "happy,neutral" {
		t.Errorf("labels read back %s", got)
	}
}
