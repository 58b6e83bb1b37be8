package distill

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/plot"
	"github.com/fernb/fernb/fernb/train"
	"github.com/gomlx/compute"
)

// Evaluation is how well networks trained on a DAS do on real images.
type Evaluation struct {
	Loss, Accuracy float64
	// Runs is the number of fresh networks averaged.
	Runs int
	N    int
}

// EvaluateUnrolled measures DD's own objective on held-out data: runs
// fresh networks (θ0 drawn from seed, seed+1, ...; use seeds the
// distillation did not) are trained with the DAS's learned schedule (its T
// steps and learning rates, batch norm in training mode as in
// distillation) and scored on test (images of the DAS's classes; others
// are ignored). It returns the mean loss and accuracy.
func EvaluateUnrolled(backend compute.Backend, d *DAS, test *dataset.Tensors, runs int, seed int64) (*Evaluation, error) {
	if d.Method != DD || len(d.LRs) == 0 {
		return nil, fmt.Errorf("distill: EvaluateUnrolled needs a DD result with learned learning rates")
	}
	classes, err := d.ClassLabels()
	if err != nil {
		return nil, err
	}
	cfg := Config{Method: DD, IPC: d.IPC, Classes: classes, Model: d.Model, Steps: d.Steps, Epochs: d.Epochs,
		InitLR: d.LRs[0], Iterations: 1, RealPerClass: 1, Init: InitReal, ImageLR: 1, LRLR: 1}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	eng, err := newEngine(backend, cfg)
	if err != nil {
		return nil, err
	}
	defer eng.finalize()
	byClass, err := classIndex(test, classes)
	if err != nil {
		return nil, err
	}
	var idx []int
	var ys []int32
	for c, ids := range byClass {
		idx = append(idx, ids...)
		for range ids {
			ys = append(ys, int32(c))
		}
	}
	raw := make([]float64, len(d.LRs))
	for i, lr := range d.LRs {
		raw[i] = logOf(lr)
	}
	batch := train.DefaultInferBatch
	size := test.ImageSize()
	ev := &Evaluation{Runs: runs, N: len(idx)}
	for r := range runs {
		theta, err := eng.drawParams(seed + int64(r))
		if err != nil {
			return nil, err
		}
		var lossSum, correct float64
		for s := 0; s < len(idx); s += batch {
			x := make([]float32, batch*size)
			y := make([]int32, batch)
			w := make([]float32, batch)
			for j := 0; j < batch && s+j < len(idx); j++ {
				copy(x[j*size:(j+1)*size], test.Image(idx[s+j]))
				y[j], w[j] = ys[s+j], 1
			}
			l, c, err := eng.evalBatch(d.Images.X, raw, x, y, w, theta)
			if err != nil {
				finalizeAll(theta)
				return nil, err
			}
			lossSum += l
			correct += c
		}
		finalizeAll(theta)
		ev.Loss += lossSum / float64(len(idx)) / float64(runs)
		ev.Accuracy += correct / float64(len(idx)) / float64(runs)
	}
	return ev, nil
}

// CheckConfig configures SnapshotCheck.
type CheckConfig struct {
	// Model is the small CNN (default fer-cnn at the snapshots' size).
	Model models.Config
	// Train is the recipe (defaults: 30 epochs, batch 16, lr 0.01, no step
	// decay).
	Train train.Config
	// TestFraction of each class's snapshot images is held out (default
	// 1/6: the paper's 5:1 split).
	TestFraction float64
	Seed         int64
}

// CheckResult is the outcome of SnapshotCheck.
type CheckResult struct {
	Snapshots int                `json:"snapshots"`
	Train     int                `json:"train_images"`
	Test      int                `json:"test_images"`
	History   []train.EpochStats `json:"history"`
}

// SnapshotCheck is the paper's Fig. 7 check: the images of every snapshot
// of a run (runDir/snapshots/*) form a data set, split 5:1 per class into
// train and test; a small CNN is trained on the first and its test
// accuracy recorded every epoch. Accuracy well above chance says the
// distilled images of one class stay consistent along the run (and
// distinct from the other classes').
func SnapshotCheck(ctx context.Context, backend compute.Backend, runDir string, cfg CheckConfig, progress func(train.Progress)) (*CheckResult, error) {
	dirs, err := Snapshots(runDir)
	if err != nil {
		return nil, err
	}
	if len(dirs) < 2 {
		return nil, fmt.Errorf("distill: %s has %d snapshots; the check needs at least 2", runDir, len(dirs))
	}
	var all *dataset.Tensors
	var classes []string
	for _, dir := range dirs {
		d, err := ReadDAS(dir)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all, classes = d.Images, d.Classes
			continue
		}
		if err := all.Append(d.Images); err != nil {
			return nil, fmt.Errorf("distill: %s: %w", dir, err)
		}
	}
	labels, err := (&DAS{Classes: classes}).ClassLabels()
	if err != nil {
		return nil, err
	}
	frac := cfg.TestFraction
	if frac == 0 {
		frac = 1.0 / 6
	}
	byClass, err := classIndex(all, labels)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0xf17))
	var trIdx, teIdx []int
	for _, ids := range byClass {
		perm := rng.Perm(len(ids))
		nTest := max(1, int(float64(len(ids))*frac+0.5))
		for j, p := range perm {
			if j < nTest {
				teIdx = append(teIdx, ids[p])
			} else {
				trIdx = append(trIdx, ids[p])
			}
		}
	}
	trainSet, testSet := all.Subset(trIdx), all.Subset(teIdx)
	mc := cfg.Model
	if mc.Height == 0 {
		mc.Height, mc.Width, mc.Channels = all.H, all.W, all.C
	}
	mc.NumClasses = len(labels)
	net, err := models.New(mc)
	if err != nil {
		return nil, err
	}
	tc := cfg.Train
	if tc.Epochs == 0 {
		tc.Epochs = 30
	}
	if tc.BatchSize == 0 {
		tc.BatchSize = min(16, trainSet.N)
	}
	if tc.LR == 0 {
		tc.LR = 0.01
	}
	if tc.DecayEvery == 0 {
		tc.DecayEvery = -1
	}
	tc.Labels = labels
	tc.Seed = cfg.Seed
	res, err := train.Fit(ctx, backend, net, trainSet, testSet, tc, progress)
	if err != nil {
		return nil, fmt.Errorf("distill: snapshot check: %w", err)
	}
	res.Model.Finalize()
	return &CheckResult{Snapshots: len(dirs), Train: trainSet.N, Test: testSet.N, History: res.History}, nil
}

// CheckPlot draws SnapshotCheck's test (and train) accuracy per epoch.
func CheckPlot(r *CheckResult, title string) (*plot.Figure, error) {
	if title == "" {
		title = fmt.Sprintf("CNN trained on %d snapshots (%d train / %d test images)", r.Snapshots, r.Train, r.Test)
	}
	var tr, te []float64
	for _, h := range r.History {
		tr = append(tr, h.TrainAcc)
		te = append(te, h.ValAcc)
	}
	return plot.Curves(plot.Panel{Title: title, XLabel: "epoch", YLabel: "accuracy", YMin: 0, YMax: 1,
		Series: []plot.Series{{Name: "test", Y: te}, {Name: "train", Y: tr, Dashed: true}}})
}
