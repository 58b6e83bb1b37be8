package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/models"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := fernb.NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bars generates n size x size grayscale images of 7 classes: class k is a
// bright horizontal bar at row band k over uniform noise. The bars are
// left-right symmetric, so horizontal flips keep the class.
func bars(n, size int, seed uint64) *dataset.Tensors {
	t := dataset.NewTensors(n, size, size, 1)
	r := rand.New(rand.NewPCG(seed, 99))
	band := size / 7
	for i := 0; i < n; i++ {
		k := i % 7
		t.Labels[i] = fernb.Label(k)
		img := t.Image(i)
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				v := 0.6 * r.Float32()
				if y/band == k && x > 1 && x < size-2 {
					v += 0.7
				}
				img[y*size+x] = v
			}
		}
	}
	return t
}

func smallNet(t testing.TB) *models.Net {
	net, err := models.New(models.Config{Name: "fer-cnn", Height: 16, Width: 16, Channels: 1, WidthMult: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func quickConfig() Config {
	return Config{Epochs: 3, BatchSize: 32, LR: 0.02, DecayEvery: 2, Seed: 5}
}

// TestFitLearns trains the FER CNN (at 16x16, a quarter of its width) on a
// generated 7-class set and checks it clearly beats chance (1/7), then
// exercises Predict, Features and Evaluate on the result.
func TestFitLearns(t *testing.T) {
	b := testBackend(t)
	trainSet, valSet := bars(448, 16, 1), bars(140, 16, 2)
	var calls, lastEpoch int
	var sawETA bool
	res, err := Fit(context.Background(), b, smallNet(t), trainSet, valSet, quickConfig(), func(p Progress) {
		calls++
		lastEpoch = p.Epoch
		if p.Stage == "train" && p.ETA > 0 {
			sawETA = true
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.History) != 3 || lastEpoch != 3 || calls < 3*14 || !sawETA {
		t.Fatalf("history %d rows, last epoch %d, %d progress calls, ETA seen %v", len(res.History), lastEpoch, calls, sawETA)
	}
	for i, h := range res.History {
		t.Logf("epoch %d: lr %.4f train loss %.3f acc %.3f val loss %.3f acc %.3f %.2fs", h.Epoch, h.LR, h.TrainLoss, h.TrainAcc, h.ValLoss, h.ValAcc, h.Seconds)
		if h.Images != 14*32 || h.Seconds <= 0 {
			t.Errorf("epoch %d: %d images, %.3fs", i+1, h.Images, h.Seconds)
		}
	}
	if lr := res.History[2].LR; math.Abs(lr-0.002) > 1e-9 {
		t.Errorf("epoch 3 lr = %v, want 0.002 (x0.1 after 2 epochs)", lr)
	}
	last := res.History[2]
	if last.TrainAcc < 0.6 || last.ValAcc < 0.6 {
		t.Fatalf("did not learn: train acc %.3f, val acc %.3f (chance 0.14)", last.TrainAcc, last.ValAcc)
	}
	if last.TrainLoss >= res.History[0].TrainLoss {
		t.Errorf("training loss did not fall: %.3f -> %.3f", res.History[0].TrainLoss, last.TrainLoss)
	}

	m := res.Model
	ctx := context.Background()
	ev, err := m.Evaluate(ctx, valSet, 64)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ev.Accuracy-last.ValAcc) > 1e-9 || ev.N != 140 || len(ev.Classes) != 7 {
		t.Errorf("Evaluate: acc %v (history %v), n %d, classes %v", ev.Accuracy, last.ValAcc, ev.N, ev.Classes)
	}
	total := 0
	for i, row := range ev.Confusion {
		for _, v := range row {
			total += v
		}
		if ev.PerClass[i].N != 20 {
			t.Errorf("class %s: %d images, want 20", ev.PerClass[i].Class, ev.PerClass[i].N)
		}
	}
	if total != 140 {
		t.Errorf("confusion matrix sums to %d", total)
	}
	p, err := m.Predict(ctx, valSet, 50) // 50 does not divide 140: exercises padding
	if err != nil {
		t.Fatal(err)
	}
	agree := 0
	for i := 0; i < p.N; i++ {
		var s float64
		for _, v := range p.Row(i) {
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-4 {
			t.Fatalf("row %d probabilities sum to %v", i, s)
		}
		if p.Pred[i] == valSet.Labels[i] {
			agree++
		}
	}
	if math.Abs(float64(agree)/140-ev.Accuracy) > 1e-9 {
		t.Errorf("Predict accuracy %d/140, Evaluate %v", agree, ev.Accuracy)
	}
	// Flip test-time augmentation: the mean of the probabilities of each
	// image and its mirror, computed here from two Predict calls. The
	// images are made asymmetric (right half darkened) so the views differ.
	asym := valSet.Clone()
	for i := 0; i < asym.N; i++ {
		img := asym.Image(i)
		for y := 0; y < 16; y++ {
			for x := 8; x < 16; x++ {
				img[y*16+x] *= 0.5
			}
		}
	}
	mirror := asym.Clone()
	for i := 0; i < mirror.N; i++ {
		mirror.FlipHorizontal(i)
	}
	pa, err := m.Predict(ctx, asym, 0)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := m.Predict(ctx, mirror, 0)
	if err != nil {
		t.Fatal(err)
	}
	flipRight, differ := 0, 0
	for i := 0; i < asym.N; i++ {
		best, bestP := 0, -1.0
		for c := range 7 {
			if v := float64(pa.Row(i)[c]+pm.Row(i)[c]) / 2; v > bestP {
				best, bestP = c, v
			}
			if math.Abs(float64(pa.Row(i)[c]-pm.Row(i)[c])) > 1e-3 {
				differ++
			}
		}
		if fernb.Label(best) == asym.Labels[i] {
			flipRight++
		}
	}
	evFlip, err := m.EvaluateWith(ctx, asym, EvalOptions{Flip: true})
	if err != nil {
		t.Fatal(err)
	}
	if differ == 0 || evFlip.TTA != "flip" || math.Abs(float64(flipRight)/140-evFlip.Accuracy) > 1e-9 {
		t.Errorf("flip TTA accuracy %v (tta %q), two-view mean by hand %d/140; %d differing probabilities", evFlip.Accuracy, evFlip.TTA, flipRight, differ)
	}

	feats, err := m.Features(ctx, valSet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(feats) != 140 || len(feats[0]) != m.Net.FeatureDim || m.Net.FeatureDim != 64 {
		t.Errorf("features: %d x %d, FeatureDim %d", len(feats), len(feats[0]), m.Net.FeatureDim)
	}
}

// TestResumeAfterCancel cancels a run in the middle of its second epoch,
// resumes it from the checkpoint, and checks that it ends where an
// uninterrupted run ends; then loads the checkpoint from its directory
// alone and checks it predicts the same.
func TestResumeAfterCancel(t *testing.T) {
	b := testBackend(t)
	trainSet := bars(224, 16, 3)
	cfg := Config{Epochs: 2, BatchSize: 32, LR: 0.02, Seed: 9}
	ref, err := Fit(context.Background(), b, smallNet(t), trainSet, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}

	cfg.CheckpointDir = t.TempDir()
	fitCancelledAt(t, b, trainSet, cfg, 2, 3)
	meta, err := ReadMeta(cfg.CheckpointDir)
	if err != nil {
		t.Fatal(err)
	}
	if meta.EpochsDone != 1 || meta.Complete {
		t.Fatalf("after cancel: %d epochs done, complete %v", meta.EpochsDone, meta.Complete)
	}

	res, err := Fit(context.Background(), b, smallNet(t), trainSet, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.ResumedEpoch != 2 || res.ResumedStep != 3 || res.StepsRun != 7-3 {
		t.Fatalf("resumed=%v at epoch %d step %d, ran %d steps", res.Resumed, res.ResumedEpoch, res.ResumedStep, res.StepsRun)
	}
	if len(res.History) != 2 {
		t.Fatalf("history has %d rows", len(res.History))
	}
	for i := range res.History {
		a, r := res.History[i], ref.History[i]
		if a.Images != r.Images || math.Abs(a.TrainLoss-r.TrainLoss) > 1e-4*math.Max(1, r.TrainLoss) || math.Abs(a.TrainAcc-r.TrainAcc) > 0.02 {
			t.Errorf("epoch %d: resumed loss %.6f acc %.4f (%d images), uninterrupted %.6f %.4f (%d)",
				i+1, a.TrainLoss, a.TrainAcc, a.Images, r.TrainLoss, r.TrainAcc, r.Images)
		}
	}

	// A second resume of a finished run trains nothing more.
	again, err := Fit(context.Background(), b, smallNet(t), trainSet, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.StepsRun != 0 || len(again.History) != 2 {
		t.Errorf("finished run resumed for %d steps, %d rows", again.StepsRun, len(again.History))
	}

	loaded, err := LoadModel(b, cfg.CheckpointDir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Meta.Complete || loaded.Meta.Model.Height != 16 || len(loaded.Labels) != 7 || loaded.Labels[3] != fernb.Happy {
		t.Errorf("loaded meta: %+v", loaded.Meta)
	}
	test := bars(70, 16, 4)
	ctx2 := context.Background()
	p1, err := Predict(ctx2, b, res.Model, test)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := Predict(ctx2, b, cfg.CheckpointDir, test)
	if err != nil {
		t.Fatal(err)
	}
	p3, err := ref.Model.Predict(ctx2, test, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p1.Logits {
		if p1.Logits[i] != p2.Logits[i] {
			t.Fatalf("logit %d: trained model %v, loaded checkpoint %v", i, p1.Logits[i], p2.Logits[i])
		}
		if d := math.Abs(float64(p1.Logits[i] - p3.Logits[i])); d > 1e-3*math.Max(1, math.Abs(float64(p3.Logits[i]))) {
			t.Fatalf("logit %d: resumed run %v, uninterrupted run %v", i, p1.Logits[i], p3.Logits[i])
		}
	}

	// Another model in the same directory is refused.
	other, _ := models.New(models.Config{Name: "fer-cnn", Height: 16, Width: 16, WidthMult: 0.5})
	if _, err := Fit(context.Background(), b, other, trainSet, nil, cfg, nil); err == nil {
		t.Error("Fit resumed a checkpoint of a different model")
	}
}

// TestAux checks both ways of adding auxiliary samples: AuxMix keeps the
// batch size and uses fewer anchor images per step; AuxAppend adds the
// whole auxiliary set to every batch.
func TestAux(t *testing.T) {
	b := testBackend(t)
	anchor, aux := bars(128, 16, 5), bars(7, 16, 6)
	aux.Labels[0] = fernb.Contempt // not in the label order: skipped
	for _, c := range []struct {
		aux        Aux
		wantImages int
	}{
		{Aux{Set: aux, Mode: AuxMix, PerBatch: 8}, 5 * 32}, // 128/(32-8) = 5 steps of 32
		{Aux{Set: aux, Mode: AuxAppend}, 4 * (32 + 6)},     // 4 steps of 32 + 6 usable aux
	} {
		cfg := Config{Epochs: 1, BatchSize: 32, LR: 0.01, Seed: 1, Aux: &c.aux}
		res, err := Fit(context.Background(), b, smallNet(t), anchor, nil, cfg, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.aux.Mode, err)
		}
		if got := res.History[0].Images; got != c.wantImages {
			t.Errorf("%s: %d images in the epoch, want %d", c.aux.Mode, got, c.wantImages)
		}
	}
	bad := Config{Epochs: 1, BatchSize: 32, Aux: &Aux{Set: aux, Mode: AuxMix, PerBatch: 32}}
	if _, err := Fit(context.Background(), b, smallNet(t), anchor, nil, bad, nil); err == nil {
		t.Error("PerBatch == BatchSize accepted")
	}
}

// TestAuxAugment: the Augment hook transforms every auxiliary image of a
// batch (after its copy) and no anchor image, and the hook's draws come
// from the step's stream (the same batch twice is the same).
func TestAuxAugment(t *testing.T) {
	anchor, aux := bars(64, 16, 5), bars(3, 16, 6)
	calls := 0
	negate := func(img []float32, h, w, c int, rng *rand.Rand) {
		calls++
		if h != 16 || w != 16 || c != 1 {
			t.Fatalf("Augment got a %dx%dx%d image, want 16x16x1", h, w, c)
		}
		for i := range img {
			img[i] = -img[i]
		}
	}
	labels := []fernb.Label{fernb.Angry, fernb.Disgust, fernb.Fear, fernb.Happy, fernb.Sad, fernb.Surprise, fernb.Neutral}
	cfg := Config{BatchSize: 16, NoFlip: true, Seed: 3, Aux: &Aux{Set: aux, Mode: AuxAppend, Augment: negate}}
	bt, _, err := newBatcher(anchor, newClassIndex(labels), cfg)
	if err != nil {
		t.Fatal(err)
	}
	perm := bt.permutation(0)
	bt.fill(perm, 0, 1)
	if calls != 3 {
		t.Errorf("Augment called %d times for a batch with 3 auxiliary images, want 3", calls)
	}
	size := bt.imageSize
	for j := range 16 {
		if !slices.Equal(bt.x[j*size:(j+1)*size], anchor.Image(bt.idx[perm[16+j]])) {
			t.Errorf("anchor slot %d differs from its image: anchor images must not be augmented", j)
		}
	}
	for j := range 3 {
		img := aux.Image(j)
		got := bt.x[(16+j)*size : (17+j)*size]
		for i := range img {
			if got[i] != -img[i] {
				t.Fatalf("aux slot %d pixel %d = %g, want the hook's %g", j, i, got[i], -img[i])
			}
		}
	}

	// A hook that draws from the stream: the same step filled twice gives
	// the same batch, another step another one.
	cfg.Aux.Augment = func(img []float32, h, w, c int, rng *rand.Rand) {
		for i := range img {
			img[i] += rng.Float32()
		}
	}
	if bt, _, err = newBatcher(anchor, newClassIndex(labels), cfg); err != nil {
		t.Fatal(err)
	}
	batch := func(step int) []float32 {
		bt.fill(perm, 0, step)
		return slices.Clone(bt.x[16*size:])
	}
	first := batch(1)
	if !slices.Equal(first, batch(1)) {
		t.Error("the same step gave different augmented auxiliary images")
	}
	if slices.Equal(first, batch(2)) {
		t.Error("two steps gave the same augmented auxiliary images")
	}
}

// TestEvaluateSharedClasses evaluates a 7-class model on data that has a
// class the model lacks (contempt) and lacks one it has (fear).
func TestEvaluateSharedClasses(t *testing.T) {
	b := testBackend(t)
	res, err := Fit(context.Background(), b, smallNet(t), bars(64, 16, 7), nil, Config{Epochs: 1, BatchSize: 32, Seed: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := bars(70, 16, 8)
	nFear := 0
	for i, l := range data.Labels {
		switch l {
		case fernb.Fear:
			data.Labels[i] = fernb.Contempt
			nFear++
		case fernb.Sad:
			if i%2 == 0 {
				data.Labels[i] = fernb.Unlabelled
			}
		}
	}
	ev, err := res.Model.Evaluate(context.Background(), data, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Classes) != 6 || ev.N != 70-nFear-ev.Unlabelled || ev.Unlabelled != 5 {
		t.Fatalf("classes %v, n %d, unlabelled %d", ev.Classes, ev.N, ev.Unlabelled)
	}
	var dropped []string
	for _, d := range ev.Dropped {
		dropped = append(dropped, d.Class)
	}
	if len(dropped) != 2 || dropped[0] != "contempt" || dropped[1] != "fear" || ev.Dropped[0].Images != nFear {
		t.Errorf("dropped %+v", ev.Dropped)
	}
	if len(ev.Confusion) != 6 || len(ev.Confusion[0]) != 6 {
		t.Errorf("confusion %dx%d", len(ev.Confusion), len(ev.Confusion[0]))
	}
}

func TestConfigSchedule(t *testing.T) {
	c := DefaultConfig()
	for e, want := range map[int]float64{0: 0.001, 9: 0.001, 10: 0.0001, 24: 0.00001} {
		if got := c.LRAt(e); math.Abs(got-want) > 1e-12 {
			t.Errorf("LRAt(%d) = %v, want %v", e, got, want)
		}
	}
	if err := (Config{Epochs: 1, BatchSize: 1, LR: -1, Momentum: 0.9, DecayFactor: 0.1}).withDefaults(7).validate(7); err == nil {
		t.Error("negative LR accepted")
	}
}

// TestFitLearnsSynthFaces trains the FER CNN (24x24, a quarter of its
// width) on the procedural faces of fernb/dataset/synth, 7 expressions,
// and checks that held-out accuracy clearly beats chance (1/7).
func TestFitLearnsSynthFaces(t *testing.T) {
	b := testBackend(t)
	load := func(spec string) *dataset.Tensors {
		ds, err := dataset.Open("synthetic", spec, dataset.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer ds.Close()
		x, err := ds.Load(context.Background(), ds.Items, dataset.Preprocess{Height: 24, Width: 24, Channels: 1})
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	trainSet := load("lab,n=700,size=24,seed=1,identities=60")
	valSet := load("lab,n=210,size=24,seed=1,identities=20,first_identity=60") // unseen identities
	net, err := models.New(models.Config{Height: 24, Width: 24, WidthMult: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Fit(context.Background(), b, net, trainSet, valSet,
		Config{Epochs: 4, BatchSize: 32, LR: 0.01, DecayEvery: 3, Seed: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range res.History {
		t.Logf("epoch %d: train loss %.3f acc %.3f, val loss %.3f acc %.3f, %.1fs", h.Epoch, h.TrainLoss, h.TrainAcc, h.ValLoss, h.ValAcc, h.Seconds)
	}
	last := res.History[len(res.History)-1]
	if last.TrainAcc < 0.45 || last.ValAcc < 0.35 {
		t.Errorf("synthetic faces: train acc %.3f, val acc %.3f; want > 0.45 and > 0.35 (chance 0.14)", last.TrainAcc, last.ValAcc)
	}
}

// TestInit branches a run off a trained checkpoint: the copied weights are
// the checkpoint's, a run started from them with a negligible learning rate
// keeps the trained model's accuracy where a random start stays near
// chance, and a checkpoint of another model is refused.
func TestInit(t *testing.T) {
	b := testBackend(t)
	trainSet, valSet := bars(448, 16, 1), bars(140, 16, 2)
	cfg := quickConfig()
	cfg.CheckpointDir = t.TempDir()
	ref, err := Fit(context.Background(), b, smallNet(t), trainSet, valSet, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	refAcc := ref.History[len(ref.History)-1].ValAcc
	if refAcc < 0.6 {
		t.Fatalf("reference run did not learn: val acc %.3f", refAcc)
	}

	store := model.NewStore()
	net := smallNet(t)
	if err := initFrom(b, store, net, DefaultLabels(7), cfg.CheckpointDir); err != nil {
		t.Fatal(err)
	}
	for _, s := range net.Specs {
		path := "/" + modelScope + "/" + s.Name
		got, want := store.GetVariable(path), ref.Model.Store.GetVariable(path)
		if got == nil {
			t.Fatalf("%s not copied", path)
		}
		g, w := got.MustValue().Value(), want.MustValue().Value()
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Fatalf("%s: copied value differs from the checkpoint's", path)
		}
	}

	still := Config{Epochs: 1, BatchSize: 32, LR: 1e-12, Seed: 7, NoFlip: true}
	scratch, err := Fit(context.Background(), b, smallNet(t), trainSet, valSet, still, nil)
	if err != nil {
		t.Fatal(err)
	}
	still.Init = cfg.CheckpointDir
	branched, err := Fit(context.Background(), b, smallNet(t), trainSet, valSet, still, nil)
	if err != nil {
		t.Fatal(err)
	}
	sAcc, bAcc := scratch.History[0].ValAcc, branched.History[0].ValAcc
	t.Logf("val acc: reference %.3f, branched %.3f, random start %.3f", refAcc, bAcc, sAcc)
	if bAcc < refAcc-0.1 || sAcc > 0.4 {
		t.Errorf("branched run val acc %.3f (reference %.3f), random start %.3f (chance 0.14)", bAcc, refAcc, sAcc)
	}

	other, _ := models.New(models.Config{Name: "fer-cnn", Height: 16, Width: 16, WidthMult: 0.5})
	if _, err := Fit(context.Background(), b, other, trainSet, nil, still, nil); err == nil || !strings.Contains(err.Error(), "init") {
		t.Errorf("init from another model's checkpoint: %v", err)
	}
	still.Labels = []fernb.Label{fernb.Happy, fernb.Sad, fernb.Angry, fernb.Fear, fernb.Disgust, fernb.Surprise, fernb.Neutral}
	if _, err := Fit(context.Background(), b, smallNet(t), trainSet, nil, still, nil); err == nil || !strings.Contains(err.Error(), "label order") {
		t.Errorf("init with another label order: %v", err)
	}
}

// TestResumeRebatched: a checkpoint taken between epochs continues with
// another batch composition (auxiliary images mixed in, so more steps per
// epoch), keeping its history and weights; one taken inside an epoch, or of
// another training set, is refused with the reason.
func TestResumeRebatched(t *testing.T) {
	b := testBackend(t)
	anchor, aux, val := bars(224, 16, 3), bars(28, 16, 6), bars(35, 16, 8)
	mix := &Aux{Set: aux, Mode: AuxMix, PerBatch: 8} // 224/(32-8) = 9 steps instead of 7
	base := Config{Epochs: 1, BatchSize: 32, LR: 0.02, Seed: 9}

	// Fresh weights on the mixed batches: the loss a run that did not carry
	// the checkpoint's weights over would show.
	freshCfg := base
	freshCfg.Aux = mix
	fresh, err := Fit(context.Background(), b, smallNet(t), anchor, nil, freshCfg, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Between epochs: the anchor-only epoch 1, then epoch 2 with the mix.
	cfg := base
	cfg.CheckpointDir = t.TempDir()
	first, err := Fit(context.Background(), b, smallNet(t), anchor, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Epochs, cfg.Aux = 2, mix
	res, err := Fit(context.Background(), b, smallNet(t), anchor, nil, cfg, nil)
	if err != nil {
		t.Fatalf("resume at an epoch boundary with another mix: %v", err)
	}
	if !res.Resumed || res.ResumedEpoch != 2 || res.StepsRun != 9 || len(res.History) != 2 {
		t.Fatalf("resumed=%v at epoch %d, ran %d steps, %d history rows; want epoch 2, 9 steps, 2 rows",
			res.Resumed, res.ResumedEpoch, res.StepsRun, len(res.History))
	}
	if res.History[0] != first.History[0] {
		t.Errorf("epoch 1 row changed on resume: %+v, was %+v", res.History[0], first.History[0])
	}
	if got := res.History[1].Images; got != 9*32 {
		t.Errorf("epoch 2 trained %d images, want 9 mixed batches of 32", got)
	}
	if l, f := res.History[1].TrainLoss, fresh.History[0].TrainLoss; l >= f {
		t.Errorf("epoch 2 loss %.4f not below a fresh model's %.4f on the same batches: weights not carried over", l, f)
	}

	// Stopped after epoch 1's training, during its validation: the epoch's
	// training counts, the rest runs with the mix.
	cfg = base
	cfg.CheckpointDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Fit(ctx, b, smallNet(t), anchor, val, cfg, func(p Progress) {
		if p.Stage == "validate" {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled in validation: %v", err)
	}
	cfg.Epochs, cfg.Aux = 2, mix
	res, err = Fit(context.Background(), b, smallNet(t), anchor, val, cfg, nil)
	if err != nil {
		t.Fatalf("resume after validation was cut: %v", err)
	}
	if res.StepsRun != 9 || len(res.History) != 2 || res.History[0].Images != 7*32 || res.History[1].Images != 9*32 || res.History[0].ValAcc == 0 {
		t.Errorf("ran %d steps, history %+v; want 9 steps, epoch 1 of 7x32 anchor images validated, epoch 2 of 9x32", res.StepsRun, res.History)
	}

	// Inside an epoch: refused, and the run it interrupted still finishes.
	cfg = base
	cfg.Epochs, cfg.CheckpointDir = 2, t.TempDir()
	fitCancelledAt(t, b, anchor, cfg, 2, 3)
	mixed := cfg
	mixed.Aux = mix
	if _, err := Fit(context.Background(), b, smallNet(t), anchor, nil, mixed, nil); err == nil || !strings.Contains(err.Error(), "step 3 of 7 of epoch 2") {
		t.Errorf("mid-epoch resume with another mix: %v, want a refusal naming step 3 of 7 of epoch 2", err)
	}
	if _, err := Fit(context.Background(), b, smallNet(t), bars(200, 16, 3), nil, cfg, nil); err == nil || !strings.Contains(err.Error(), "another training set") {
		t.Errorf("resume on another training set: %v, want a refusal", err)
	}
	res, err = Fit(context.Background(), b, smallNet(t), anchor, nil, cfg, nil)
	if err != nil {
		t.Fatalf("resume with the original settings: %v", err)
	}
	if res.StepsRun != 7-3 {
		t.Errorf("resume with the original settings ran %d steps, want 4", res.StepsRun)
	}
}

// TestInferenceSeesNewWeights checks that inference after training steps
// uses the updated weights: backends that prefer constants compile the
// weights into the inference graph, so a stale graph would keep answering
// with the old ones.
func TestInferenceSeesNewWeights(t *testing.T) {
	b := testBackend(t)
	net, err := models.New(models.Config{Name: "fer-cnn", Height: 16, Width: 16, Channels: 1, WidthMult: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(b, net, Config{Seed: 3, LR: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Finalize()
	data := bars(14, 16, 5)
	logits := func(m *Model) []float32 {
		var out []float32
		err := m.Infer(context.Background(), data.X, data.N, 16, func(_, _ int, l, _ []float32) error {
			out = append(out, l...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	y := make([]int32, data.N)
	for i, l := range data.Labels {
		y[i] = int32(l)
	}
	// One step first: variables get their values in the step graph, and
	// only variables with values can be compiled in as constants.
	if _, _, err := tr.Step(data.X, y, nil); err != nil {
		t.Fatal(err)
	}
	before := logits(tr.Model)
	for range 3 {
		if _, _, err := tr.Step(data.X, y, nil); err != nil {
			t.Fatal(err)
		}
	}
	after := logits(tr.Model)
	if slices.Equal(before, after) {
		t.Fatalf("inference after 3 more steps gives the logits of the earlier weights")
	}
	// A model over the same store that never compiled before must agree.
	fresh := &Model{Net: net, Meta: tr.Model.Meta, Labels: tr.Model.Labels, Store: tr.Model.Store, backend: b}
	defer fresh.Finalize()
	if want := logits(fresh); !slices.Equal(after, want) {
		t.Fatalf("inference after training differs from a freshly compiled model's: %v vs %v", after[:7], want[:7])
	}
}

// fitCancelledAt runs Fit on data with cfg (which names a checkpoint
// directory) and cancels it at the given epoch and step of training, as a
// stop request would, for the resume tests.
func fitCancelledAt(t *testing.T, b compute.Backend, data *dataset.Tensors, cfg Config, epoch, step int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Fit(ctx, b, smallNet(t), data, nil, cfg, func(p Progress) {
		if p.Stage == "train" && p.Epoch == epoch && p.Step == step {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Fit cancelled at epoch %d step %d returned %v", epoch, step, err)
	}
}
