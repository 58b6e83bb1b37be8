package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb/bench"
)

// TestBench runs a tiny bench: one JSON line on stdout with the machine and
// the training step's CPU breakdown, the same as text on stderr, and
// --cpuprofile writes the training and inference profiles.
func TestBench(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	out, errOut, err := runCLI(t, "bench", "--input", "16x16x1", "--width", "0.25", "--batch", "4",
		"--steps", "1", "--warmup", "1", "--no-dot", "--cpuprofile", prof)
	if err != nil {
		t.Fatalf("fernb bench: %v\n%s", err, errOut)
	}
	var r bench.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not one Result: %v\n%s", err, out)
	}
	if r.Machine.CPU == "" || r.TrainProfile == nil || r.InferProfile == nil || r.Input != "16x16x1" {
		t.Errorf("result %+v", r)
	}
	for _, want := range []string{"machine: " + r.Machine.String(), "CPU samples: "} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	for _, p := range []string{prof, strings.TrimSuffix(prof, ".prof") + ".infer.prof"} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("profile %s: %v", p, err)
		}
	}
	if _, _, err := runCLI(t, "bench", "--no-profile", "--cpuprofile", prof); err == nil {
		t.Error("--cpuprofile with --no-profile was accepted")
	}
}
