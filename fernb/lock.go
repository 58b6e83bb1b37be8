package fernb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LockFile is the file LockDir holds in a run directory.
const LockFile = ".fernb-lock"

// ErrDirInUse is returned (wrapped) by LockDir when another process, or
// another run in this process, holds the directory.
var ErrDirInUse = errors.New("directory in use by another run")

// LockDir creates the run directory dir if needed (a training checkpoint or
// distillation output directory) and takes an exclusive lock on it, so that
// two runs never write checkpoints into one directory: a notebook cell re-run
// while the previous run still trains, or a script started twice, fails at
// once with the other run's process id instead of interleaving two runs'
// checkpoints. The lock is an advisory flock(2) on dir/.fernb-lock, released
// by release or when the process exits (even if it crashes), so a stale lock
// file never blocks a resume. On systems without flock it does nothing.
func LockDir(dir string) (release func() error, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("fernb: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("fernb: lock %s: %w", dir, err)
	}
	if err := flock(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "unknown"
			}
			return nil, fmt.Errorf("fernb: %s: %w (pid %s); wait for it to finish or use another directory", dir, ErrDirInUse, who)
		}
		return nil, fmt.Errorf("fernb: lock %s: %w", dir, err)
	}
	// Record the holder for the message above; the lock, not the content,
	// is what excludes.
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "%d\n", os.Getpid())
	}
	return func() error {
		err := funlock(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}
