//go:build unix

package distill

import (
	"context"
	"errors"
	"testing"

	"github.com/fernb/fernb/fernb"
)

// TestRunRefusesLockedDir: a distillation into a directory another run holds
// fails at once with fernb.ErrDirInUse; once it is free the run goes ahead.
func TestRunRefusesLockedDir(t *testing.T) {
	b := goBackend(t)
	cfg := Config{Method: DM, Model: tinyModel, Iterations: 2, RealPerClass: 4, Seed: 5, OutDir: t.TempDir()}
	release, err := fernb.LockDir(cfg.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), b, bands(30, 12, 3, 6), cfg, nil); !errors.Is(err, fernb.ErrDirInUse) {
		t.Fatalf("Run into a locked directory: %v, want ErrDirInUse", err)
	}
	release()
	if _, err := Run(context.Background(), b, bands(30, 12, 3, 6), cfg, nil); err != nil {
		t.Fatal(err)
	}
}
