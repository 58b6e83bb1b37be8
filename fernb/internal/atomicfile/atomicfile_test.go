package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestFailedWriteKeepsOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "results.json")
	if err := WriteFile(p, []byte("old"), Mode); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, Mode, func(w io.Writer) error {
		w.Write([]byte("half of the new cont"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "old" {
		t.Fatalf("after a failed write: %q, %v; want the old content", b, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
	if err := WriteFile(p, []byte("new"), Mode); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Errorf("after a good write: %q, want new", b)
	}
}

func TestCommitTwice(t *testing.T) {
	a, err := Create(filepath.Join(t.TempDir(), "f"), Mode)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if a.Commit() == nil {
		t.Error("a second Commit succeeded")
	}
	a.Abort() // no-op, must not remove the committed file
	if _, err := os.Stat(a.path); err != nil {
		t.Errorf("Abort after Commit removed the file: %v", err)
	}
}
