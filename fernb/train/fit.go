package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/models"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// Result is what Fit returns.
type Result struct {
	// Model is the trained network (also saved in Config.CheckpointDir).
	Model *Model
	// History has one row per completed epoch, including epochs run by an
	// earlier process that this run resumed.
	History []EpochStats
	// Skipped counts training images left out because their label is not
	// in the model's label order (e.g. contempt for a 7-class model).
	Skipped int
	// Resumed is true when Fit continued from a checkpoint; ResumedEpoch
	// and ResumedStep (1-based epoch, 0-based step) say where.
	Resumed                   bool
	ResumedEpoch, ResumedStep int
	// StepsRun is the number of training steps this call executed.
	StepsRun int
}

// resumeState is the part of a run's progress that must survive a restart.
// It is stored as a parameter of the GoMLX checkpoint so it is always
// consistent with the weights saved beside it.
type resumeState struct {
	Epoch   int          `json:"epoch"` // 0-based epoch in progress
	Step    int          `json:"step"`  // steps of it already done
	LossSum float64      `json:"loss_sum"`
	Correct float64      `json:"correct"`
	Images  int          `json:"images"`
	Seconds float64      `json:"seconds"`
	History []EpochStats `json:"history"`
	Seed    int64        `json:"seed"`
	Steps   int          `json:"steps_per_epoch"`
}

const stateParam = "fernb_resume_state"

// rebatch adapts a resume state to steps per epoch when it was saved with
// another number (another batch composition: --aux vas: mixed in or
// dropped); with the same number it changes nothing. That is only sound between epochs, where nothing of the unfinished
// epoch is kept: a run stopped inside an epoch must finish it with the
// batches it started. At a boundary the weights, optimizer state and history
// carry over, which is how a variant continues a baseline's checkpoint at
// equal epochs with a different mix of data.
func (st *resumeState) rebatch(steps int) error {
	if st.Steps == steps {
		return nil
	}
	switch st.Step {
	case 0: // the next epoch has not started
	case st.Steps: // the epoch's training is done, its validation is not
		st.Step = steps
	default:
		return fmt.Errorf("stopped at step %d of %d of epoch %d, and this run has %d steps per epoch (another batch size or auxiliary mix): finish that epoch with the settings it started with, or use a fresh directory",
			st.Step, st.Steps, st.Epoch+1, steps)
	}
	st.Steps = steps
	return nil
}

// Fit trains net on trainSet (evaluating on valSet after every epoch when
// it is not nil) with cfg, reporting to progress (may be nil). With
// cfg.CheckpointDir it saves every epoch and resumes from what it finds
// there; if ctx is cancelled it saves where it stopped and returns an error
// wrapping ctx.Err(), and a later Fit with the same arguments continues.
func Fit(ctx context.Context, backend compute.Backend, net *models.Net, trainSet, valSet *dataset.Tensors,
	cfg Config, progress func(Progress)) (res *Result, err error) {
	if net == nil || trainSet == nil {
		return nil, errors.New("train: Fit needs a model and a training set")
	}
	cfg = cfg.withDefaults(net.Config.NumClasses)
	if err := cfg.validate(net.Config.NumClasses); err != nil {
		return nil, err
	}
	for name, t := range map[string]*dataset.Tensors{"training": trainSet, "validation": valSet} {
		if t == nil {
			continue
		}
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("train: %s set: %w", name, err)
		}
		mc := net.Config
		if t.H != mc.Height || t.W != mc.Width || t.C != mc.Channels {
			return nil, fmt.Errorf("train: %s images are %dx%dx%d, model %s takes %dx%dx%d",
				name, t.H, t.W, t.C, mc.Name, mc.Height, mc.Width, mc.Channels)
		}
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	ci := newClassIndex(cfg.Labels)
	bat, skipped, err := newBatcher(trainSet, ci, cfg)
	if err != nil {
		return nil, err
	}
	steps := bat.stepsPerEpoch()

	// Store, optional checkpoint (which loads the latest one), resume state.
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(cfg.Seed); err != nil {
		return nil, fmt.Errorf("train: seeding: %w", err)
	}
	meta := newMeta(net, cfg, len(bat.idx))
	var ckpt *checkpoint.Handler
	st := resumeState{Seed: cfg.Seed, Steps: steps}
	res = &Result{Skipped: skipped}
	if cfg.CheckpointDir != "" {
		release, err := fernb.LockDir(cfg.CheckpointDir)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		defer release()
		if old, err := ReadMeta(cfg.CheckpointDir); err == nil {
			if err := compatible(old, meta); err != nil {
				return nil, fmt.Errorf("train: %s holds another run: %w", cfg.CheckpointDir, err)
			}
		}
		var notes []string
		ckpt, notes, err = openCheckpoint(store, cfg.CheckpointDir, cfg.Keep)
		for _, n := range notes {
			progress(Progress{Stage: "resume", Message: n})
		}
		if err != nil {
			return nil, fmt.Errorf("train: checkpoint %s: %w", cfg.CheckpointDir, err)
		}
		if s, ok := store.GetParam(stateParam); ok {
			str, _ := s.(string)
			if err := json.Unmarshal([]byte(str), &st); err != nil {
				return nil, fmt.Errorf("train: %s: bad resume state: %w", cfg.CheckpointDir, err)
			}
			if st.Seed != cfg.Seed {
				return nil, fmt.Errorf("train: %s was trained with seed %d, this run has seed %d: use a fresh directory",
					cfg.CheckpointDir, st.Seed, cfg.Seed)
			}
			if err := st.rebatch(steps); err != nil {
				return nil, fmt.Errorf("train: %s: %w", cfg.CheckpointDir, err)
			}
			res.Resumed, res.ResumedEpoch, res.ResumedStep = true, st.Epoch+1, st.Step
		}
	}

	if cfg.Init != "" && !res.Resumed {
		if err := initFrom(backend, store, net, cfg.Labels, cfg.Init); err != nil {
			return nil, err
		}
	}

	tr, err := newTrainer(backend, net, store, cfg, steps)
	if err != nil {
		return nil, err
	}
	defer tr.Finalize()

	m := tr.Model
	m.Meta = *meta
	lastSave := time.Now()
	save := func(stage string) error {
		if ckpt == nil {
			return nil
		}
		data, err := json.Marshal(st)
		if err != nil {
			return err
		}
		store.SetParam(stateParam, string(data))
		if err := ckpt.Save(); err != nil {
			return fmt.Errorf("train: saving checkpoint: %w", err)
		}
		if err := syncLatest(cfg.CheckpointDir); err != nil {
			return fmt.Errorf("train: syncing checkpoint: %w", err)
		}
		lastSave = time.Now()
		meta.History, meta.EpochsDone = st.History, len(st.History)
		meta.Complete = len(st.History) >= cfg.Epochs
		m.Meta = *meta
		return writeMeta(cfg.CheckpointDir, meta)
	}

	if res.Resumed {
		progress(Progress{Stage: "resume", Epoch: st.Epoch + 1, Epochs: cfg.Epochs, Step: st.Step, Steps: steps,
			Message: fmt.Sprintf("resuming %s at epoch %d, step %d of %d", cfg.CheckpointDir, st.Epoch+1, st.Step, steps)})
	}
	start := time.Now()
	totalSteps := cfg.Epochs * steps
	doneAtStart := st.Epoch*steps + st.Step
	if cfg.Schedule == ScheduleCosine {
		if err := setCosineStep(store, st.Epoch*steps+st.Step); err != nil {
			return nil, err
		}
	}
	var pf *prefetcher // the epoch's batches, assembled while the previous step runs
	defer func() { pf.close() }()
	for ; st.Epoch < cfg.Epochs; st.Epoch, st.Step = st.Epoch+1, 0 {
		lr := cfg.LRAt(st.Epoch)
		if cfg.Schedule == ScheduleCosine {
			lr = tr.LR()
		} else if err := tr.SetLR(lr); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		perm := bat.permutation(st.Epoch)
		pf.close()
		pf = bat.prefetch(perm, st.Epoch, st.Step, steps)
		for ; st.Step < steps; st.Step++ {
			if err := ctx.Err(); err != nil {
				if serr := save("cancel"); serr != nil {
					return nil, errors.Join(fmt.Errorf("train: cancelled at epoch %d step %d: %w", st.Epoch+1, st.Step, err), serr)
				}
				return nil, fmt.Errorf("train: cancelled at epoch %d step %d (checkpoint saved): %w", st.Epoch+1, st.Step, err)
			}
			if st.Step > 0 && cfg.CheckpointEvery > 0 && time.Since(lastSave) >= cfg.CheckpointEvery {
				if err := save("periodic"); err != nil {
					return nil, err
				}
			}
			t0 := time.Now()
			buf := pf.next()
			loss, correct, err := tr.Step(buf.x, buf.y, buf.w)
			pf.release(buf)
			if cfg.Schedule == ScheduleCosine {
				lr = tr.LR()
			}
			if err != nil {
				return nil, fmt.Errorf("train: epoch %d step %d: %w", st.Epoch+1, st.Step+1, err)
			}
			st.LossSum += loss * float64(bat.total)
			st.Correct += correct
			st.Images += bat.total
			st.Seconds += time.Since(t0).Seconds()
			res.StepsRun++
			done := st.Epoch*steps + st.Step + 1
			elapsed := time.Since(start)
			eta := time.Duration(float64(elapsed) / float64(done-doneAtStart) * float64(totalSteps-done))
			progress(Progress{Stage: "train", Epoch: st.Epoch + 1, Epochs: cfg.Epochs, Step: st.Step + 1, Steps: steps,
				LR: lr, Loss: st.LossSum / float64(st.Images), Acc: st.Correct / float64(st.Images), Elapsed: elapsed, ETA: eta})
		}
		row := EpochStats{Epoch: st.Epoch + 1, LR: lr, TrainLoss: st.LossSum / float64(st.Images),
			TrainAcc: st.Correct / float64(st.Images), Seconds: st.Seconds, Images: st.Images}
		if valSet != nil {
			t0 := time.Now()
			progress(Progress{Stage: "validate", Epoch: st.Epoch + 1, Epochs: cfg.Epochs, Elapsed: time.Since(start)})
			ev, err := m.evaluate(ctx, valSet, EvalOptions{Batch: cfg.EvalBatchSize})
			if err != nil {
				err = fmt.Errorf("train: validation after epoch %d: %w", st.Epoch+1, err)
				if ctx.Err() != nil { // the epoch's training is done: keep it
					err = errors.Join(err, save("cancel"))
				}
				return nil, err
			}
			row.ValLoss, row.ValAcc, row.ValSeconds = ev.Loss, ev.Accuracy, time.Since(t0).Seconds()
		}
		st.History = append(st.History, row)
		st.LossSum, st.Correct, st.Images, st.Seconds = 0, 0, 0, 0
		st.Step = steps
		progress(Progress{Stage: "checkpoint", Epoch: st.Epoch + 1, Epochs: cfg.Epochs, Step: steps, Steps: steps, LR: lr,
			Loss: row.TrainLoss, Acc: row.TrainAcc, Elapsed: time.Since(start),
			Message: fmt.Sprintf("epoch %d: train loss %.4f acc %.4f, val loss %.4f acc %.4f, %.1fs",
				row.Epoch, row.TrainLoss, row.TrainAcc, row.ValLoss, row.ValAcc, row.Seconds)})
		next := st
		next.Epoch, next.Step = st.Epoch+1, 0
		cur := st
		st = next
		if err := save("epoch"); err != nil {
			return nil, err
		}
		st = cur
	}
	st.Epoch, st.Step = cfg.Epochs, 0
	meta.History, meta.EpochsDone, meta.Complete = st.History, len(st.History), true
	m.Meta = *meta
	res.Model, res.History = m, st.History
	return res, nil
}

// lossAndCorrect is the weighted mean softmax cross-entropy of logits
// [N,K] against class indices y [N] (int32), label-smoothed by smoothing,
// with per-image weights w [N], and the number of images whose arg-max is
// right.
func lossAndCorrect(logits, y, w *graph.Node, k int, smoothing float64) (loss, correct *graph.Node) {
	dt := logits.DType()
	target := smoothedTarget(y, k, smoothing, dt)
	ce := graph.Neg(graph.ReduceSum(graph.Mul(target, graph.LogSoftmax(logits, -1)), -1))
	w = graph.ConvertDType(w, dt)
	loss = graph.Div(graph.ReduceAllSum(graph.Mul(ce, w)), graph.ReduceAllSum(w))
	pred := graph.ArgMax(logits, -1, dtypes.Int32)
	correct = graph.ReduceAllSum(graph.ConvertDType(graph.Equal(pred, y), dt))
	return loss, graph.StopGradient(correct)
}

func mustRNG(seed int64) *tensors.Tensor {
	t, err := graph.RNGStateFromSeed(seed)
	if err != nil {
		panic(err)
	}
	return t
}

func newMeta(net *models.Net, cfg Config, trainImages int) *Meta {
	m := &Meta{Format: MetaFormat, Model: net.Config, Normalization: cfg.Normalization, FeatureDim: net.FeatureDim,
		NumParams: net.NumParams(), Train: cfg, TrainImages: trainImages, Version: fernb.Version}
	m.Input.Height, m.Input.Width, m.Input.Channels = net.Config.Height, net.Config.Width, net.Config.Channels
	for _, l := range cfg.Labels {
		m.Labels = append(m.Labels, l.String())
	}
	return m
}

// compatible reports why a run described by now cannot continue the one
// described by old.
func compatible(old, now *Meta) error {
	if old.Model != now.Model {
		return fmt.Errorf("model %+v there, %+v here", old.Model, now.Model)
	}
	if fmt.Sprint(old.Labels) != fmt.Sprint(now.Labels) {
		return fmt.Errorf("label order %v there, %v here", old.Labels, now.Labels)
	}
	if old.Train.BatchSize != now.Train.BatchSize || old.Train.Epochs > now.Train.Epochs && !old.Complete {
		return fmt.Errorf("batch %d / %d epochs there, %d / %d here", old.Train.BatchSize, old.Train.Epochs, now.Train.BatchSize, now.Train.Epochs)
	}
	if old.TrainImages != 0 && old.TrainImages != now.TrainImages {
		return fmt.Errorf("trained on %d usable images there, %d here (another training set)", old.TrainImages, now.TrainImages)
	}
	return nil
}

// initFrom copies the network weights (trainable parameters and batch-norm
// running statistics, not the optimizer state) of the checkpoint in dir
// into store, after checking that it holds the same model and label order.
func initFrom(backend compute.Backend, store *model.Store, net *models.Net, labels []fernb.Label, dir string) error {
	src, err := LoadModel(backend, dir)
	if err != nil {
		return fmt.Errorf("train: init: %w", err)
	}
	want, got := net.Config, src.Net.Config
	want.Dropout, got.Dropout = 0, 0 // dropout has no weights
	if want != got {
		return fmt.Errorf("train: init: %s holds model %+v, this run trains %+v", dir, got, want)
	}
	if !slices.Equal(src.Labels, labels) {
		return fmt.Errorf("train: init: %s has label order %v, this run %v", dir, src.Labels, labels)
	}
	for _, s := range net.Specs {
		path := "/" + modelScope + "/" + s.Name
		if _, err := src.Store.GetVariable(path).CloneToStore(store); err != nil {
			return fmt.Errorf("train: init: copying %s from %s: %w", path, dir, err)
		}
	}
	return nil
}
