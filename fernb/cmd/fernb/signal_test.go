//go:build unix

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// liveProc is a running fernb whose stderr is collected; lines() splits it on
// the carriage returns of the progress line too.
type liveProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan error
}

func startFernb(t *testing.T, bin string, args ...string) *liveProc {
	t.Helper()
	p := &liveProc{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	r, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.buf.Write(sc.Bytes())
			p.buf.WriteByte('\n')
			p.mu.Unlock()
		}
		p.done <- p.cmd.Wait()
	}()
	return p
}

func (p *liveProc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.ReplaceAll(p.buf.String(), "\r", "\n")
}

// waitFor waits until stderr matches re and returns the match.
func (p *liveProc) waitFor(t *testing.T, re *regexp.Regexp, limit time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.stderr()); m != nil {
			return m
		}
		select {
		case err := <-p.done:
			t.Fatalf("fernb exited (%v) before printing %q:\n%s", err, re, p.stderr())
		case <-time.After(100 * time.Millisecond):
		}
	}
	p.cmd.Process.Kill()
	t.Fatalf("no %q within %v:\n%s", re, limit, p.stderr())
	return nil
}

// term sends SIGTERM and waits for the exit; the bound is generous, a
// check that the run stops at all rather than a speed target.
func (p *liveProc) term(t *testing.T) (time.Duration, error) {
	t.Helper()
	t0 := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		return time.Since(t0), err
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("fernb still running 30 s after SIGTERM:\n%s", p.stderr())
	}
	return 0, nil
}

// TestTrainSIGTERM runs the built fernb binary: SIGTERM in the middle of
// training ends the process after saving a checkpoint, and running the
// same command again resumes at the step where it stopped.
func TestTrainSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the fernb binary")
	}
	dir := t.TempDir()
	bin := buildFernb(t, dir)
	out := filepath.Join(dir, "ckpt")
	// No validation set: SIGTERM then always lands in the training loop,
	// whose message names the step the resume must start at.
	args := []string{"train", "--path", "lab,n=700,seed=1", "--input", "24x24x1", "--width", "0.25",
		"--batch", "16", "--epochs", "1000", "--val-frac", "0", "--out", out}

	step := regexp.MustCompile(`epoch \d+/1000 step [1-9]\d*/`)
	first := startFernb(t, bin, args...)
	first.waitFor(t, step, 5*time.Minute)
	took, err := first.term(t)
	t.Logf("first run: exit %v %v after SIGTERM", err, took.Round(time.Millisecond))
	if err == nil {
		t.Fatalf("a run stopped by SIGTERM exited 0:\n%s", first.stderr())
	}
	m := regexp.MustCompile(`cancelled at epoch (\d+) step (\d+) \(checkpoint saved\)`).FindStringSubmatch(first.stderr())
	if m == nil {
		t.Fatalf("no 'checkpoint saved' after SIGTERM:\n%s", first.stderr())
	}
	if ck, _ := filepath.Glob(filepath.Join(out, "checkpoint-*.json")); len(ck) == 0 {
		t.Fatalf("no checkpoint in %s after SIGTERM", out)
	}

	second := startFernb(t, bin, args...)
	second.waitFor(t, regexp.MustCompile(regexp.QuoteMeta(fmt.Sprintf("resuming %s at epoch %s, step %s of", out, m[1], m[2]))), 5*time.Minute)
	if _, err := second.term(t); err == nil {
		t.Errorf("second run exited 0 after SIGTERM:\n%s", second.stderr())
	}
	if _, err := os.Stat(filepath.Join(out, "fernb-model.json")); err != nil {
		t.Error(err)
	}
}
