package train

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fernb/fernb/fernb/models"
	"github.com/gomlx/gomlx/ml/model"
)

// copyDir copies the regular files of src into a new directory: the state
// a run killed at that moment leaves behind.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
	return dst
}

// storeBytes returns every variable of a store (weights, momenta,
// batch-norm statistics, the dropout generator) as raw bytes by path.
func storeBytes(t *testing.T, s *model.Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for v := range s.IterVariables() {
		val, err := v.Value()
		if err != nil {
			t.Fatalf("%s: %v", v.Path(), err)
		}
		val.ConstBytes(func(b []byte) { out[v.Path()] = bytes.Clone(b) })
	}
	return out
}

func dropoutNet(t *testing.T) *models.Net {
	net, err := models.New(models.Config{Name: "fer-cnn", Height: 16, Width: 16, Channels: 1, WidthMult: 0.25, Dropout: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// TestResumeMidEpochExact takes the checkpoint directory of a run as a kill
// in the middle of an epoch would leave it (after a time-based checkpoint,
// here due at every step) and resumes it: the resumed run must end with
// the very bytes of the uninterrupted run's weights, optimizer state and
// generator, and the same history.
func TestResumeMidEpochExact(t *testing.T) {
	b := testBackend(t)
	trainSet := bars(224, 16, 3) // 7 steps of 32 per epoch
	base := Config{Epochs: 2, BatchSize: 32, LR: 0.02, Seed: 9, CheckpointEvery: time.Nanosecond}
	// The FER recipe's random augmentation, cosine schedule with warm-up
	// (a learning rate per step) and class-first sampling must resume
	// exactly too: all of it is drawn from (seed, epoch, step).
	recipe := base
	recipe.Crop, recipe.Rotate, recipe.Scale, recipe.Erase, recipe.LabelSmoothing = 2, 10, 0.1, 0.25, 0.1
	recipe.Schedule, recipe.WarmupEpochs, recipe.Balance = ScheduleCosine, 1, BalanceSample
	for name, cfg := range map[string]Config{"paper": base, "recipe": recipe} {
		t.Run(name, func(t *testing.T) {
			cfg.CheckpointDir = t.TempDir()
			var killed string
			ref, err := Fit(context.Background(), b, dropoutNet(t), trainSet, nil, cfg, func(p Progress) {
				if p.Stage == "train" && p.Epoch == 2 && p.Step == 4 {
					killed = copyDir(t, cfg.CheckpointDir)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if killed == "" {
				t.Fatal("the progress hook never saw epoch 2 step 4")
			}

			cfg.CheckpointDir = killed
			cfg.CheckpointEvery = -1
			res, err := Fit(context.Background(), b, dropoutNet(t), trainSet, nil, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			// The checkpoint due before step 4 ran holds 3 steps of epoch 2.
			if !res.Resumed || res.ResumedEpoch != 2 || res.ResumedStep != 3 || res.StepsRun != 7-3 {
				t.Fatalf("resumed=%v at epoch %d step %d, ran %d steps; want epoch 2 step 3, 4 steps",
					res.Resumed, res.ResumedEpoch, res.ResumedStep, res.StepsRun)
			}
			want, got := storeBytes(t, ref.Model.Store), storeBytes(t, res.Model.Store)
			if len(want) == 0 || len(got) != len(want) {
				t.Fatalf("%d variables resumed, %d uninterrupted", len(got), len(want))
			}
			for path, w := range want {
				if !bytes.Equal(got[path], w) {
					t.Errorf("variable %s differs from the uninterrupted run's", path)
				}
			}
			for i := range ref.History {
				a, r := res.History[i], ref.History[i]
				if a.TrainLoss != r.TrainLoss || a.TrainAcc != r.TrainAcc || a.Images != r.Images || a.LR != r.LR {
					t.Errorf("epoch %d: resumed loss %v acc %v lr %v (%d images), uninterrupted %v %v %v (%d)",
						i+1, a.TrainLoss, a.TrainAcc, a.LR, a.Images, r.TrainLoss, r.TrainAcc, r.LR, r.Images)
				}
			}
		})
	}
}

// TestResumeFromTruncatedCheckpoint cuts the latest checkpoint's data file
// short, as a kill during its save would: the resume must set it aside,
// say so, and continue from the previous checkpoint, ending where the
// uninterrupted run ends.
func TestResumeFromTruncatedCheckpoint(t *testing.T) {
	b := testBackend(t)
	trainSet := bars(224, 16, 3)
	cfg := Config{Epochs: 2, BatchSize: 32, LR: 0.02, Seed: 4, CheckpointDir: t.TempDir(), CheckpointEvery: time.Nanosecond}
	var killed string
	ref, err := Fit(context.Background(), b, smallNet(t), trainSet, nil, cfg, func(p Progress) {
		if p.Stage == "train" && p.Epoch == 1 && p.Step == 5 {
			killed = copyDir(t, cfg.CheckpointDir)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := listCheckpoints(killed)
	if err != nil || len(list) != 2 {
		t.Fatalf("checkpoints at the kill: %v, %v; want 2", list, err)
	}
	latest := filepath.Join(killed, list[1]+".bin")
	fi, err := os.Stat(latest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(latest, fi.Size()/2); err != nil {
		t.Fatal(err)
	}

	cfg.CheckpointDir = killed
	var msgs []string
	res, err := Fit(context.Background(), b, smallNet(t), trainSet, nil, cfg, func(p Progress) {
		if p.Stage == "resume" {
			msgs = append(msgs, p.Message)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) == 0 || !strings.Contains(msgs[0], "damaged") || !strings.Contains(msgs[0], list[0]) {
		t.Errorf("resume messages %q: want one naming the damaged checkpoint and the one used", msgs)
	}
	if _, err := os.Stat(latest + damagedSuffix); err != nil {
		t.Errorf("damaged checkpoint not set aside: %v", err)
	}
	// The previous checkpoint holds 3 steps of epoch 1.
	if !res.Resumed || res.ResumedEpoch != 1 || res.ResumedStep != 3 {
		t.Fatalf("resumed=%v at epoch %d step %d; want epoch 1 step 3", res.Resumed, res.ResumedEpoch, res.ResumedStep)
	}
	want, got := storeBytes(t, ref.Model.Store), storeBytes(t, res.Model.Store)
	for path, w := range want {
		if !bytes.Equal(got[path], w) {
			t.Errorf("variable %s differs from the uninterrupted run's", path)
		}
	}
}

// TestLoadModelDamaged: inference on a directory whose latest checkpoint is
// cut short fails with a message saying so, instead of GoMLX's read error.
func TestLoadModelDamaged(t *testing.T) {
	b := testBackend(t)
	cfg := Config{Epochs: 1, BatchSize: 32, LR: 0.02, Seed: 4, CheckpointDir: t.TempDir()}
	if _, err := Fit(context.Background(), b, smallNet(t), bars(96, 16, 3), nil, cfg, nil); err != nil {
		t.Fatal(err)
	}
	list, err := listCheckpoints(cfg.CheckpointDir)
	if err != nil || len(list) == 0 {
		t.Fatal(list, err)
	}
	if err := checkIntact(cfg.CheckpointDir, list[len(list)-1]); err != nil {
		t.Fatalf("a fresh checkpoint is reported damaged: %v", err)
	}
	if err := os.Truncate(filepath.Join(cfg.CheckpointDir, list[len(list)-1]+".json"), 10); err != nil {
		t.Fatal(err)
	}
	_, err = LoadModel(b, cfg.CheckpointDir)
	if err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("LoadModel on a damaged checkpoint: %v", err)
	}
}
