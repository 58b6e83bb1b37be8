package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/fernb/fernb/fernb/internal/mdtable"

	"github.com/fernb/fernb/fernb/internal/atomicfile"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/train"
)

// Variant is one arm of the paper's comparison.
type Variant string

// The three variants: the anchor set alone, anchor + the selected pool
// samples (VAS), anchor + the distilled samples (DAS).
const (
	Baseline Variant = "baseline"
	VAS      Variant = "+VAS"
	DAS      Variant = "+DAS"
)

// Variants lists the variants in table order.
func Variants() []Variant { return []Variant{Baseline, VAS, DAS} }

// ParseVariant reads a variant name ("baseline", "vas", "+vas", "das", "+DAS").
func ParseVariant(s string) (Variant, error) {
	switch strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "+")) {
	case "baseline", "base":
		return Baseline, nil
	case "vas":
		return VAS, nil
	case "das":
		return DAS, nil
	}
	return "", fmt.Errorf("experiment: unknown variant %q (want baseline, vas or das)", s)
}

// RunResult is one trained model evaluated on one test set: one fold of a
// protocol, one seed, one variant.
type RunResult struct {
	Variant Variant `json:"variant"`
	Test    string  `json:"test"`
	Fold    string  `json:"fold"`
	Seed    int64   `json:"seed"`
	// Accuracy and MeanClassAccuracy are fractions (0..1).
	Accuracy          float64  `json:"accuracy"`
	MeanClassAccuracy float64  `json:"mean_class_accuracy"`
	N                 int      `json:"n"`
	Classes           []string `json:"classes"`
	// Confusion rows are true classes, columns predicted, over Classes.
	Confusion [][]int `json:"confusion"`
	// Dropped names the classes of the test set the model does not know.
	Dropped []train.DroppedClass `json:"dropped,omitempty"`
	// TrainImages is the number of anchor images trained on, AuxImages the
	// auxiliary set's size (VAS images or distilled images).
	TrainImages int `json:"train_images"`
	AuxImages   int `json:"aux_images,omitempty"`
	Epochs      int `json:"epochs"`
	// TrainSeconds is the summed per-epoch training wall time of the model
	// (shared by every test it was evaluated on).
	TrainSeconds float64 `json:"train_seconds"`
	Checkpoint   string  `json:"checkpoint,omitempty"`
}

// Summary aggregates the runs of one variant on one test set.
type Summary struct {
	Variant Variant `json:"variant"`
	Test    string  `json:"test"`
	// Runs is the number of (fold, seed) runs; Mean and Std (sample standard
	// deviation, 0 for one run) are over their accuracies, in percent.
	Runs int     `json:"runs"`
	Mean float64 `json:"mean_percent"`
	Std  float64 `json:"std_percent"`
	// PerRun lists every run's accuracy in percent, in run order.
	PerRun []float64 `json:"per_run_percent"`
	// MeanClass is the mean over runs of the mean per-class accuracy (%).
	MeanClass float64 `json:"mean_class_percent"`
	// Classes and Confusion are summed over the runs (nil when the runs do
	// not share one class list).
	Classes   []string `json:"classes,omitempty"`
	Confusion [][]int  `json:"confusion,omitempty"`
	// VsBaseline compares this variant with the baseline run of the same
	// test, fold and seed (nil for the baseline, or with no such runs).
	VsBaseline *Paired `json:"vs_baseline,omitempty"`
}

// MeanStd returns the mean and the sample standard deviation (n-1 in the
// denominator; 0 for fewer than two values) of xs. NaN for no values.
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// Paired is a paired comparison: the differences other[i] - base[i] of
// runs that share everything but the compared variable (test, fold and
// seed), in percentage points. Pairing removes the seed-to-seed spread both
// share, so a gain much smaller than either variant's standard deviation can
// still be told from zero.
type Paired struct {
	N int `json:"n"`
	// Mean is the mean difference, SE its standard error (the sample
	// standard deviation of the differences over sqrt(N); 0 for one pair).
	Mean float64 `json:"mean_points"`
	SE   float64 `json:"se_points"`
	// Wins counts the pairs where other beat base, Losses where it lost.
	Wins   int `json:"wins"`
	Losses int `json:"losses"`
}

// PairDiff compares other with base pair by pair (same length, same order).
func PairDiff(base, other []float64) (Paired, error) {
	if len(base) != len(other) {
		return Paired{}, fmt.Errorf("experiment: pairing %d values with %d", len(base), len(other))
	}
	if len(base) == 0 {
		return Paired{}, fmt.Errorf("experiment: no pairs to compare")
	}
	d := make([]float64, len(base))
	p := Paired{N: len(base)}
	for i := range base {
		d[i] = other[i] - base[i]
		switch {
		case d[i] > 0:
			p.Wins++
		case d[i] < 0:
			p.Losses++
		}
	}
	var sd float64
	p.Mean, sd = MeanStd(d)
	p.SE = sd / math.Sqrt(float64(len(d)))
	return p, nil
}

// MinPairs is the fewest pairs whose standard error Separated trusts: with
// two, the spread of the differences is itself a guess.
const MinPairs = 3

// Separated reports whether the mean difference is at least two standard
// errors from zero over at least MinPairs pairs: the rough line between a
// difference the seeds show and one they could have made by chance.
func (p Paired) Separated() bool {
	return p.N >= MinPairs && p.SE > 0 && math.Abs(p.Mean) >= 2*p.SE
}

// String formats p as "+2.3 (s.e. 1.1), better in 8 of 10".
func (p Paired) String() string {
	if p.N == 1 {
		return fmt.Sprintf("%+.1f (one pair)", p.Mean)
	}
	return fmt.Sprintf("%+.1f (s.e. %.1f), better in %d of %d", p.Mean, p.SE, p.Wins, p.N)
}

// pairWithBaseline pairs the runs of a variant with the baseline's of the
// same test, fold and seed.
func pairWithBaseline(runs, all []RunResult) *Paired {
	base := map[string]float64{}
	for _, r := range all {
		if r.Variant == Baseline {
			base[r.Test+"\x00"+r.Fold+"\x00"+fmt.Sprint(r.Seed)] = 100 * r.Accuracy
		}
	}
	var b, o []float64
	for _, r := range runs {
		if v, ok := base[r.Test+"\x00"+r.Fold+"\x00"+fmt.Sprint(r.Seed)]; ok {
			b, o = append(b, v), append(o, 100*r.Accuracy)
		}
	}
	p, err := PairDiff(b, o)
	if err != nil {
		return nil
	}
	return &p
}

// Summarize groups runs by (variant, test), in variant order then in the
// order tests first appear, and aggregates each group.
func Summarize(runs []RunResult) []Summary {
	type key struct {
		v    Variant
		test string
	}
	var keys []key
	groups := map[key][]RunResult{}
	for _, r := range runs {
		k := key{r.Variant, r.Test}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	testOrder := map[string]int{}
	for _, k := range keys {
		if _, ok := testOrder[k.test]; !ok {
			testOrder[k.test] = len(testOrder)
		}
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if vi, vj := variantRank(keys[i].v), variantRank(keys[j].v); vi != vj {
			return vi < vj
		}
		return testOrder[keys[i].test] < testOrder[keys[j].test]
	})
	out := make([]Summary, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		s := Summary{Variant: k.v, Test: k.test, Runs: len(g)}
		var mc []float64
		for _, r := range g {
			s.PerRun = append(s.PerRun, 100*r.Accuracy)
			mc = append(mc, 100*r.MeanClassAccuracy)
		}
		s.Mean, s.Std = MeanStd(s.PerRun)
		s.MeanClass, _ = MeanStd(mc)
		s.Classes, s.Confusion = sumConfusion(g)
		if k.v != Baseline {
			s.VsBaseline = pairWithBaseline(g, runs)
		}
		out = append(out, s)
	}
	return out
}

func variantRank(v Variant) int {
	for i, w := range Variants() {
		if v == w {
			return i
		}
	}
	return len(Variants())
}

// sumConfusion adds the confusion matrices of runs that share one class
// list; it returns nils when they do not (folds missing a class).
func sumConfusion(runs []RunResult) ([]string, [][]int) {
	if len(runs) == 0 {
		return nil, nil
	}
	classes := runs[0].Classes
	k := len(classes)
	sum := make([][]int, k)
	for i := range sum {
		sum[i] = make([]int, k)
	}
	for _, r := range runs {
		if strings.Join(r.Classes, ",") != strings.Join(classes, ",") || len(r.Confusion) != k {
			return nil, nil
		}
		for i := range r.Confusion {
			if len(r.Confusion[i]) != k {
				return nil, nil
			}
			for j, v := range r.Confusion[i] {
				sum[i][j] += v
			}
		}
	}
	return classes, sum
}

// DataInfo describes one data set a results file used.
type DataInfo struct {
	Role   string         `json:"role"` // anchor, test, pool
	Name   string         `json:"name"`
	Format string         `json:"format"`
	Path   string         `json:"path"`
	Split  string         `json:"split,omitempty"`
	Images int            `json:"images"`
	Counts map[string]int `json:"counts,omitempty"`
	Note   string         `json:"note,omitempty"`
}

// Results is the record of one experiment: everything needed to read its
// numbers (and to rerun it), written as results.json.
type Results struct {
	Title string `json:"title"`
	// Synthetic is true when the data is the embedded synthetic stand-in;
	// Note then says that the numbers are not the paper's.
	Synthetic bool   `json:"synthetic"`
	Note      string `json:"note"`
	Quick     bool   `json:"quick,omitempty"`
	// Table is the paper's table this run sets up (0: the synthetic
	// pipeline).
	Table    int      `json:"table,omitempty"`
	Protocol Protocol `json:"protocol"`
	// Config is the whole configuration the run was made with.
	Config *Config       `json:"config,omitempty"`
	Seeds  []int64       `json:"seeds"`
	Data   []DataInfo    `json:"data"`
	Model  models.Config `json:"model"`
	Train  train.Config  `json:"train"`
	// Epochs is the number of training epochs of every variant.
	Epochs    int            `json:"epochs"`
	Selection *SelectionInfo `json:"selection,omitempty"`
	Distill   *DistillInfo   `json:"distill,omitempty"`
	Backend   string         `json:"backend"`
	Env       fernb.Env      `json:"env"`
	Started   string         `json:"started"`
	// WallSeconds is the wall time of the whole run, StageSeconds per stage
	// (cached stages cost almost nothing on a re-run).
	WallSeconds  float64            `json:"wall_seconds"`
	StageSeconds map[string]float64 `json:"stage_seconds"`
	Runs         []RunResult        `json:"runs"`
	Summaries    []Summary          `json:"summaries"`
	Paper        *PaperTable        `json:"paper,omitempty"`
	Figures      []string           `json:"figures,omitempty"`
}

// SelectionInfo records the VAS: rule, counts and (when the pool has a
// hidden truth, as the synthetic pool has) its precision.
type SelectionInfo struct {
	Manifest  string           `json:"manifest"`
	Rule      string           `json:"rule"`
	Margin    float64          `json:"margin"`
	Cap       int              `json:"cap,omitempty"`
	Scored    int64            `json:"scored"`
	Selected  int64            `json:"selected"`
	Counts    map[string]int64 `json:"counts"`
	Precision *float64         `json:"precision,omitempty"`
}

// DistillInfo records the DAS.
type DistillInfo struct {
	Dir        string `json:"dir"`
	Method     string `json:"method"`
	IPC        int    `json:"ipc"`
	Iterations int    `json:"iterations"`
	// DSA says DM matched under differentiable Siamese augmentation (and
	// the +DAS models trained on the images under it).
	DSA       bool    `json:"dsa,omitempty"`
	FirstLoss float64 `json:"first_loss"`
	LastLoss  float64 `json:"last_loss"`
	Seconds   float64 `json:"seconds"`
}

// WriteJSON writes r to path atomically (temp file and rename).
func (r *Results) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("experiment: encoding results: %w", err)
	}
	return writeAtomic(path, append(b, '\n'))
}

// ReadResults reads a results.json written by WriteJSON.
func ReadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("experiment: %s: %w", path, err)
	}
	return &r, nil
}

func writeAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, atomicfile.Mode); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	return nil
}

// testSets returns the test sets of sums in order of first appearance.
func testSets(sums []Summary) []string {
	var tests []string
	seen := map[string]bool{}
	for _, s := range sums {
		if !seen[s.Test] {
			seen[s.Test] = true
			tests = append(tests, s.Test)
		}
	}
	return tests
}

// TableRows returns the results table: one row per variant; per test set
// a column of "mean ± std (n runs)" in percent and one of the paired
// difference to the baseline of the same seed and fold (Paired); with the
// paper's table given, a column for each of the paper's own models that
// measure these variants, labelled as the paper's.
func TableRows(sums []Summary, paper *PaperTable) (header []string, rows [][]string) {
	tests := testSets(sums)
	header = []string{"variant"}
	paired := false
	for _, s := range sums {
		paired = paired || s.VsBaseline != nil
	}
	for _, t := range tests {
		header = append(header, t+" (fernb, %)")
		if paired {
			header = append(header, t+": vs baseline (same seed)")
		}
	}
	var paperCols []string
	if paper != nil {
		for _, r := range paper.Own() {
			if !slices.Contains(paperCols, r.Series()) {
				paperCols = append(paperCols, r.Series())
			}
		}
		for _, c := range paperCols {
			header = append(header, c+" (%)")
		}
	}
	byKey := map[string]Summary{}
	for _, s := range sums {
		byKey[string(s.Variant)+"\x00"+s.Test] = s
	}
	for _, v := range Variants() {
		row := []string{string(v)}
		any := false
		for _, t := range tests {
			s, ok := byKey[string(v)+"\x00"+t]
			cell, diff := "", ""
			if ok {
				any = true
				cell = FormatMeanStd(s)
				if s.VsBaseline != nil {
					diff = s.VsBaseline.String()
				}
			}
			row = append(row, cell)
			if paired {
				row = append(row, diff)
			}
		}
		for _, c := range paperCols {
			cell := ""
			for _, r := range paper.Own() {
				if r.Variant == v && r.Series() == c {
					cell = r.Printed
				}
			}
			row = append(row, cell)
		}
		if any {
			rows = append(rows, row)
		}
	}
	return header, rows
}

// Verdicts says, for every variant compared with the baseline, whether the
// seeds separate it from the baseline: one line per (variant, test set).
func (r *Results) Verdicts() []string {
	var out []string
	for _, s := range r.Summaries {
		p := s.VsBaseline
		if p == nil {
			continue
		}
		verdict := "within the noise of these seeds (less than two standard errors from zero)"
		switch {
		case p.N < MinPairs:
			verdict = fmt.Sprintf("%d pair(s): too few to tell a gain from seed-to-seed noise (run %d seeds or more)", p.N, MinPairs)
		case p.Separated() && p.Mean > 0:
			verdict = "better than the baseline by at least two standard errors"
		case p.Separated():
			verdict = "worse than the baseline by at least two standard errors"
		}
		out = append(out, fmt.Sprintf("%s vs baseline on %s: %s: %s", s.Variant, s.Test, p, verdict))
	}
	return out
}

// Text is what a terminal shows at the end of a run: the title, fernb's
// table with the paired differences (without the paper's columns, which
// would make it too wide to read), whether the seeds separate each variant
// from the baseline, and where the comparison with the paper is.
func (r *Results) Text() string {
	var b strings.Builder
	if r.Synthetic {
		b.WriteString("SYNTHETIC STAND-IN: numbers on fernb's generated faces, not the paper's (see report.md).\n")
	}
	b.WriteString(r.Title + "\n\n")
	b.WriteString(Markdown(TableRows(r.Summaries, nil)))
	b.WriteString("\n")
	for _, v := range r.Verdicts() {
		b.WriteString(v + "\n")
	}
	if r.Paper != nil {
		fmt.Fprintf(&b, "The paper's Table %d beside these rows, with what differs: report.md, \"Beside the paper\".\n", r.Paper.Table)
	}
	return b.String()
}

// FormatMeanStd formats a summary as "81.2 ± 1.3 (n=3)".
func FormatMeanStd(s Summary) string {
	if s.Runs == 1 {
		return fmt.Sprintf("%.1f (n=1)", s.Mean)
	}
	return fmt.Sprintf("%.1f ± %.1f (n=%d)", s.Mean, s.Std, s.Runs)
}

// Markdown formats header and rows as a GitHub Markdown table, the first
// column (names) left-aligned and the others (numbers) right-aligned.
func Markdown(header []string, rows [][]string) string {
	right := make([]bool, len(header))
	for i := 1; i < len(right); i++ {
		right[i] = true
	}
	return mdtable.Format(header, rows, right, false)
}

// MarkdownTable is the results table of r as Markdown, with the paper's
// numbers beside fernb's when r has them.
func (r *Results) MarkdownTable() string {
	h, rows := TableRows(r.Summaries, r.Paper)
	return Markdown(h, rows)
}

// DataTable lists data sets as a table (role, name, images, per class).
func DataTable(data []DataInfo) (header []string, rows [][]string) {
	header = []string{"role", "data set", "format", "images", "per class", "note"}
	for _, d := range data {
		var parts []string
		for l := range fernb.NumLabels {
			if n, ok := d.Counts[fernb.Label(l).String()]; ok {
				parts = append(parts, fmt.Sprintf("%s %d", fernb.Label(l), n))
			}
		}
		rows = append(rows, []string{d.Role, d.Name, d.Format, fmt.Sprint(d.Images), strings.Join(parts, ", "), d.Note})
	}
	return header, rows
}

// String summarises the selection in one sentence.
func (s *SelectionInfo) String() string {
	if s == nil {
		return "no selection"
	}
	out := fmt.Sprintf("%s rule, margin %g: %d of %d pool images selected", s.Rule, s.Margin, s.Selected, s.Scored)
	if s.Precision != nil {
		out += fmt.Sprintf(", pseudo-label precision %.1f%% against the pool's hidden truth", 100**s.Precision)
	}
	keys := make([]string, 0, len(s.Counts))
	for k := range s.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%s %d", k, s.Counts[k])
	}
	return out + " (" + strings.Join(keys, ", ") + ")"
}

// String summarises the distillation in one sentence.
func (d *DistillInfo) String() string {
	if d == nil {
		return "no distillation"
	}
	method := strings.ToUpper(d.Method)
	if d.DSA {
		method += " with DSA augmentation"
	}
	return fmt.Sprintf("%s: %d image(s) per class after %d outer iterations (%.0f s); loss %.4g -> %.4g",
		method, d.IPC, d.Iterations, d.Seconds, d.FirstLoss, d.LastLoss)
}
