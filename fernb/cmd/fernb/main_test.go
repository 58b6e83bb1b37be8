package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestEnv(t *testing.T) {
	t.Setenv(fernb.BackendEnv, "") // the default: pure Go
	out, errOut, err := runCLI(t, "env")
	if err != nil {
		t.Fatalf("fernb env: %v\nstderr: %s", err, errOut)
	}
	for _, want := range []string{
		"fernb:        " + fernb.Version,
		"backend:      " + fernb.DefaultBackendConfig,
		"description:  ",
		"GOMAXPROCS:   ",
		"module:       github.com/gomlx/compute ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("fernb env output lacks %q:\n%s", want, out)
		}
	}
	if want := "GOMAXPROCS:   " + strconv.Itoa(runtime.GOMAXPROCS(0)) + " "; !strings.Contains(out, want) {
		t.Errorf("fernb env does not report GOMAXPROCS=%d:\n%s", runtime.GOMAXPROCS(0), out)
	}
	// The SIMD warning goes to stderr exactly when the binary lacks it.
	if warned := strings.Contains(errOut, fernb.SIMDWarning); warned == fernb.BuiltWithSIMD() {
		t.Errorf("built with simd: %v, but SIMD warning printed: %v (stderr %q)", fernb.BuiltWithSIMD(), warned, errOut)
	}
}

func TestEnvXLAMissingIsReportedNotFatal(t *testing.T) {
	t.Setenv(fernb.BackendEnv, "no-such-backend")
	out, errOut, err := runCLI(t, "env")
	if err != nil {
		t.Fatalf("fernb env with a bad backend should still describe the process: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "backend error:") || !strings.Contains(out, "no-such-backend") {
		t.Errorf("fernb env does not show the backend error:\n%s", out)
	}
}

func TestEnvJSON(t *testing.T) {
	t.Setenv(fernb.BackendEnv, "")
	out, errOut, err := runCLI(t, "env", "-json")
	if err != nil {
		t.Fatalf("fernb env -json: %v\n%s", err, errOut)
	}
	var got fernb.Env
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("fernb env -json is not JSON: %v\n%s", err, out)
	}
	if got.Backend != fernb.DefaultBackendConfig || got.BackendDescription == "" || got.GOMAXPROCS != runtime.GOMAXPROCS(0) || got.SIMD != fernb.BuiltWithSIMD() {
		t.Errorf("fernb env -json = %+v", got)
	}
	if got.Modules["github.com/gomlx/compute"] == "" {
		t.Errorf("fernb env -json lists no version for github.com/gomlx/compute: %v", got.Modules)
	}
}

func TestEnvRejectsArguments(t *testing.T) {
	for _, args := range [][]string{{"env", "-nosuchflag"}, {"env", "extra"}} {
		if _, _, err := runCLI(t, args...); err == nil {
			t.Errorf("fernb %q succeeded", args)
		}
	}
}

func TestVersion(t *testing.T) {
	out, _, err := runCLI(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	if out != "fernb "+fernb.Version+"\n" {
		t.Errorf("fernb version = %q, want %q", out, "fernb "+fernb.Version+"\n")
	}
	if fernb.Version == "" {
		t.Error("fernb.Version is empty")
	}
}

func TestUnknownCommand(t *testing.T) {
	_, errOut, err := runCLI(t, "frobnicate")
	if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Errorf("fernb frobnicate: err = %v, want unknown command", err)
	}
	if !strings.Contains(errOut, "usage: fernb") || !strings.Contains(errOut, "env") {
		t.Errorf("unknown command does not print the usage with the command list:\n%s", errOut)
	}
}

func TestNoCommand(t *testing.T) {
	if _, errOut, err := runCLI(t); err == nil || !strings.Contains(errOut, "usage: fernb") {
		t.Errorf("fernb with no command: err = %v, stderr %q; want an error and the usage", err, errOut)
	}
	if _, errOut, err := runCLI(t, "help"); err != nil || !strings.Contains(errOut, "version") {
		t.Errorf("fernb help: err = %v, stderr %q; want the usage and no error", err, errOut)
	}
}

// The command table has unique names, each with a summary.
func TestCommandTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands() {
		if c.Name == "" || c.Summary == "" || c.Run == nil {
			t.Errorf("incomplete command %+v", c)
		}
		if seen[c.Name] {
			t.Errorf("command %q registered twice", c.Name)
		}
		seen[c.Name] = true
	}
	for _, name := range []string{"env", "version"} {
		if !seen[name] {
			t.Errorf("command %q missing", name)
		}
	}
}

// TestTrainInit branches a run off a checkpoint through the CLI: the model
// comes from the checkpoint, and flags that would contradict it are refused.
func TestTrainInit(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	data := []string{"--path", "lab,n=70,seed=1", "--batch", "16", "--quiet"}
	if _, stderr, err := runCLI(t, append([]string{"train", "--input", "24x24x1", "--width", "0.25", "--epochs", "1", "--out", base}, data...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	out, stderr, err := runCLI(t, append([]string{"train", "--init", base, "--epochs", "1", "--lr", "0.0001", "--out", filepath.Join(dir, "branch")}, data...)...)
	if err != nil {
		t.Fatalf("train --init: %v\n%s", err, stderr)
	}
	var sum struct {
		Model struct {
			Height    int     `json:"height"`
			WidthMult float64 `json:"width_mult"`
		} `json:"model"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Model.Height != 24 || sum.Model.WidthMult != 0.25 {
		t.Errorf("branch model %+v (%v), want the checkpoint's 24 px at width 0.25", sum.Model, err)
	}
	_, _, err = runCLI(t, append([]string{"train", "--init", base, "--width", "0.5", "--out", filepath.Join(dir, "bad")}, data...)...)
	if err == nil || !strings.Contains(err.Error(), "--width") {
		t.Errorf("--init with --width: %v, want a refusal naming --width", err)
	}
}

// TestDistillDSA: `fernb distill --method dm --dsa` records DSA in the DAS,
// `fernb train --aux das:` trains on it under the augmentation (and says
// so), and DD refuses --dsa.
func TestDistillDSA(t *testing.T) {
	dir := t.TempDir()
	das := filepath.Join(dir, "das")
	set := []string{"--format", "synthetic", "--path", "lab,n=42,seed=2", "--size", "16"}
	if _, stderr, err := runCLI(t, append([]string{"distill", "--method", "dm", "--dsa", "--iterations", "3", "--width", "0.25",
		"--real-per-class", "4", "--out", das}, set...)...); err != nil {
		t.Fatalf("distill --dsa: %v\n%s", err, stderr)
	}
	meta, err := os.ReadFile(filepath.Join(das, "das.json"))
	if err != nil || !strings.Contains(string(meta), `"dsa": true`) {
		t.Fatalf("das.json (%v) does not record dsa: %s", err, meta)
	}
	_, stderr, err := runCLI(t, "train", "--path", "lab,n=70,seed=1", "--input", "16x16x1", "--width", "0.25", "--epochs", "1",
		"--batch", "16", "--quiet", "--aux", "das:"+das, "--out", filepath.Join(dir, "m"))
	if err != nil {
		t.Fatalf("train --aux das: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "DSA augmentation") {
		t.Errorf("train --aux das: of a DSA DAS does not say it augments: %s", stderr)
	}
	_, _, err = runCLI(t, append([]string{"distill", "--method", "dd", "--dsa", "--iterations", "1", "--out", filepath.Join(dir, "dd")}, set...)...)
	if err == nil || !strings.Contains(err.Error(), "DSA") {
		t.Errorf("distill --method dd --dsa: %v, want a refusal naming DSA", err)
	}
}

// TestTrainRecipeFlags: the recipe flags of `fernb train` reach the
// checkpoint's recorded config, and `fernb eval --ten-crop` evaluates with
// ten views.
func TestTrainRecipeFlags(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "m")
	_, stderr, err := runCLI(t, "train", "--path", "lab,n=70,seed=1", "--input", "16x16x1", "--width", "0.25", "--epochs", "2",
		"--batch", "16", "--quiet", "--out", ckpt, "--crop", "2", "--rotate", "10", "--scale", "0.1", "--erase", "0.25",
		"--label-smoothing", "0.1", "--schedule", "cosine", "--warmup", "1", "--min-lr", "0.0001", "--balance", "weights")
	if err != nil {
		t.Fatalf("train with the recipe: %v\n%s", err, stderr)
	}
	raw, err := os.ReadFile(filepath.Join(ckpt, "fernb-model.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Train map[string]any `json:"train"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"crop": 2.0, "rotate": 10.0, "scale": 0.1, "erase": 0.25, "label_smoothing": 0.1,
		"schedule": "cosine", "warmup_epochs": 1.0, "min_lr": 0.0001, "balance": "weights"}
	for k, v := range want {
		if meta.Train[k] != v {
			t.Errorf("recorded %s = %v, want %v", k, meta.Train[k], v)
		}
	}
	out, stderr, err := runCLI(t, "eval", "--model", ckpt, "--format", "synthetic", "--path", "lab,n=35,seed=2", "--ten-crop", "2")
	if err != nil {
		t.Fatalf("eval --ten-crop: %v\n%s", err, stderr)
	}
	var ev struct {
		TTA string `json:"tta"`
		N   int    `json:"n"`
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.TTA != "ten-crop:2" || ev.N != 35 {
		t.Errorf("eval --ten-crop 2: tta %q on %d images (%v)", ev.TTA, ev.N, err)
	}
	// --tag labels each line; eval summary pairs the variants by seed.
	var lines []string
	acc := map[string]float64{}
	for i, v := range [][2]string{{"ctrl", "1"}, {"other", "1"}, {"ctrl", "2"}, {"other", "2"}} {
		out, stderr, err := runCLI(t, "eval", "--model", ckpt, "--format", "synthetic", "--path", fmt.Sprintf("lab,n=35,seed=%d", 2+i),
			"--tag", "variant="+v[0], "--tag", "seed="+v[1])
		if err != nil {
			t.Fatalf("eval --tag: %v\n%s", err, stderr)
		}
		var ev struct {
			Tags     map[string]string `json:"tags"`
			Accuracy float64           `json:"accuracy"`
		}
		if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.Tags["variant"] != v[0] || ev.Tags["seed"] != v[1] {
			t.Fatalf("eval --tag variant=%s --tag seed=%s wrote tags %v (%v)", v[0], v[1], ev.Tags, err)
		}
		acc[v[0]+v[1]] = 100 * ev.Accuracy
		lines = append(lines, out)
	}
	evals := filepath.Join(dir, "evals.jsonl")
	if err := os.WriteFile(evals, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err = runCLI(t, "eval", "summary", "--base", "ctrl", evals)
	if err != nil {
		t.Fatalf("eval summary: %v\n%s", err, stderr)
	}
	diff := ((acc["other1"] - acc["ctrl1"]) + (acc["other2"] - acc["ctrl2"])) / 2
	if want := fmt.Sprintf("%+.2f ± ", diff); !strings.Contains(out, "| other") || !strings.Contains(out, want) || !strings.Contains(out, "of 2") {
		t.Errorf("eval summary: want a row for other with the paired difference %q over 2 seeds:\n%s", want, out)
	}
	_, _, err = runCLI(t, "train", "--path", "lab,n=70,seed=1", "--input", "16x16x1", "--epochs", "1", "--quiet",
		"--out", filepath.Join(dir, "bad"), "--schedule", "linear")
	if err == nil || !strings.Contains(err.Error(), "Schedule") {
		t.Errorf("--schedule linear: %v, want a refusal naming the schedule", err)
	}
}
