//go:build unix

package train

import (
	"context"
	"errors"
	"testing"

	"github.com/fernb/fernb/fernb"
)

// TestFitRefusesLockedDir: while another run holds the checkpoint directory,
// Fit fails at once with fernb.ErrDirInUse and writes nothing there; once the
// directory is free the same call trains.
func TestFitRefusesLockedDir(t *testing.T) {
	b := testBackend(t)
	cfg := Config{Epochs: 1, BatchSize: 32, LR: 0.02, Seed: 9, CheckpointDir: t.TempDir()}
	release, err := fernb.LockDir(cfg.CheckpointDir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Fit(context.Background(), b, smallNet(t), bars(64, 16, 3), nil, cfg, nil)
	if !errors.Is(err, fernb.ErrDirInUse) {
		t.Fatalf("Fit on a locked directory: %v, want ErrDirInUse", err)
	}
	if _, err := ReadMeta(cfg.CheckpointDir); err == nil {
		t.Error("the refused run wrote a checkpoint")
	}
	release()
	res, err := Fit(context.Background(), b, smallNet(t), bars(64, 16, 3), nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.History) != 1 {
		t.Errorf("history has %d rows after the lock was released", len(res.History))
	}
}
