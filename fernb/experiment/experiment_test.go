package experiment

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
)

func TestMeanStd(t *testing.T) {
	m, s := MeanStd([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if m != 5 || math.Abs(s-2.138089935299395) > 1e-12 {
		t.Errorf("MeanStd = %v, %v; want 5, 2.1381 (sample std)", m, s)
	}
	if m, s := MeanStd([]float64{3}); m != 3 || s != 0 {
		t.Errorf("one value: %v, %v; want 3, 0", m, s)
	}
	if m, _ := MeanStd(nil); !math.IsNaN(m) {
		t.Errorf("no values: mean %v, want NaN", m)
	}
}

func run(v Variant, test string, seed int64, acc float64, conf [][]int) RunResult {
	return RunResult{Variant: v, Test: test, Seed: seed, Fold: "test", Accuracy: acc, MeanClassAccuracy: acc,
		Classes: []string{"angry", "happy"}, Confusion: conf}
}

func TestSummarize(t *testing.T) {
	runs := []RunResult{
		run(DAS, "lab", 1, 0.5, [][]int{{1, 1}, {0, 2}}),
		run(Baseline, "lab", 1, 0.25, [][]int{{1, 0}, {3, 0}}),
		run(Baseline, "wild", 1, 0.75, [][]int{{1, 0}, {1, 2}}),
		run(Baseline, "lab", 2, 0.75, [][]int{{2, 0}, {1, 1}}),
	}
	sums := Summarize(runs)
	if len(sums) != 3 {
		t.Fatalf("got %d summaries, want 3: %+v", len(sums), sums)
	}
	// Variant order first (baseline before +DAS), then test order.
	if sums[0].Variant != Baseline || sums[0].Test != "lab" || sums[1].Test != "wild" || sums[2].Variant != DAS {
		t.Errorf("order: %v/%s %v/%s %v/%s", sums[0].Variant, sums[0].Test, sums[1].Variant, sums[1].Test, sums[2].Variant, sums[2].Test)
	}
	b := sums[0]
	if b.Runs != 2 || b.Mean != 50 || math.Abs(b.Std-math.Sqrt(2*25*25)) > 1e-9 {
		t.Errorf("baseline/lab: runs %d mean %v std %v; want 2, 50, 35.36", b.Runs, b.Mean, b.Std)
	}
	want := [][]int{{3, 0}, {4, 1}}
	if got, _ := json.Marshal(b.Confusion); string(got) != "[[3,0],[4,1]]" {
		t.Errorf("summed confusion %s, want %v", got, want)
	}
	// Runs that disagree on the classes give no summed matrix.
	odd := run(Baseline, "lab", 3, 0.5, [][]int{{1}})
	odd.Classes = []string{"angry"}
	if s := Summarize(append(runs, odd)); s[0].Confusion != nil {
		t.Errorf("mixed class lists summed into %v", s[0].Confusion)
	}
}

func TestTableMarkdownAndJSON(t *testing.T) {
	runs := []RunResult{run(Baseline, "lab", 1, 0.5, nil), run(Baseline, "lab", 2, 0.7, nil), run(VAS, "lab", 1, 0.8, nil)}
	pt, err := PaperTableN(2)
	if err != nil {
		t.Fatal(err)
	}
	r := &Results{Title: "t", Synthetic: true, Runs: runs, Summaries: Summarize(runs), Paper: &pt, Seeds: []int64{1, 2}}
	md := r.MarkdownTable()
	for _, want := range []string{"| baseline", "60.0 ± 14.1 (n=2)", "80.0 (n=1)", "paper: VGG-F on FER-2013 (%)", "71.79", "72.08"} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "+DAS") {
		t.Errorf("table has a +DAS row with no runs:\n%s", md)
	}
	lines := strings.Split(strings.TrimSpace(md), "\n")
	if len(lines) != 4 {
		t.Errorf("want header, rule and 2 rows, got %d lines:\n%s", len(lines), md)
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != 3 || back.Summaries[0].Mean != 60 || back.Paper.Rows[2].Accuracy != 73.27 || !back.Synthetic {
		t.Errorf("round trip lost data: %+v", back)
	}
}

func TestPaperTables(t *testing.T) {
	tabs := PaperTables()
	if len(tabs) != 7 {
		t.Fatalf("%d tables, want 7", len(tabs))
	}
	for i, tab := range tabs {
		if tab.Table != i+1 || tab.Setting == "" {
			t.Errorf("table %d: %+v", i+1, tab)
		}
		// A table either records numbers or says it does not.
		if len(tab.Rows) == 0 && tab.Note == "" {
			t.Errorf("table %d has neither rows nor a note", tab.Table)
		}
	}
	if _, err := PaperTableN(8); err == nil {
		t.Error("PaperTableN(8) succeeded")
	}
}

// subjects builds tensors of n images, image i of subject i%subj and class
// i%classes.
func subjects(n, subj, classes int) *dataset.Tensors {
	t := dataset.NewTensors(n, 2, 2, 1)
	t.Subjects = make([]string, n)
	t.Refs = make([]string, n)
	for i := range n {
		t.Labels[i] = fernb.Label(i % classes)
		t.Subjects[i] = string(rune('A' + i%subj))
		t.Refs[i] = string(rune('a'+i%26)) + "/" + string(rune('0'+i/26))
		t.X[4*i] = float32(i)
	}
	return t
}

func TestFoldsSubjectIndependent(t *testing.T) {
	data := subjects(60, 12, 6)
	for _, p := range []Protocol{{Kind: KFold, K: 4, Seed: 3}, {Kind: LOSO}} {
		folds, err := p.Folds(data, nil)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		wantFolds := map[ProtocolKind]int{KFold: 4, LOSO: 12}[p.Kind]
		if len(folds) != wantFolds {
			t.Errorf("%s: %d folds, want %d", p, len(folds), wantFolds)
		}
		tested := map[float32]int{}
		for _, f := range folds {
			if f.Train.N+f.Test.N != data.N {
				t.Errorf("%s fold %s: %d + %d images, want %d", p, f.Name, f.Train.N, f.Test.N, data.N)
			}
			inTrain := map[string]bool{}
			for _, s := range f.Train.Subjects {
				inTrain[s] = true
			}
			for i, s := range f.Test.Subjects {
				if inTrain[s] {
					t.Errorf("%s fold %s: subject %s in train and test", p, f.Name, s)
				}
				tested[f.Test.X[4*i]]++
			}
		}
		if len(tested) != data.N {
			t.Errorf("%s: %d images tested, want each of %d exactly once", p, len(tested), data.N)
		}
		for id, c := range tested {
			if c != 1 {
				t.Errorf("%s: image %v tested %d times", p, id, c)
			}
		}
	}
	noSubj := subjects(10, 2, 2)
	noSubj.Subjects = nil
	if _, err := (Protocol{Kind: KFold}).Folds(noSubj, nil); err == nil || !strings.Contains(err.Error(), "subject") {
		t.Errorf("k-fold without subjects: err %v", err)
	}
}

func TestFoldsCross(t *testing.T) {
	train := subjects(20, 4, 4) // classes 0..3
	test := subjects(30, 5, 6)  // classes 0..5
	folds, err := (Protocol{Kind: Cross}).Folds(train, test)
	if err != nil {
		t.Fatal(err)
	}
	if len(folds) != 1 || folds[0].Test.N != 20 {
		t.Fatalf("cross: %d folds, test %d images; want 1 fold of the 20 shared-class images", len(folds), folds[0].Test.N)
	}
	for _, l := range folds[0].Test.Labels {
		if l > 3 {
			t.Errorf("cross test keeps class %v the training set lacks", l)
		}
	}
	if !strings.Contains(folds[0].Note, "sad 5, surprise 5") {
		t.Errorf("note does not name the dropped classes: %q", folds[0].Note)
	}
	one := subjects(10, 2, 1)
	if _, err := (Protocol{Kind: Cross}).Folds(one, test); err == nil {
		t.Error("cross with one shared class succeeded")
	}
	in, err := (Protocol{Kind: Inner}).Folds(train, test)
	if err != nil || len(in) != 1 || in[0].Test != test {
		t.Errorf("inner: %v %v", in, err)
	}
}

func TestFindDataMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := TableConfig(1, dir, t.TempDir(), "")
	if err == nil || !strings.Contains(err.Error(), "RAF-DB") {
		t.Fatalf("missing RAF-DB: err %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "RAF-DB"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "pool"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := TableConfig(1, dir, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Model.Name != "vgg-face" || cfg.Train.Epochs != 25 || cfg.Train.LR != 0.001 || cfg.Train.DecayEvery != 10 || cfg.Train.Momentum != 0.9 || cfg.Train.NoFlip {
		t.Errorf("table 1 defaults are not the paper's: model %s, train %+v", cfg.Model.Name, cfg.Train)
	}
	if _, err := TableConfig(3, dir, t.TempDir(), "fer-cnn"); err == nil || !strings.Contains(err.Error(), "CK+") {
		t.Errorf("table 3 without CK+: err %v", err)
	}
}

// TestPipelineTiny runs the whole pipeline on tiny synthetic data and checks
// what it writes, then runs it again and checks that the cache is reused.
func TestPipelineTiny(t *testing.T) {
	out := t.TempDir()
	cfg := SyntheticConfig(out, true)
	syn := func(name, spec string) Source { return Source{Name: name, Format: "synthetic", Path: spec} }
	cfg.Setup.Anchor = syn("anchor", "lab,n=105,seed=11")
	cfg.Setup.Pool = syn("pool", "pool,n=140,seed=14")
	cfg.Setup.Tests = []Test{{Source: syn("lab test", "lab,n=35,seed=12"), Kind: Inner}, {Source: syn("wild test", "wild,n=35,seed=13"), Kind: Cross}}
	cfg.Seeds = []int64{1}
	cfg.Train.Epochs = 2
	cfg.Distill.Iterations = 3
	cfg.Selection.Margin = 0.01
	var events int
	cfg.Progress = func(Event) { events++ }
	p, err := NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := p.Run(ctx)
	p.Close()
	if err != nil {
		t.Fatal(err)
	}
	if events == 0 {
		t.Error("no progress events")
	}
	if len(res.Runs) != 6 || len(res.Summaries) != 6 {
		t.Fatalf("%d runs and %d summaries, want 3 variants x 2 tests", len(res.Runs), len(res.Summaries))
	}
	for _, r := range res.Runs {
		if r.N != 35 || r.Accuracy < 0 || r.Accuracy > 1 || r.Epochs != 2 || len(r.Confusion) != len(r.Classes) {
			t.Errorf("run %+v", r)
		}
		total := 0
		for _, row := range r.Confusion {
			for _, v := range row {
				total += v
			}
		}
		if total != r.N {
			t.Errorf("%s on %s: confusion counts %d images, want %d", r.Variant, r.Test, total, r.N)
		}
		if r.Variant == DAS && r.AuxImages != 7 && r.AuxImages != len(res.Selection.Counts) {
			t.Errorf("+DAS trained with %d auxiliary images", r.AuxImages)
		}
	}
	if res.Selection == nil || res.Selection.Selected == 0 || res.Selection.Precision == nil {
		t.Errorf("selection not recorded: %+v", res.Selection)
	}
	if !res.Synthetic || !strings.Contains(res.Note, "not the paper's") {
		t.Errorf("synthetic results not labelled as such: %q", res.Note)
	}
	for _, f := range []string{"results.json", "results.md", "report.md", "figures/accuracy.png", "figures/accuracy.svg", "figures/fig4_distilled.png", "figures/fig3_selected_samples.svg"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("missing output %s: %v", f, err)
		}
	}
	rep, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(rep), "SYNTHETIC STAND-IN") || !strings.Contains(string(rep), "| +DAS") {
		t.Errorf("report.md lacks the stand-in note or the table:\n%s", rep)
	}

	// A second run reuses every cached artefact and gives the same numbers.
	p2, err := NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	res2, err := p2.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Runs {
		a, b := res.Runs[i], res2.Runs[i]
		if a.Checkpoint != b.Checkpoint || a.Accuracy != b.Accuracy {
			t.Errorf("re-run differs: %s/%s %v (%s) vs %v (%s)", a.Variant, a.Test, a.Accuracy, a.Checkpoint, b.Accuracy, b.Checkpoint)
		}
	}
	if res2.Distill.Dir != res.Distill.Dir || res2.Selection.Manifest != res.Selection.Manifest {
		t.Error("re-run did not reuse the VAS and DAS")
	}

	// Another margin re-selects from the cached pool scores.
	st0, err := os.Stat(p2.ScoresPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Selection.Margin = 0.02
	p3, err := NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p3.Close()
	if err := p3.Select(ctx); err != nil {
		t.Fatal(err)
	}
	st1, err := os.Stat(p3.ScoresPath)
	if err != nil {
		t.Fatal(err)
	}
	if p3.ScoresPath != p2.ScoresPath || !st1.ModTime().Equal(st0.ModTime()) || st1.Size() != st0.Size() {
		t.Errorf("new margin rescored the pool: %s (%v) vs %s (%v)", p3.ScoresPath, st1.ModTime(), p2.ScoresPath, st0.ModTime())
	}
	if p3.Manifest == p2.Manifest {
		t.Error("new margin reused the old manifest")
	}
	for _, e := range p3.VASItems {
		if e.Margin < 0.02 {
			t.Errorf("entry %s kept with margin %v < 0.02", e.Ref, e.Margin)
		}
	}

	// A --limit run in the same output directory trains its own primitive
	// learner instead of resuming the full run's.
	cfg.Limit = 70
	p4, err := NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p4.Close()
	if err := p4.TrainPrimitive(ctx); err != nil {
		t.Fatalf("limited run next to a full one: %v", err)
	}
	if p4.PrimitiveDir == p2.PrimitiveDir || p4.Anchor.N > 70 {
		t.Errorf("limited run trained %d anchor images in %s (the full run's: %s)", p4.Anchor.N, p4.PrimitiveDir, p2.PrimitiveDir)
	}
}

// TestReportDistillation: the report's distillation section says the
// method, the images per class and whether DSA was used.
func TestReportDistillation(t *testing.T) {
	for _, dsa := range []bool{false, true} {
		r := &Results{Distill: &DistillInfo{Method: "dm", IPC: 1, Iterations: 60, DSA: dsa, FirstLoss: 50, LastLoss: 4.9, Seconds: 8}}
		rep := r.Report(nil)
		want := "DM: 1 image(s) per class after 60 outer iterations (8 s); loss 50 -> 4.9."
		if dsa {
			want = "DM with DSA augmentation: 1 image(s) per class"
		}
		if !strings.Contains(rep, "## Distillation (DAS)\n\n"+want) {
			t.Errorf("DSA %v: report lacks %q:\n%s", dsa, want, rep)
		}
	}
}
