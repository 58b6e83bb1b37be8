package nb

import (
	"errors"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb/experiment"
)

// A table notebook's paper cell shows every row of the paper's table,
// previous works included, under a caption that says whose numbers they are.
func TestShowPaperTable(t *testing.T) {
	d, rec, _ := notebook()
	if err := d.ShowPaperTable(5); err != nil {
		t.Fatal(err)
	}
	if len(rec.markdown) != 1 || !strings.Contains(rec.markdown[0], "The paper's Table 5") || len(rec.html) != 1 {
		t.Fatalf("markdown %q, %d HTML outputs", rec.markdown, len(rec.html))
	}
	tab, _ := experiment.PaperTableN(5)
	if got := strings.Count(rec.html[0], "<tr>") - 1; got != len(tab.Rows) {
		t.Errorf("%d rows shown, the paper's table has %d", got, len(tab.Rows))
	}
	for _, want := range []string{"Zavarez", "57.28", "previous work"} {
		if !strings.Contains(rec.html[0], want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if err := d.ShowPaperTable(0); err == nil {
		t.Error("ShowPaperTable(0) succeeded")
	}
}

// The comparison cell shows the paper's rows beside fernb's, the figure,
// and for a synthetic run what real data and command fill in fernb's rows.
func TestShowComparison(t *testing.T) {
	pt, _ := experiment.PaperTableN(1)
	cfg := experiment.SyntheticConfig(t.TempDir(), true)
	runs := []experiment.RunResult{{Variant: experiment.Baseline, Test: "lab test", Seed: 1, Accuracy: 0.5},
		{Variant: experiment.DAS, Test: "lab test", Seed: 1, Accuracy: 0.6}}
	res := &experiment.Results{Synthetic: true, Paper: &pt, Config: &cfg, Model: cfg.Model, Epochs: 4,
		Summaries: experiment.Summarize(runs)}
	d, rec, _ := notebook()
	if err := d.ShowComparison(res); err != nil {
		t.Fatal(err)
	}
	if len(rec.html) != 1 || len(rec.pngs) != 1 || len(rec.markdown) != 1 {
		t.Fatalf("%d tables, %d figures, %d texts; want 1 each", len(rec.html), len(rec.pngs), len(rec.markdown))
	}
	for _, want := range []string{"86.55", "fernb, synthetic stand-in", "what differs", "input: 32x32x1"} {
		if !strings.Contains(rec.html[0], want) {
			t.Errorf("comparison lacks %q", want)
		}
	}
	if !strings.Contains(rec.markdown[0], "--table 1") || !strings.Contains(rec.markdown[0], "RAF-DB") {
		t.Errorf("no data help: %q", rec.markdown[0])
	}
	res.Paper = nil
	if err := d.ShowComparison(res); err == nil {
		t.Error("ShowComparison without a paper table succeeded")
	}
}

func TestMustCheck(t *testing.T) {
	if Must(3, nil) != 3 {
		t.Error("Must changed its value")
	}
	boom := errors.New("boom")
	for name, f := range map[string]func(){"Must": func() { Must(0, boom) }, "Check": func() { Check(boom) }} {
		func() {
			defer func() {
				if r := recover(); r != boom {
					t.Errorf("%s panicked with %v, want the error", name, r)
				}
			}()
			f()
		}()
	}
	Check(nil)
}
