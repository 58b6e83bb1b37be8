package experiment

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The notebooks built on this package follow the repository's convention:
// nbformat 4 with the gonb-fernb kernel, committed without outputs, a
// parameters cell first that reads FERNB_QUICK, and (tables) the paper's
// numbers shown next to the computed ones. Executing them is the notebook
// package's test.
func TestNotebookConventions(t *testing.T) {
	dir := filepath.Join("..", "..", "notebooks")
	want := []string{"01_data", "02_primitive_learner", "03_centroids_and_selection", "04_distillation",
		"05_training_with_auxiliary", "06_evaluation", "figures", "table1_rafdb", "table2_fer2013", "table3_ckplus",
		"table4_cross_ckplus", "table5_cross_jaffe", "table6_cross_mmi", "table7_cross_fer2013"}
	for _, name := range want {
		b, err := os.ReadFile(filepath.Join(dir, name+".ipynb"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var nb struct {
			NBFormat int `json:"nbformat"`
			Metadata struct {
				KernelSpec struct{ Name string } `json:"kernelspec"`
			} `json:"metadata"`
			Cells []struct {
				Type    string            `json:"cell_type"`
				Source  []string          `json:"source"`
				Outputs []json.RawMessage `json:"outputs"`
			} `json:"cells"`
		}
		if err := json.Unmarshal(b, &nb); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if nb.NBFormat != 4 || nb.Metadata.KernelSpec.Name != "gonb-fernb" {
			t.Errorf("%s: nbformat %d, kernel %q", name, nb.NBFormat, nb.Metadata.KernelSpec.Name)
		}
		var code []string
		for _, c := range nb.Cells {
			if len(c.Outputs) > 0 {
				t.Errorf("%s: committed with outputs", name)
			}
			if c.Type == "code" {
				code = append(code, strings.Join(c.Source, ""))
			}
		}
		if len(code) < 2 || !strings.Contains(code[0], `os.Getenv("FERNB_QUICK") == "1"`) || strings.HasPrefix(code[0], "%%") {
			t.Errorf("%s: the first code cell must be the parameters cell reading FERNB_QUICK", name)
		}
		all := strings.Join(code, "\n")
		// The helpers notebooks once copied live in package nb, once.
		for _, helper := range []string{"func must[", "func check(", "func open(", "func load("} {
			if strings.Contains(all, helper) {
				t.Errorf("%s: defines %s...; use nb.Must, nb.Check, nb.Open, nb.Load", name, helper)
			}
		}
		if !strings.Contains(all, "nb.Show") {
			t.Errorf("%s: shows nothing", name)
		}
		if strings.HasPrefix(name, "table") {
			for _, call := range []string{"nb.ShowPaperTable(table)", "nb.RunTable(ctx, table, dataDir, quick)", "nb.ShowComparison(nb.Must(nb.TableResults(table, dataDir, quick)))"} {
				if !strings.Contains(all, call) {
					t.Errorf("%s: a table notebook shows the paper's table, runs fernb's rows and shows both side by side; it lacks %s", name, call)
				}
			}
		}
		if strings.Contains(all, "nb.ShowPlot") && !strings.Contains(all, `.svg"`) {
			t.Errorf("%s: figures are not also written as SVG", name)
		}
	}
}
