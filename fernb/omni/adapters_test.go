package omni

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/face"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/train"
)

// halfBright draws an 8x8 gray image bright in the top (top=true) or the
// bottom half, over noise.
func halfBright(r *rand.Rand, top bool) *image.Gray {
	im := image.NewGray(image.Rect(0, 0, 8, 8))
	for y := range 8 {
		for x := range 8 {
			v := 40 + r.IntN(100)
			if (y < 4) == top {
				v += 110
			}
			im.SetGray(x, y, color.Gray{Y: uint8(v)})
		}
	}
	return im
}

// writePoolDir writes a SMILEsmileD-like folder pool: positives/ with
// top-bright faces, negatives/ with bottom-bright ones, and one file that
// is not an image at all.
func writePoolDir(t *testing.T, n int) string {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(4, 4))
	for _, sub := range []string{"positives", "negatives"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	for i := range n {
		top := i%3 != 0
		sub := "negatives"
		if top {
			sub = "positives"
		}
		var buf bytes.Buffer
		png.Encode(&buf, halfBright(r, top))
		os.WriteFile(filepath.Join(dir, sub, fmt.Sprintf("%04d.png", i)), buf.Bytes(), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "positives", "0007b.png"), []byte("not a PNG"), 0o644)
	return dir
}

// pixelEmbedder uses the pixels as features (no classifier).
func pixelEmbedder() FuncEmbedder {
	return FuncEmbedder{Shape: ImageShape{H: 8, W: 8, C: 1}, Dim: 64, Fn: func(ctx context.Context, x []float32, n int) ([]float32, []float32, error) {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		out := make([]float32, len(x))
		for i, v := range x {
			out[i] = v - 0.5 // centre so cosine sees the half pattern
		}
		return out, nil, nil
	}}
}

func pixelCentroids(t *testing.T) *CentroidSet {
	r := rand.New(rand.NewPCG(9, 9))
	var x []float32
	var ls []fernb.Label
	for i := range 40 {
		top := i%2 == 0
		im := halfBright(r, top)
		for _, p := range im.Pix {
			x = append(x, float32(p)/255)
		}
		if top {
			ls = append(ls, fernb.Happy)
		} else {
			ls = append(ls, fernb.Sad)
		}
	}
	f, _, err := Extract(context.Background(), pixelEmbedder(), x, len(ls), 16)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Centroids(f, ls)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func openDatasetPool(t *testing.T, dir string) *DatasetPool {
	dp, err := dataset.OpenPool("pool", dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp.Close() })
	truth, err := PathTruth("positives=happy,negatives=non-smile")
	if err != nil {
		t.Fatal(err)
	}
	return &DatasetPool{Pool: dp, Pre: dataset.Preprocess{Height: 8, Width: 8, Channels: 1, Workers: 1}, Batch: 8, Truth: truth}
}

// A real folder pool through the dataset package: a corrupt file is counted
// and skipped, truths come from the folders, shards merge to the unsharded
// manifest, and a cancelled run resumes to the same bytes.
func TestDatasetPoolEndToEnd(t *testing.T) {
	const n = 90
	dir := writePoolDir(t, n)
	cent := pixelCentroids(t)
	out := t.TempDir()
	base := RunConfig{ScoreConfig: ScoreConfig{Centroids: cent, Model: "pixels", BatchSize: 8, CheckpointEvery: 2},
		Selection: Selection{Rule: Rule{Kind: Cosine, Margin: 0.05}}}

	cfg := base
	cfg.Out = filepath.Join(out, "whole.jsonl")
	h, err := Run(context.Background(), openDatasetPool(t, dir), pixelEmbedder(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h.Scored != n || h.Corrupt != 1 {
		t.Fatalf("scored %d corrupt %d, want %d and 1", h.Scored, h.Corrupt, n)
	}
	want := readFile(t, cfg.Out)
	_, entries, err := ReadManifest(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if (e.Truth == "happy") != (e.Label == fernb.Happy) {
			t.Errorf("%s: truth %q, label %s: the pixel rule should be right on this pool", e.Ref, e.Truth, e.Label)
		}
	}
	rep, err := Quality([]string{ScoresPath(cfg.Out)}, ReportConfig{Margins: []float64{0}, Positive: "happy"})
	if err != nil {
		t.Fatal(err)
	}
	if b := rep.Cosine[0].Binary; b.Agreement != 1 || b.TP+b.TN != n {
		t.Errorf("happy agreement %+v, want all %d right", *b, n)
	}

	cfg.Out = filepath.Join(out, "vas.jsonl")
	var shards []string
	for i := 1; i <= 2; i++ {
		cfg.Shard = Shard{I: i, N: 2}
		if _, err := Run(context.Background(), openDatasetPool(t, dir), pixelEmbedder(), cfg); err != nil {
			t.Fatal(err)
		}
		shards = append(shards, ShardPath(cfg.Out, cfg.Shard))
	}
	if _, err := Merge(cfg.Out, shards); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, cfg.Out), want) {
		t.Error("merged dataset-pool shards differ from the unsharded manifest")
	}

	cfg = base
	cfg.Out = filepath.Join(out, "cut.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	emb := pixelEmbedder()
	inner := emb.Fn
	emb.Fn = func(c context.Context, x []float32, k int) ([]float32, []float32, error) {
		if calls++; calls == 5 {
			cancel()
		}
		return inner(c, x, k)
	}
	if _, err := Run(ctx, openDatasetPool(t, dir), emb, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want cancelled", err)
	}
	if _, err := Run(context.Background(), openDatasetPool(t, dir), pixelEmbedder(), cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, cfg.Out), want) {
		t.Error("resumed dataset-pool run differs from the uninterrupted one")
	}
}

// ModelEmbedder gives the model's own features and softmax, and a checkpoint
// drives a whole selection run.
func TestModelEmbedder(t *testing.T) {
	backend, err := fernb.NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	net, err := models.New(models.Config{Name: "fer-cnn", Height: 16, Width: 16, Channels: 1, WidthMult: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	data := dataset.NewTensors(42, 16, 16, 1)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data.N {
		data.Labels[i] = fernb.Label(i % 7)
		for j, v := 0, data.Image(i); j < len(v); j++ {
			v[j] = r.Float32() * float32(1+i%7) / 7
		}
	}
	res, err := train.Fit(context.Background(), backend, net, data, nil, train.Config{Epochs: 1, BatchSize: 16, LR: 0.01, Seed: 1, CheckpointDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := NewModelEmbedder(res.Model, 16)
	if e.InputShape() != (ImageShape{16, 16, 1}) || len(e.ProbClasses()) != 7 {
		t.Fatalf("shape %v classes %v", e.InputShape(), e.ProbClasses())
	}
	feats, probs, err := Extract(context.Background(), e, data.X, data.N, 16)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := res.Model.Features(context.Background(), data, 16)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data.N {
		for d, v := range ref[i] {
			if math.Abs(float64(v-feats.Row(i)[d])) > 1e-5 {
				t.Fatalf("image %d feature %d: %g, model says %g", i, d, feats.Row(i)[d], v)
			}
		}
		var s float64
		for _, p := range probs.Row(i) {
			s += float64(p)
		}
		if math.Abs(s-1) > 1e-4 {
			t.Fatalf("image %d probabilities sum to %g", i, s)
		}
	}
	// An image embedded alone gets the bits it gets inside a full batch:
	// short calls are padded to the one compiled shape, so that shards (whose
	// batches fall elsewhere) merge to the bytes of an unsharded run.
	size := 16 * 16
	for i := range data.N {
		f1, p1, err := e.Embed(context.Background(), data.X[i*size:(i+1)*size], 1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(f1, feats.Row(i)) || !slices.Equal(p1, probs.Row(i)) {
			t.Fatalf("image %d embedded alone differs from its row in a batch of 16", i)
		}
	}
	cent, err := TensorsCentroids(context.Background(), e, data, 16)
	if err != nil {
		t.Fatal(err)
	}
	pool := ArrayPool("train-as-pool", data.X, ImageShape{16, 16, 1}, data.Labels, data.Refs)
	out := filepath.Join(t.TempDir(), "vas.jsonl")
	h, err := Run(context.Background(), pool, e, RunConfig{ScoreConfig: ScoreConfig{Centroids: cent, Model: "tiny", BatchSize: 16},
		Selection: Selection{Rule: Rule{Kind: Softmax, Threshold: 0}}, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if h.Scored != int64(data.N) || h.Selected != int64(data.N) {
		t.Errorf("scored %d selected %d, want %d (threshold 0 keeps all)", h.Scored, h.Selected, data.N)
	}
	pre, err := PreprocessFor(res.Model)
	if err != nil || pre.Height != 16 || pre.Channels != 1 {
		t.Errorf("PreprocessFor: %+v %v", pre, err)
	}
}

// SelectionFigures draws the margins and the grid of a folder pool's
// selection, and says why the scatter (no model) and, without the pool,
// the grid are missing.
func TestSelectionFigures(t *testing.T) {
	dir := writePoolDir(t, 60)
	cfg := RunConfig{ScoreConfig: ScoreConfig{Centroids: pixelCentroids(t), Model: "pixels", BatchSize: 8},
		Selection: Selection{Rule: Rule{Kind: Cosine, Margin: 0.05}}, Out: filepath.Join(t.TempDir(), "vas.jsonl")}
	if _, err := Run(context.Background(), openDatasetPool(t, dir), pixelEmbedder(), cfg); err != nil {
		t.Fatal(err)
	}
	figs, err := SelectionFigures(context.Background(), FigureSources{Manifest: cfg.Out})
	if err != nil {
		t.Fatal(err)
	}
	if figs.Margins == nil || figs.Grid != nil || figs.Scatter != nil || len(figs.Skipped) != 1 || !strings.Contains(figs.Skipped[0], "no pool") {
		t.Errorf("without a pool: margins %v grid %v scatter %v, skipped %q", figs.Margins != nil, figs.Grid != nil, figs.Scatter != nil, figs.Skipped)
	}
	pool, err := dataset.Open("pool", dir, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	figs, err = SelectionFigures(context.Background(), FigureSources{Manifest: cfg.Out, Pool: pool, PerClass: 3})
	if err != nil {
		t.Fatal(err)
	}
	if figs.Margins == nil || figs.Grid == nil || figs.Scatter != nil || len(figs.Skipped) != 1 || !strings.Contains(figs.Skipped[0], "scatter") {
		t.Errorf("with the pool: margins %v grid %v scatter %v, skipped %q", figs.Margins != nil, figs.Grid != nil, figs.Scatter != nil, figs.Skipped)
	}
}

// An aligned pool is named apart from the same pool unaligned, so a scoring
// run resumed with other alignment settings is refused (the name is part of
// the resume key) and shards aligned differently do not merge.
func TestDatasetPoolNameKeepsAlignment(t *testing.T) {
	plain := &DatasetPool{Pool: &dataset.Pool{Format: "pool", Path: "faces.tar"}}
	if got := plain.String(); got != "pool:faces.tar" {
		t.Fatalf("unaligned pool named %q, want pool:faces.tar (old scores files must still resume)", got)
	}
	names := map[string]bool{plain.String(): true}
	for _, margin := range []float64{0.1, 0.3} {
		o := face.DefaultOptions()
		o.Margin = margin
		a, err := face.New(o)
		if err != nil {
			t.Skipf("pigo's cascades are not in the module cache: %v", err)
		}
		p := &DatasetPool{Pool: plain.Pool, Pre: dataset.Preprocess{Align: a}}
		if names[p.String()] {
			t.Errorf("margin %g: pool name %q repeats another setting's", margin, p.String())
		}
		names[p.String()] = true
	}
}
