package main

import (
	"strings"
	"testing"
)

// The real-data path says clearly what is missing and where it looked,
// and never falls back silently to the synthetic data.
func TestReproduceMissingData(t *testing.T) {
	dir := t.TempDir()
	_, _, err := runCLI(t, "reproduce", "--data-dir", dir, "--table", "5", "--out", t.TempDir())
	if err == nil {
		t.Fatal("reproduce --table 5 on an empty data directory succeeded")
	}
	for _, want := range []string{"RAF-DB", "not in " + dir, "data/README.md", "without --data-dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, _, err := runCLI(t, "reproduce", "--table", "2"); err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("--table without --data-dir: %v", err)
	}
	if _, _, err := runCLI(t, "reproduce", "--data-dir", dir, "--table", "9"); err == nil || !strings.Contains(err.Error(), "tables 1-7") {
		t.Errorf("--table 9: %v", err)
	}
	if _, _, err := runCLI(t, "reproduce", "--variants", "bogus", "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("--variants bogus: %v", err)
	}
}

func TestExportBadFormat(t *testing.T) {
	if _, _, err := runCLI(t, "export", "--format", "docx", "x.ipynb"); err == nil || !strings.Contains(err.Error(), "docx") {
		t.Errorf("--format docx: %v", err)
	}
}

// --dsa takes on or off; DSA is DM only, so --distill dd turns the
// synthetic default's DSA off (and refuses --dsa on) instead of failing in
// the distillation stage.
func TestReproduceDSAFlag(t *testing.T) {
	if _, _, err := runCLI(t, "reproduce", "--quick", "--dsa", "maybe", "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "--dsa") {
		t.Errorf("--dsa maybe: %v, want a refusal naming --dsa", err)
	}
	if _, _, err := runCLI(t, "reproduce", "--quick", "--distill", "dd", "--dsa", "on", "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "DM only") {
		t.Errorf("--distill dd --dsa on: %v, want a refusal saying DSA is DM only", err)
	}
	if testing.Short() {
		t.Skip("-short: not running the quick DD pipeline")
	}
	out := t.TempDir()
	stdout, stderr, err := runCLI(t, "reproduce", "--quick", "--distill", "dd", "--distill-iters", "1", "--variants", "das", "--seeds", "1", "--out", out)
	if err != nil {
		t.Fatalf("reproduce --quick --distill dd: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "+DAS") {
		t.Errorf("reproduce --distill dd printed no +DAS row:\n%s", stdout)
	}
}
