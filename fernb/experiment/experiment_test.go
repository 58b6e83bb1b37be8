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
	"github.com/fernb/fernb/fernb/models"
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
	for _, want := range []string{"| baseline", "60.0 ± 14.1 (n=2)", "80.0 (n=1)", "paper VGG-F, anchor FER-2013 (%)", "71.79", "72.08",
		"lab: vs baseline (same seed)", "+30.0 (one pair)"} {
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
	if len(back.Runs) != 3 || back.Summaries[0].Mean != 60 || back.Paper.Rows[len(back.Paper.Rows)-2].Accuracy != 73.27 || !back.Synthetic ||
		back.Summaries[1].VsBaseline == nil || back.Summaries[1].VsBaseline.Mean != 30 {
		t.Errorf("round trip lost data: %+v", back)
	}
}

// A handful of the paper's numbers, checked against the transcription of
// its tables: every table, first and last rows, the two FER-2013 anchors,
// a previous work and the rows fernb compares with.
func TestPaperTables(t *testing.T) {
	tabs := PaperTables()
	if len(tabs) != 7 {
		t.Fatalf("%d tables, want 7", len(tabs))
	}
	rowsPer := []int{13, 15, 4, 8, 7, 7, 5}
	for i, tab := range tabs {
		if tab.Table != i+1 || tab.Setting == "" || tab.Protocol == "" || len(tab.Needs) == 0 {
			t.Errorf("table %d: %+v", i+1, tab)
		}
		if len(tab.Rows) != rowsPer[i] {
			t.Errorf("table %d has %d rows, the paper %d", tab.Table, len(tab.Rows), rowsPer[i])
		}
		for _, r := range tab.Rows {
			if r.Accuracy <= 0 || r.Accuracy >= 100 || r.Method == "" || r.Source == "" || r.Target == "" {
				t.Errorf("table %d: bad row %+v", tab.Table, r)
			}
			if r.Variant != "" && !r.Ours {
				t.Errorf("table %d: previous work %q measures a variant", tab.Table, r.Method)
			}
		}
	}
	find := func(table int, method, anchor string) PaperRow {
		t.Helper()
		tab, err := PaperTableN(table)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range tab.Rows {
			if r.Method == method && (anchor == "" || r.Anchor == anchor) {
				return r
			}
		}
		t.Fatalf("table %d has no row %q (anchor %q)", table, method, anchor)
		return PaperRow{}
	}
	for _, c := range []struct {
		table          int
		method, anchor string
		printed        string
		v              Variant
		backbone       string
	}{
		{1, "FSN", "", "81.10", "", ""},
		{1, "DAS + VGG-F (ours)", "", "86.55", DAS, "VGG-F"},
		{1, "ResNet-34 (baseline)", "", "84.63", Baseline, "ResNet-34"},
		{2, "VGG-F (baseline)", "", "71.79", Baseline, "VGG-F"},
		{2, "DAS + VGG-F (ours)", "FER-2013", "73.27", DAS, "VGG-F"},
		{2, "VAS + ResNet-34 (ours)", "RAF-DB 2.0", "70.31", VAS, "ResNet-34"},
		{2, "DLSVM", "", "71.2", "", ""},
		{3, "PAT-VGG-F-(gender,race)", "", "95.58", "", ""},
		{4, "DAS-MS1M + DAS-RAF + VGG-F", "", "79.41", "", "VGG-F"},
		{5, "DAS-RAF + VGG-F", "", "57.28", "", "VGG-F"},
		{6, "VGG-F (baseline)", "", "60.82", Baseline, "VGG-F"},
		{6, "DAS-MS1M", "", "63.34", DAS, ""},
		{7, "Mollahosseini", "", "34.0", "", ""},
		{7, "DAS-MS1M + VGG-F", "", "55.17", DAS, "VGG-F"},
	} {
		r := find(c.table, c.method, c.anchor)
		if r.Printed != c.printed || r.Variant != c.v || r.Backbone != c.backbone {
			t.Errorf("table %d %q: printed %q variant %q backbone %q; want %q %q %q", c.table, c.method, r.Printed, r.Variant, r.Backbone, c.printed, c.v, c.backbone)
		}
	}
	if r := find(4, "Mollahosseini", ""); !strings.Contains(r.Source, "MultiPIE") || r.Target != "CK+" || r.Ours {
		t.Errorf("table 4 Mollahosseini: %+v", r)
	}
	ps := Paper()
	if ps.InputSize != 224 || ps.Alignment != "MTCNN" || ps.Momentum != 0.9 || ps.LR != 0.001 || ps.DecayFactor != 0.1 ||
		ps.DecayEvery != 10 || ps.Epochs != 25 || ps.DASPerClass != 1 || ps.VASImages != 137769 {
		t.Errorf("the paper's setting: %+v", ps)
	}
	md := tabs[1].Markdown()
	for _, want := range []string{"The paper's Table 2", "| anchor", "RAF-DB 2.0", "72.00", "previous work", "224x224"} {
		if !strings.Contains(md, want) {
			t.Errorf("Table 2 as Markdown lacks %q:\n%s", want, md)
		}
	}
	if _, err := PaperTableN(8); err == nil {
		t.Error("PaperTableN(8) succeeded")
	}
}

func TestPairDiff(t *testing.T) {
	p, err := PairDiff([]float64{40, 42, 44, 46}, []float64{41, 45, 44, 50})
	if err != nil {
		t.Fatal(err)
	}
	// Differences 1, 3, 0, 4: mean 2, sample std sqrt(10/3), s.e. that / 2.
	if p.N != 4 || p.Mean != 2 || math.Abs(p.SE-math.Sqrt(10.0/3)/2) > 1e-12 || p.Wins != 3 || p.Losses != 0 {
		t.Errorf("PairDiff = %+v", p)
	}
	if !p.Separated() || p.String() != "+2.0 (s.e. 0.9), better in 3 of 4" {
		t.Errorf("separated %v, %q", p.Separated(), p)
	}
	if q, _ := PairDiff([]float64{1, 2, 3}, []float64{2, 1, 3.5}); q.Separated() {
		t.Errorf("%+v separated", q)
	}
	// Two pairs never separate, however small their spread.
	if q, _ := PairDiff([]float64{1, 2}, []float64{11, 12.1}); q.Separated() {
		t.Errorf("two pairs separated: %+v", q)
	}
	if _, err := PairDiff([]float64{1}, []float64{1, 2}); err == nil {
		t.Error("pairing unequal lengths succeeded")
	}
	// Summarize pairs by seed, not by position: seed 2's baseline is
	// missing, so only seed 1 and 3 pair.
	runs := []RunResult{run(Baseline, "w", 1, 0.40, nil), run(Baseline, "w", 3, 0.50, nil),
		run(DAS, "w", 3, 0.55, nil), run(DAS, "w", 2, 0.90, nil), run(DAS, "w", 1, 0.44, nil)}
	s := Summarize(runs)
	if d := s[1].VsBaseline; s[0].VsBaseline != nil || d == nil || d.N != 2 || math.Abs(d.Mean-4.5) > 1e-9 || d.Wins != 2 {
		t.Errorf("paired by seed: %+v", d)
	}
	r := &Results{Summaries: s}
	if v := r.Verdicts(); len(v) != 1 || !strings.Contains(v[0], "+DAS vs baseline on w") || !strings.Contains(v[0], "too few") {
		t.Errorf("verdicts %q", v)
	}
}

// The comparison puts the paper's own rows beside fernb's rows of the
// table's protocol (the wild test for a cross-dataset table), each fernb row
// saying what differs from the paper.
func TestComparison(t *testing.T) {
	pt, _ := PaperTableN(4)
	cfg := SyntheticConfig(t.TempDir(), true)
	runs := []RunResult{run(Baseline, "lab test", 1, 0.8, nil), run(Baseline, "wild test", 1, 0.4, nil), run(DAS, "wild test", 1, 0.45, nil)}
	r := &Results{Synthetic: true, Paper: &pt, Config: &cfg, Model: cfg.Model, Epochs: 4, Summaries: Summarize(runs),
		Data:      []DataInfo{{Role: "anchor", Name: "synthetic lab (anchor)"}, {Role: "pool", Name: "synthetic pool", Images: 700}},
		Selection: &SelectionInfo{Selected: 90}}
	h, rows := r.ComparisonRows()
	if h[len(h)-1] != "what differs from the paper" {
		t.Fatalf("header %q", h)
	}
	var fernbRows, paperRows int
	for _, row := range rows {
		switch {
		case row[1] == "paper":
			paperRows++
		case strings.HasPrefix(row[1], "fernb"):
			fernbRows++
			if row[3] != "wild test" {
				t.Errorf("table 4 is cross-dataset, but a fernb row is on %q", row[3])
			}
			diff := row[len(row)-1]
			for _, want := range []string{"data set: synthetic", "backbone: fer-cnn (width x0.5)", "input: 32x32x1", "epochs: 4"} {
				if !strings.Contains(diff, want) {
					t.Errorf("%s: differences %q lack %q", row[0], diff, want)
				}
			}
			if (row[0] == "+DAS") != strings.Contains(diff, "pool: synthetic pool, 700 images (VAS 90)") {
				t.Errorf("%s: pool difference %q", row[0], diff)
			}
		}
	}
	if paperRows != len(pt.Own()) || paperRows != 1 || fernbRows != 2 {
		t.Errorf("%d paper rows (want %d), %d fernb rows (want 2):\n%s", paperRows, len(pt.Own()), fernbRows, Markdown(h, rows))
	}
	if _, err := r.ComparisonFigure(); err != nil {
		t.Error(err)
	}
	// On the paper's data, backbone, input and epochs nothing is listed.
	real := &Results{Paper: &pt, Model: models.Config{Name: "vgg-face", Height: 224, Width: 224, Channels: 3}, Epochs: 25,
		Data: []DataInfo{{Role: "anchor", Name: "RAF-DB"}}}
	if d := real.Differences(Baseline, "CK+"); len(d) != 0 {
		t.Errorf("the paper's setting differs in %q", d)
	}
	if d := real.Differences(Baseline, "JAFFE"); len(d) != 1 || d[0] != "data set: RAF-DB -> JAFFE" {
		t.Errorf("tested on JAFFE for Table 4: %q", d)
	}
	if got := thousands(5822653); got != "5,822,653" {
		t.Errorf("thousands = %q", got)
	}
	help, err := DataHelp(6)
	if err != nil || !strings.Contains(help, "RAF-DB") || !strings.Contains(help, "MMI") || !strings.Contains(help, "--table 6") {
		t.Errorf("DataHelp(6) = %q, %v", help, err)
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
