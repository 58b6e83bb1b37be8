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
