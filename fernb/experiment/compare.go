package experiment

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/fernb/fernb/fernb/plot"
)

// backboneName maps fernb's model names to the paper's backbone names.
var backboneName = map[string]string{"vgg-face": "VGG-F", "resnet34": "ResNet-34"}

// protocolTests returns the test sets of r that stand for the protocol of
// the paper's table: the inner test for the inner-dataset tables (1, 2),
// every fold for CK+ (3), the cross test for the cross-dataset tables
// (4-7). A run that records no setup keeps all its tests.
func (r *Results) protocolTests() []string {
	var out []string
	add := func(name string) {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	want := Inner
	if r.Paper != nil && r.Paper.Table >= 4 {
		want = Cross
	}
	if r.Config != nil && !r.Config.Setup.folded() && r.Paper != nil {
		for _, t := range r.Config.Setup.Tests {
			if t.Kind == want {
				add(t.Name)
			}
		}
	}
	if len(out) == 0 {
		for _, s := range r.Summaries {
			add(s.Test)
		}
	}
	return out
}

// dataOf returns the first data set of r with the role.
func (r *Results) dataOf(role string) (DataInfo, bool) {
	for _, d := range r.Data {
		if d.Role == role {
			return d, true
		}
	}
	return DataInfo{}, false
}

// fernbSetting describes fernb's run in the comparison's terms.
type fernbSetting struct {
	trainedOn, backbone, input, pool string
	epochs                           int
}

func (r *Results) setting() fernbSetting {
	s := fernbSetting{epochs: r.Epochs}
	if a, ok := r.dataOf("anchor"); ok {
		s.trainedOn = a.Name
	}
	if t, ok := r.dataOf("train"); ok && r.Config != nil && r.Config.Setup.folded() {
		s.trainedOn = t.Name
	}
	s.backbone = r.Model.Name
	if bb, ok := backboneName[r.Model.Name]; ok {
		s.backbone = bb
	}
	if r.Model.WidthMult != 0 && r.Model.WidthMult != 1 {
		s.backbone += fmt.Sprintf(" (width x%g)", r.Model.WidthMult)
	}
	s.input = fmt.Sprintf("%dx%dx%d", r.Model.Height, r.Model.Width, r.Model.Channels)
	if p, ok := r.dataOf("pool"); ok {
		s.pool = fmt.Sprintf("%s, %s images", p.Name, thousands(int64(p.Images)))
		if r.Selection != nil {
			s.pool += " (VAS " + thousands(r.Selection.Selected) + ")"
		}
	}
	return s
}

// sameData reports whether fernb's data set name is the paper's (fernb
// names them "RAF-DB", "FER-2013", "CK+"... and "<name> test").
func sameData(fernbName, paperName string) bool {
	f := strings.TrimSuffix(strings.ToLower(fernbName), " test")
	p := strings.ToLower(paperName)
	return f != "" && (f == p || strings.HasPrefix(p, f+" ") || strings.HasPrefix(f, p))
}

// Differences lists how fernb's run of one variant on one test set differs
// from the paper's setting for the table r reproduces, each as what it is
// in fernb's run: the data set, the backbone, the input size, the pool (for
// +VAS and +DAS) and the epochs. Empty when nothing of those differs.
func (r *Results) Differences(v Variant, test string) []string {
	if r.Paper == nil {
		return nil
	}
	ps := Paper()
	fs := r.setting()
	var src, tgt string
	if own := r.Paper.Own(); len(own) > 0 {
		src, tgt = own[0].Source, own[0].Target
	} else if len(r.Paper.Rows) > 0 {
		src, tgt = r.Paper.Rows[len(r.Paper.Rows)-1].Source, r.Paper.Rows[len(r.Paper.Rows)-1].Target
	}
	var out []string
	switch {
	case r.Synthetic:
		out = append(out, "data set: synthetic faces")
	case !sameData(fs.trainedOn, src) || !sameData(test, tgt):
		out = append(out, fmt.Sprintf("data set: %s -> %s", fs.trainedOn, test))
	}
	if bb := backboneName[r.Model.Name]; bb == "" || strings.Contains(fs.backbone, "width") {
		out = append(out, "backbone: "+fs.backbone)
	}
	if fs.input != fmt.Sprintf("%dx%dx3", ps.InputSize, ps.InputSize) {
		out = append(out, "input: "+fs.input)
	}
	if v != Baseline && fs.pool != "" && !strings.Contains(fs.pool, "MS-Celeb-1M") {
		out = append(out, "pool: "+fs.pool)
	}
	if fs.epochs != ps.Epochs {
		out = append(out, fmt.Sprintf("epochs: %d", fs.epochs))
	}
	return out
}

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ComparisonRows is the paper's own rows of r's table beside fernb's rows
// of the same protocol: what each row trained and tested on, its backbone,
// input, pool, epochs and accuracy, and, for fernb's rows, what differs
// from the paper's setting (Differences). fernb's rows give mean ± std over
// the runs.
func (r *Results) ComparisonRows() (header []string, rows [][]string) {
	header = []string{"row", "by", "trained on", "tested on", "backbone", "input", "pool", "epochs", "accuracy (%)", "what differs from the paper"}
	ps := Paper()
	paperInput := fmt.Sprintf("%dx%dx3, %s-aligned", ps.InputSize, ps.InputSize, ps.Alignment)
	if r.Paper != nil {
		for _, p := range r.Paper.Own() {
			pool := "—"
			if p.Variant != Baseline {
				pool = fmt.Sprintf("MS-Celeb-1M, %s images (VAS %s)", thousands(int64(ps.PoolImages)), thousands(int64(ps.VASImages)))
			}
			src := p.Source
			if p.Anchor != "" && p.Anchor != p.Source {
				src += " (VAS by " + p.Anchor + ")"
			}
			bb := p.Backbone
			if bb == "" {
				bb = "not named"
			}
			rows = append(rows, []string{p.Method, "paper", src, p.Target, bb, paperInput, pool, fmt.Sprint(ps.Epochs), p.Printed, ""})
		}
	}
	fs := r.setting()
	who := "fernb"
	if r.Synthetic {
		who = "fernb, synthetic stand-in"
	}
	for _, test := range r.protocolTests() {
		for _, v := range Variants() {
			for _, s := range r.Summaries {
				if s.Variant != v || s.Test != test {
					continue
				}
				pool := "—"
				if v != Baseline && fs.pool != "" {
					pool = fs.pool
				}
				rows = append(rows, []string{string(v), who, fs.trainedOn, test, fs.backbone, fs.input, pool,
					fmt.Sprint(fs.epochs), FormatMeanStd(s), strings.Join(r.Differences(v, test), "; ")})
			}
		}
	}
	return header, rows
}

// ComparisonFigure draws the paper's own rows and fernb's rows of the same
// protocol as grouped bars, one group per variant: one bar colour per paper
// model, one per fernb test set (with its std over runs as an error bar).
func (r *Results) ComparisonFigure() (*plot.Figure, error) {
	cats := Variants()
	names := make([]string, len(cats))
	for i, v := range cats {
		names[i] = string(v)
	}
	spec := plot.BarsSpec{Title: "accuracy: the paper's rows beside fernb's", YLabel: "accuracy (%)", Categories: names, ValueLabels: true, Format: "%.1f"}
	if r.Paper != nil {
		spec.Title = fmt.Sprintf("Table %d: the paper's rows beside fernb's", r.Paper.Table)
		var series []string
		for _, p := range r.Paper.Own() {
			if !slices.Contains(series, p.Series()) {
				series = append(series, p.Series())
			}
		}
		for _, name := range series {
			bs := plot.BarSeries{Name: name, Values: nanSlice(len(cats))}
			for _, p := range r.Paper.Own() {
				if p.Series() == name {
					bs.Values[variantRank(p.Variant)] = p.Accuracy
				}
			}
			spec.Series = append(spec.Series, bs)
		}
	}
	for _, test := range r.protocolTests() {
		label := "fernb, " + test
		if r.Synthetic {
			label += " (synthetic)"
		}
		bs := plot.BarSeries{Name: label, Values: nanSlice(len(cats)), Errors: make([]float64, len(cats))}
		found := false
		for _, s := range r.Summaries {
			if s.Test == test && variantRank(s.Variant) < len(cats) {
				bs.Values[variantRank(s.Variant)], bs.Errors[variantRank(s.Variant)] = s.Mean, s.Std
				found = true
			}
		}
		if found {
			spec.Series = append(spec.Series, bs)
		}
	}
	if len(spec.Series) == 0 {
		return nil, errors.New("experiment: nothing to compare: no paper rows and no results")
	}
	return plot.Bars(spec)
}

func nanSlice(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	return out
}

// DataHelp says, in Markdown, what real data the paper's Table n needs and
// the commands that fill in fernb's rows of it: the data sets, where
// FindData looks for them, and the reproduce command.
func DataHelp(n int) (string, error) {
	t, err := PaperTableN(n)
	if err != nil {
		return "", err
	}
	var need []string
	for _, k := range append(append([]string(nil), t.Needs...), "msceleb") {
		var places []string
		for _, c := range candidates[k] {
			places = append(places, "`"+filepath.ToSlash(c.Path)+"`")
		}
		need = append(need, fmt.Sprintf("%s (as %s)", displayName[k], strings.Join(places, " or ")))
	}
	return fmt.Sprintf("fernb's rows of Table %d on real data need, in one data directory DATA laid out as data/README.md says: %s. "+
		"With them, `FERNB_DATA_DIR=DATA` runs this notebook on them, and from a terminal "+
		"`fernb reproduce --data-dir DATA --table %d` (add `--model fer-cnn` for a CPU-sized model, `--limit N` for a smoke run) "+
		"writes the same rows to results/.", n, strings.Join(need, "; "), n), nil
}
