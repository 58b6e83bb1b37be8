package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/face"
)

// Every command that reads images takes the same alignment flags.
func TestAlignFlagsOnEveryImageCommand(t *testing.T) {
	for _, cmd := range [][]string{
		{"train"}, {"eval"}, {"select"}, {"select", "plot"}, {"distill"}, {"distill", "compare"},
		{"data", "stats"}, {"data", "align"}, {"reproduce"},
	} {
		_, errOut, _ := runCLI(t, append(cmd, "-h")...)
		for _, f := range []string{"  -align\n", "-align-margin", "-align-noface", "-cascade"} {
			if !strings.Contains(errOut, f) {
				t.Errorf("fernb %s -h lacks %s", strings.Join(cmd, " "), f)
			}
		}
	}
}

func TestDataAlign(t *testing.T) {
	if _, err := face.CascadeDir(); err != nil {
		t.Skipf("pigo cascades not available: %v", err)
	}
	out := filepath.Join(t.TempDir(), "crops")
	stdout, errOut, err := runCLI(t, "data", "align", "--format", "synthetic", "--path", "wild,n=6,seed=5,size=96",
		"--out", out, "--size", "32", "--channels", "1")
	if err != nil {
		t.Fatalf("data align: %v\n%s", err, errOut)
	}
	var n dataset.AlignCounts
	if err := json.Unmarshal([]byte(stdout), &n); err != nil {
		t.Fatalf("output %q: %v", stdout, err)
	}
	if n.Images != 6 || n.Found+n.NoFace != 6 || n.Written != n.Found {
		t.Errorf("counts %+v", n)
	}
	pngs := 0
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".png") {
			pngs++
		}
		return nil
	})
	if pngs != n.Written {
		t.Errorf("%d PNGs written, report says %d", pngs, n.Written)
	}
	if _, err := os.Stat(filepath.Join(out, "align-report.txt")); err != nil {
		t.Error(err)
	}
	if !strings.Contains(errOut, "align: face found in") {
		t.Errorf("no summary on stderr: %q", errOut)
	}
	if _, _, err := runCLI(t, "data", "align", "--format", "synthetic", "--path", "lab,n=2", "--out", out, "--align-noface", "maybe"); err == nil {
		t.Error("bad --align-noface accepted")
	}
}

// A model trained with --align records its settings, and eval aligns the
// same way unless told otherwise, warning when told otherwise.
func TestEvalAlignsAsTrained(t *testing.T) {
	ckpt := filepath.Join(t.TempDir(), "m")
	if _, errOut, err := runCLI(t, "train", "--path", "lab,n=40,seed=1,size=96", "--input", "24x24x1", "--width", "0.25",
		"--epochs", "1", "--batch", "16", "--quiet", "--out", ckpt,
		"--align", "--align-margin", "0.3", "--align-noface", "centre"); err != nil {
		t.Fatalf("train --align: %v\n%s", err, errOut)
	}
	raw, err := os.ReadFile(filepath.Join(ckpt, "fernb-model.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Normalization struct {
			Align *face.Options `json:"align"`
		} `json:"normalization"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	if a := meta.Normalization.Align; a == nil || a.Margin != 0.3 || a.NoFace != face.Centre || a.CascadeDir != "" {
		t.Fatalf("recorded alignment %+v, want margin 0.3, noface centre, no cascade dir", a)
	}

	eval := func(extra ...string) (n int, errOut string) {
		t.Helper()
		args := append([]string{"eval", "--model", ckpt, "--format", "synthetic", "--path", "lab,n=12,seed=2,size=96"}, extra...)
		out, errOut, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
		var ev struct {
			N int `json:"n"`
		}
		if err := json.Unmarshal([]byte(out), &ev); err != nil {
			t.Fatalf("eval output %q: %v", out, err)
		}
		return ev.N, errOut
	}
	if n, errOut := eval(); n != 12 || !strings.Contains(errOut, "aligning the same way") || !strings.Contains(errOut, "eval: ") {
		t.Errorf("eval without --align: n=%d, stderr %q; want 12 images aligned as in training, with the alignment report", n, errOut)
	}
	if _, errOut := eval("--align=false"); !strings.Contains(errOut, "warning: --align=false") || strings.Contains(errOut, "aligning the same way") {
		t.Errorf("eval --align=false: stderr %q; want the images as they are, with a warning", errOut)
	}
	if _, errOut := eval("--align", "--align-margin", "0.1", "--align-noface", "centre"); !strings.Contains(errOut, "other settings than training") {
		t.Errorf("eval with another margin: stderr %q; want a warning", errOut)
	}
}
