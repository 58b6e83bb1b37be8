// Package atomicfile writes files so that a reader, or a machine that
// crashes mid-write, sees either the whole old file or the whole new one,
// never part of either: the content goes to a temporary file in the same
// directory, is synced to disk, and is renamed over the old name, and the
// directory is synced so the rename itself survives a crash.
//
// Every output of fernb (model descriptions, distilled sets, results,
// manifests, figures, caches) is written this way, with the mode a shared
// run directory needs (Mode) rather than the private 0600 of os.CreateTemp.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Mode is the permission fernb's output files get: readable by a colleague
// sharing the run directory, writable only by the owner.
const Mode os.FileMode = 0o644

// File is a file being written atomically: its content becomes visible at
// its path only on Commit.
type File struct {
	f    *os.File
	w    *bufio.Writer
	path string
	done bool
}

// Create starts writing path (its directory is created if missing) with
// permission perm. The caller must Commit or Abort; a deferred Abort after
// Commit does nothing, so `defer f.Abort()` cleans up every error path.
func Create(path string, perm os.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	// Chmod, not the umask-filtered mode of open(2): the file gets exactly
	// perm, like the file it replaces would under the same call.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &File{f: f, w: bufio.NewWriterSize(f, 1<<16), path: path}, nil
}

// Write buffers p for the file.
func (a *File) Write(p []byte) (int, error) { return a.w.Write(p) }

// Commit flushes and syncs the content, renames it over the path, and
// syncs the directory. On error the temporary file is removed and
// whatever was at the path before is left as it was.
func (a *File) Commit() error {
	if a.done {
		return fmt.Errorf("write %s: committed or aborted already", a.path)
	}
	a.done = true
	err := a.w.Flush()
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(a.f.Name(), a.path)
	}
	if err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	if err := syncDir(filepath.Dir(a.path)); err != nil {
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	return nil
}

// Abort removes the temporary file; it does nothing after Commit.
func (a *File) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close()
	os.Remove(a.f.Name())
}

// Write writes path atomically with the bytes fill writes. If fill fails,
// the path is left as it was and fill's error is returned, wrapped.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) error {
	a, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer a.Abort()
	if err := fill(a); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return a.Commit()
}

// WriteFile is os.WriteFile made atomic: data replaces path's content
// whole, with permission perm, or not at all.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// syncDir makes a rename durable. File systems that cannot sync a
// directory (they answer EINVAL or ENOTSUP) give no such guarantee to
// ask for, so that answer is not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) && !isInval(err) {
		return err
	}
	return nil
}
