//go:build unix

package fernb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	release, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to open files, so a second lock from this process
	// conflicts like one from another process.
	_, err = LockDir(dir)
	if !errors.Is(err, ErrDirInUse) {
		t.Fatalf("second LockDir: %v, want ErrDirInUse", err)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q should name %s and %q", err, dir, want)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	// The lock file stays behind; it must not block the next run.
	release, err = LockDir(dir)
	if err != nil {
		t.Fatalf("LockDir after release: %v", err)
	}
	release()
	// A missing directory is created; one that cannot be is a plain error.
	sub := filepath.Join(dir, "new", "run")
	release, err = LockDir(sub)
	if err != nil {
		t.Fatalf("LockDir(%s): %v", sub, err)
	}
	release()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LockDir(filepath.Join(file, "run")); err == nil || errors.Is(err, ErrDirInUse) {
		t.Errorf("LockDir under a regular file: %v, want a plain error", err)
	}
}
