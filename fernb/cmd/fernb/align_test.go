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
