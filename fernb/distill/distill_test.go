package distill

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/train"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
)

func goBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := fernb.NewBackendWithConfig("go")
	if err != nil {
		t.Fatalf("backend: %v", err)
	}
	return b
}

// bands generates n images of size x size (1 channel) in k classes: class c
// is a bright horizontal band in the c-th of k horizontal stripes over a
// dark, noisy background, so the classes are trivially separable but no
// two images are equal.
func bands(n, size, k int, seed uint64) *dataset.Tensors {
	r := rand.New(rand.NewPCG(seed, 3))
	t := dataset.NewTensors(n, size, size, 1)
	for i := range n {
		c := i % k
		t.Labels[i] = fernb.Label(c)
		img := t.Image(i)
		lo, hi := c*size/k, (c+1)*size/k
		for y := range size {
			for x := range size {
				v := 0.2 + 0.1*r.NormFloat64()
				if y >= lo && y < hi {
					v = 0.8 + 0.1*r.NormFloat64()
				}
				img[y*size+x] = float32(v)
			}
		}
	}
	return t
}

// tinyModel is fer-cnn at 12x12 with 1/8 of the channels (4, 8, 16; dense
// 32): every layer kind of the default model at a size tests can afford.
var tinyModel = models.Config{Name: "fer-cnn", Height: 12, Width: 12, Channels: 1, WidthMult: 0.125}

// TestDDLowersRealLoss distils a 3-class problem with DD and checks that
// fresh networks (initialisations never seen in distillation) trained for
// the T unrolled steps on the distilled images reach a lower loss on
// held-out real images than when trained on the initial synthetic images.
func TestDDLowersRealLoss(t *testing.T) {
	b := goBackend(t)
	real, test := bands(60, 12, 3, 1), bands(48, 12, 3, 2)
	cfg := Config{Method: DD, Model: tinyModel, Iterations: 40, Steps: 3, Epochs: 1, InitLR: 0.2,
		ImageLR: 0.05, LRLR: 0.03, RealPerClass: 6, Seed: 7}
	var hist []IterStats
	res, err := Run(context.Background(), b, real, cfg, func(p Progress) {
		if p.Message == "" {
			hist = append(hist, p.Stats)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 40 || len(res.History) != 40 {
		t.Fatalf("progress reported %d iterations, history has %d, want 40", len(hist), len(res.History))
	}
	initial := initialDAS(t, cfg, real)
	before, err := EvaluateUnrolled(b, initial, test, 4, 1000)
	if err != nil {
		t.Fatal(err)
	}
	after, err := EvaluateUnrolled(b, res.DAS, test, 4, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out loss after T=%d steps: initial images %.4f (acc %.2f), distilled %.4f (acc %.2f); learned lrs %v",
		cfg.Steps*cfg.Epochs, before.Loss, before.Accuracy, after.Loss, after.Accuracy, res.DAS.LRs)
	if !(after.Loss < 0.8*before.Loss) {
		t.Errorf("distilled images give held-out loss %.4f, want < 0.8 x %.4f (initial images)", after.Loss, before.Loss)
	}
	if res.DAS.N != 3 || res.DAS.Images.Labels[2] != fernb.Label(2) {
		t.Errorf("DAS has %d images, labels %v; want 3, class-major", res.DAS.N, res.DAS.Images.Labels)
	}
}

// initialDAS is the DAS a run of cfg starts from (its iteration-0 images
// and learning rates).
func initialDAS(t *testing.T, cfg Config, real *dataset.Tensors) *DAS {
	t.Helper()
	cfg.Classes = PresentClasses(real)
	cfg = cfg.WithDefaults(real.H, real.W, real.C)
	byClass, err := classIndex(real, cfg.Classes)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := valueRange(real.X)
	mean, std := real.ChannelStats()
	return newDAS(cfg, initialState(cfg, real, byClass, mean, std), real, lo, hi)
}

// dmLoss is the DM matching loss of images under `nets` fresh networks
// and fixed real batches (the same for every call).
func dmLoss(t *testing.T, b compute.Backend, cfg Config, real *dataset.Tensors, syn []float32, nets int) float64 {
	t.Helper()
	cfg.Classes = PresentClasses(real)
	cfg = cfg.WithDefaults(real.H, real.W, real.C)
	cfg.DSA = false // the plain objective, whatever the run used
	eng, err := newEngine(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.finalize()
	byClass, _ := classIndex(real, cfg.Classes)
	total := 0.0
	for i := range nets {
		theta, err := eng.drawParams(int64(5000 + i))
		if err != nil {
			t.Fatal(err)
		}
		x, y := sampleReal(real, byClass, cfg.RealPerClass, rand.New(rand.NewPCG(99, uint64(i))))
		r, err := eng.runStep(syn, nil, x, y, nil, theta)
		finalizeAll(theta)
		if err != nil {
			t.Fatal(err)
		}
		total += r.loss
	}
	return total / float64(nets)
}

// TestDMLowersMatchingLoss checks that DM, plain and with DSA, lowers its
// plain objective, measured under networks and real batches the run never
// drew.
func TestDMLowersMatchingLoss(t *testing.T) {
	b := goBackend(t)
	real := bands(90, 12, 3, 3)
	for _, dsa := range []bool{false, true} {
		cfg := Config{Method: DM, DSA: dsa, Model: tinyModel, Iterations: 60, RealPerClass: 10, Init: InitNoise, ImageLR: 0.05, Seed: 3}
		res, err := Run(context.Background(), b, real, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		init := initialDAS(t, cfg, real)
		before := dmLoss(t, b, cfg, real, init.Images.X, 6)
		after := dmLoss(t, b, cfg, real, res.DAS.Images.X, 6)
		t.Logf("DSA %v: DM matching loss under 6 unseen networks: initial %.5f, distilled %.5f (run: first %.5f, last %.5f)",
			dsa, before, after, res.History[0].Loss, res.History[len(res.History)-1].Loss)
		if !(after < 0.5*before) {
			t.Errorf("DSA %v: matching loss %.5f after distillation, want < 0.5 x %.5f", dsa, after, before)
		}
	}
}

// TestDistilledImagesTeach distils a trivially separable set (from noise,
// so the images are not copies of real ones) and trains a fresh network
// on the three distilled images alone with the ordinary training loop: it
// must classify held-out real images well above chance (1/3).
func TestDistilledImagesTeach(t *testing.T) {
	b := goBackend(t)
	real, test := bands(90, 12, 3, 4), bands(60, 12, 3, 5)
	dir := t.TempDir()
	cfg := Config{Method: DM, Model: tinyModel, Iterations: 60, RealPerClass: 10, Init: InitNoise, ImageLR: 0.05, Seed: 4,
		OutDir: dir, SnapshotEvery: 10}
	res, err := Run(context.Background(), b, real, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	das, err := LoadDAS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if das.N != 3 || maxAbsDiff(das.X, res.DAS.Images.X) != 0 {
		t.Fatalf("LoadDAS: %d images, max difference from the run's %g", das.N, maxAbsDiff(das.X, res.DAS.Images.X))
	}
	acc := func(set *dataset.Tensors) float64 {
		net, err := models.New(models.Config{Name: "fer-cnn", Height: 12, Width: 12, Channels: 1, WidthMult: 0.25, NumClasses: 3})
		if err != nil {
			t.Fatal(err)
		}
		fit, err := train.Fit(context.Background(), b, net, set, nil,
			train.Config{Epochs: 40, BatchSize: 3, LR: 0.01, DecayEvery: -1, NoFlip: true, Seed: 11}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer fit.Model.Finalize()
		ev, err := fit.Model.Evaluate(context.Background(), test, 64)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Accuracy
	}
	got := acc(das)
	noise := acc(initialDAS(t, cfg, real).Images)
	t.Logf("fresh net trained on 3 images: distilled %.2f, initial noise %.2f (chance 0.33)", got, noise)
	if got < 0.8 {
		t.Errorf("accuracy %.2f after training on the distilled images, want >= 0.8 (chance 0.33)", got)
	}
	// The run directory holds what the CLI and notebooks show.
	for _, f := range []string{DASMeta, DASImages, DASGrid, HistoryFile, LossPlot, filepath.Join(DASPNGDir, "000_angry.png")} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory: %v", err)
		}
	}
	snaps, _ := Snapshots(dir)
	if len(snaps) != 6 {
		t.Errorf("%d snapshots, want 6 (every 10 of 60 iterations)", len(snaps))
	}

	// Fig. 7: a CNN trained on 5/6 of the snapshot images recognises the
	// held-out sixth.
	chk, err := SnapshotCheck(context.Background(), b, dir, CheckConfig{Model: models.Config{WidthMult: 0.25},
		Train: train.Config{Epochs: 25, BatchSize: 5, NoFlip: true}, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := chk.History[len(chk.History)-1]
	t.Logf("snapshot check: %d train / %d test images, test accuracy per epoch %v", chk.Train, chk.Test, valAccs(chk.History))
	if chk.Train != 15 || chk.Test != 3 || len(chk.History) != 25 {
		t.Errorf("snapshot check: %d train / %d test images, %d epochs; want 15 / 3, 25", chk.Train, chk.Test, len(chk.History))
	}
	if last.ValAcc < 0.99 {
		t.Errorf("snapshot check: final test accuracy %.2f, want 1 (3 held-out snapshot images)", last.ValAcc)
	}
	figs := map[string]func() (interface{ Save(string) error }, error){
		"check.png": func() (interface{ Save(string) error }, error) { return CheckPlot(chk, "") },
	}
	for name, mk := range figs {
		f, err := mk()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := f.Save(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func valAccs(h []train.EpochStats) []float64 {
	out := make([]float64, len(h))
	for i, e := range h {
		out[i] = math.Round(e.ValAcc*100) / 100
	}
	return out
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestResume cancels a DM run after a snapshot and resumes it: the result
// equals an uninterrupted run's.
func TestResume(t *testing.T) {
	b := goBackend(t)
	real := bands(30, 12, 3, 6)
	for _, cfg := range []Config{
		{Method: DD, Model: tinyModel, Iterations: 6, Steps: 2, Epochs: 1, RealPerClass: 4, Seed: 5, SnapshotEvery: 2},
		// DSA's transformations derive from the seed and iteration too.
		{Method: DM, DSA: true, Model: tinyModel, Iterations: 6, RealPerClass: 4, Seed: 5, SnapshotEvery: 2},
	} {
		full, err := Run(context.Background(), b, real, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.OutDir = t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		_, err = Run(ctx, b, real, cfg, func(p Progress) {
			if p.Iteration == 3 {
				cancel()
			}
		})
		if err != context.Canceled {
			t.Fatalf("%s: cancelled run: err %v, want context.Canceled", cfg.Method, err)
		}
		res, err := Run(context.Background(), b, real, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Resumed || res.StartIteration != 3 {
			t.Errorf("%s: resumed=%v from %d, want true from 3", cfg.Method, res.Resumed, res.StartIteration)
		}
		if d := maxAbsDiff(res.DAS.Images.X, full.DAS.Images.X); d > 1e-5 {
			t.Errorf("%s: resumed images differ from an uninterrupted run's by %g", cfg.Method, d)
		}
		for i := range full.DAS.LRs {
			if math.Abs(full.DAS.LRs[i]-res.DAS.LRs[i]) > 1e-6 {
				t.Errorf("learning rate %d: resumed %g, uninterrupted %g", i, res.DAS.LRs[i], full.DAS.LRs[i])
			}
		}
		if len(res.History) != 6 {
			t.Errorf("%s: history has %d rows, want 6", cfg.Method, len(res.History))
		}
		other := cfg
		other.Seed = 6
		if _, err := Run(context.Background(), b, real, other, nil); err == nil {
			t.Errorf("%s: a run with another seed resumed from a foreign checkpoint", cfg.Method)
		}
	}
}

var _ = tensors.FromScalar[float32]

// TestDDFixedInit distils for one fixed θ0: the real loss after the
// unrolled steps from that θ0 must fall well below its first value.
func TestDDFixedInit(t *testing.T) {
	b := goBackend(t)
	real := bands(60, 12, 3, 8)
	cfg := Config{Method: DD, Model: tinyModel, Iterations: 25, Steps: 3, Epochs: 1, InitLR: 0.2,
		ImageLR: 0.05, LRLR: 0.03, RealPerClass: 6, FixedInit: true, Seed: 8}
	res, err := Run(context.Background(), b, real, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := res.History
	first, last := h[0].Loss, 0.0
	for _, s := range h[len(h)-5:] {
		last += s.Loss / 5
	}
	t.Logf("fixed θ0: real loss after T steps %.4f at iteration 1, %.4f over the last 5 (at θ0: %.4f)", first, last, h[0].Before)
	if !(last < 0.6*first) {
		t.Errorf("fixed-init DD: loss %.4f over the last iterations, want < 0.6 x %.4f", last, first)
	}
	for _, s := range h[1:] {
		if math.Abs(s.Before-h[0].Before) > 0.3 {
			t.Errorf("iteration %d: loss at θ0 %.4f differs from iteration 1's %.4f by more than batch noise: θ0 not fixed?", s.Iteration, s.Before, h[0].Before)
			break
		}
	}
}

// TestSingleClassVAS: a VAS that covers one class (a weak primitive learner
// with a strict margin) still distils with DM, into that class's images,
// while DD, whose cross-entropy needs two classes, says so.
func TestSingleClassVAS(t *testing.T) {
	b := goBackend(t)
	real := bands(30, 12, 1, 6) // every image is class 0
	cfg := Config{Method: DM, Model: tinyModel, Iterations: 5, RealPerClass: 10, Seed: 6}
	res, err := Run(context.Background(), b, real, cfg, nil)
	if err != nil {
		t.Fatalf("DM on a single-class set: %v", err)
	}
	if res.DAS.Images.N != 1 || res.DAS.Images.Labels[0] != fernb.Label(0) {
		t.Fatalf("DM on a single-class set gave %d images with labels %v, want 1 image of class 0", res.DAS.Images.N, res.DAS.Images.Labels)
	}
	cfg.Method = DD
	if _, err := Run(context.Background(), b, real, cfg, nil); err == nil || !strings.Contains(err.Error(), "want >= 2 for dd") {
		t.Fatalf("DD on a single-class set: got %v, want a config error asking for 2 classes", err)
	}
}
