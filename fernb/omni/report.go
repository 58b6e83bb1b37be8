package omni

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/fernb/fernb/fernb"
)

// ReportConfig sets the sweep of a quality report.
type ReportConfig struct {
	// Margins for the cosine rule (default 0, 0.02, ..., 0.30).
	Margins []float64
	// Thresholds for the softmax rule (default 0.30, 0.35, ..., 0.95).
	Thresholds []float64
	// Positive, when set (e.g. "happy"), also scores the pseudo-labels as a
	// binary decision against the truth: Truth == Positive is a positive,
	// any other known truth a negative. This is how SMILEsmileD's smile /
	// non-smile folders check the "happy" pseudo-labels. In this mode a
	// pseudo-label counts as right when it agrees with the binary truth
	// (happy on a smile, any other class on a non-smile), so per-class
	// precision stays meaningful when the truth has only two values.
	Positive string
}

func (c *ReportConfig) defaults() {
	if len(c.Margins) == 0 {
		for i := 0; i <= 15; i++ {
			c.Margins = append(c.Margins, float64(i)*0.02)
		}
	}
	if len(c.Thresholds) == 0 {
		for i := 0; i <= 13; i++ {
			c.Thresholds = append(c.Thresholds, 0.30+float64(i)*0.05)
		}
	}
}

// ClassPoint is one class at one sweep point.
type ClassPoint struct {
	Label string `json:"label"`
	// Count is the number of pool images given this label; Known those of
	// them whose truth is known; Correct those whose truth is this label.
	Count     int64 `json:"count"`
	Known     int64 `json:"known"`
	Correct   int64 `json:"correct"`
	Precision Ratio `json:"precision"` // Correct/Known, NaN when Known is 0
}

// Ratio is a fraction that is NaN when undefined (nothing to divide by); it
// encodes as JSON null then.
type Ratio float64

// MarshalJSON writes null for NaN.
func (r Ratio) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(r)) {
		return []byte("null"), nil
	}
	return []byte(fmt.Sprint(float64(r))), nil
}

// Binary scores pseudo-labels as "Positive or not" against a binary truth.
type Binary struct {
	TP, FP, FN, TN int64
	// Agreement is (TP+TN)/(TP+FP+FN+TN); Precision TP/(TP+FP); Recall
	// TP/(TP+FN) among selected images. NaN when undefined.
	Agreement, Precision, Recall Ratio
}

// Point is one rule parameter of the sweep.
type Point struct {
	Rule      RuleKind     `json:"rule"`
	Param     float64      `json:"param"` // margin or threshold
	Selected  int64        `json:"selected"`
	Known     int64        `json:"known"`
	Correct   int64        `json:"correct"`
	Precision Ratio        `json:"precision"`
	Classes   []ClassPoint `json:"classes"`
	Binary    *Binary      `json:"binary,omitempty"`
}

// Report is the quality of pseudo-labels on a pool whose true labels the
// rules did not see, as the margin (cosine) and threshold (softmax) vary.
type Report struct {
	Model    string  `json:"model"`
	Pool     string  `json:"pool"`
	Scored   int64   `json:"scored"`
	Truthful int64   `json:"with_truth"`
	Positive string  `json:"positive,omitempty"`
	Cosine   []Point `json:"cosine"`
	Softmax  []Point `json:"softmax,omitempty"`
}

type reportAcc struct {
	cfg   ReportConfig
	cols  Columns
	names []string // every label name a rule can give, in label order
	rep   *Report
}

func newReportAcc(cols Columns, cfg ReportConfig) *reportAcc {
	cfg.defaults()
	a := &reportAcc{cfg: cfg, cols: cols, rep: &Report{Positive: cfg.Positive}}
	seen := map[fernb.Label]bool{}
	for _, l := range append(slices.Clone(cols.Sims), cols.Probs...) {
		seen[l] = true
	}
	for l := fernb.Label(0); l < fernb.NumLabels; l++ {
		if seen[l] {
			a.names = append(a.names, l.String())
		}
	}
	mk := func(kind RuleKind, params []float64) []Point {
		ps := make([]Point, len(params))
		for i, p := range params {
			ps[i] = Point{Rule: kind, Param: p, Classes: make([]ClassPoint, len(a.names))}
			for j, n := range a.names {
				ps[i].Classes[j].Label = n
			}
			if cfg.Positive != "" {
				ps[i].Binary = &Binary{}
			}
		}
		return ps
	}
	a.rep.Cosine = mk(Cosine, cfg.Margins)
	if len(cols.Probs) > 0 {
		a.rep.Softmax = mk(Softmax, cfg.Thresholds)
	}
	return a
}

// canonicalTruth maps a truth written in any synonym to its canonical name;
// truths outside the label space ("non-smile") are kept as they are.
func canonicalTruth(t string) string {
	if t == "" {
		return ""
	}
	if l, err := fernb.ParseLabel(t); err == nil {
		return l.String()
	}
	return t
}

func (a *reportAcc) add(s *Score) {
	a.rep.Scored++
	truth := canonicalTruth(s.Truth)
	if truth != "" {
		a.rep.Truthful++
	}
	record := func(p *Point, label fernb.Label) {
		name := label.String()
		p.Selected++
		j := slices.Index(a.names, name)
		cp := &p.Classes[j]
		cp.Count++
		if truth == "" {
			return
		}
		p.Known++
		cp.Known++
		right := truth == name
		if pos := a.cfg.Positive; pos != "" {
			right = (truth == pos) == (name == pos)
		}
		if right {
			p.Correct++
			cp.Correct++
		}
		if b := p.Binary; b != nil {
			pos, predPos := truth == a.cfg.Positive, name == a.cfg.Positive
			switch {
			case pos && predPos:
				b.TP++
			case !pos && predPos:
				b.FP++
			case pos && !predPos:
				b.FN++
			default:
				b.TN++
			}
		}
	}
	cos := Rule{Kind: Cosine}.Decide(s, a.cols)
	for i := range a.rep.Cosine {
		if cos.Margin >= float32(a.rep.Cosine[i].Param) {
			record(&a.rep.Cosine[i], cos.Label)
		}
	}
	if len(a.rep.Softmax) > 0 {
		sm := Rule{Kind: Softmax}.Decide(s, a.cols)
		for i := range a.rep.Softmax {
			if sm.Prob >= float32(a.rep.Softmax[i].Param) {
				record(&a.rep.Softmax[i], sm.Label)
			}
		}
	}
}

func ratio(a, b int64) Ratio {
	if b == 0 {
		return Ratio(math.NaN())
	}
	return Ratio(float64(a) / float64(b))
}

func (a *reportAcc) finish() *Report {
	for _, ps := range [][]Point{a.rep.Cosine, a.rep.Softmax} {
		for i := range ps {
			p := &ps[i]
			p.Precision = ratio(p.Correct, p.Known)
			for j := range p.Classes {
				p.Classes[j].Precision = ratio(p.Classes[j].Correct, p.Classes[j].Known)
			}
			if b := p.Binary; b != nil {
				b.Agreement = ratio(b.TP+b.TN, b.TP+b.FP+b.FN+b.TN)
				b.Precision = ratio(b.TP, b.TP+b.FP)
				b.Recall = ratio(b.TP, b.TP+b.FN)
			}
		}
	}
	return a.rep
}

// QualityOf computes the report for in-memory scores.
func QualityOf(scores []Score, cols Columns, cfg ReportConfig) *Report {
	a := newReportAcc(cols, cfg)
	for i := range scores {
		a.add(&scores[i])
	}
	return a.finish()
}

// Quality computes the report from scores files (one run, or every shard of
// one), streaming them.
func Quality(scoresPaths []string, cfg ReportConfig) (*Report, error) {
	var a *reportAcc
	err := forEachScore(scoresPaths, func(h *Header, cols Columns, s *Score) {
		if a == nil {
			a = newReportAcc(cols, cfg)
			a.rep.Model, a.rep.Pool = h.Model, h.Pool
		}
		a.add(s)
	})
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, fmt.Errorf("omni: report: no scores files given")
	}
	return a.finish(), nil
}

// forEachScore streams the scores of files of one run (every shard of it,
// or the whole pool's file), calling fn with each file's header and
// columns and each score; files of different runs (model, pool or
// centroids) are refused.
func forEachScore(scoresPaths []string, fn func(h *Header, cols Columns, s *Score)) error {
	var first *Header
	for _, p := range scoresPaths {
		if err := func() error {
			r, err := OpenScores(p)
			if err != nil {
				return err
			}
			defer r.Close()
			h := r.Header
			if first == nil {
				first = &h
			} else if first.Centroids != h.Centroids || first.Pool != h.Pool || first.Model != h.Model {
				return fmt.Errorf("omni: %s and %s come from different runs", scoresPaths[0], p)
			}
			cols, err := h.Columns()
			if err != nil {
				return fmt.Errorf("omni: %s:1: %w", p, err)
			}
			for {
				s, err := r.Next()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
				fn(&h, cols, &s)
			}
		}(); err != nil {
			return err
		}
	}
	return nil
}

func pct(r Ratio) string {
	x := float64(r)
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.1f", 100*x)
}

// WriteText writes the report as aligned tables: per rule and parameter,
// the number kept, the precision overall and per class (count/precision%),
// and the binary agreement when Positive is set.
func (r *Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "pool %s, model %s: %d images scored, %d with a known truth\n", r.Pool, r.Model, r.Scored, r.Truthful)
	for _, ps := range [][]Point{r.Cosine, r.Softmax} {
		if len(ps) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		param := "margin"
		if ps[0].Rule == Softmax {
			param = "p>="
		}
		hdr := []string{string(ps[0].Rule), param, "kept", "prec%"}
		for _, c := range ps[0].Classes {
			hdr = append(hdr, c.Label)
		}
		if r.Positive != "" {
			hdr = append(hdr, r.Positive+"-agree%", r.Positive+"-prec%", r.Positive+"-recall%")
		}
		fmt.Fprintln(w)
		fmt.Fprintln(tw, strings.Join(hdr, "\t")+"\t")
		for _, p := range ps {
			row := []string{"", fmt.Sprintf("%.2f", p.Param), fmt.Sprint(p.Selected), pct(p.Precision)}
			for _, c := range p.Classes {
				row = append(row, fmt.Sprintf("%d/%s", c.Count, pct(c.Precision)))
			}
			if b := p.Binary; b != nil {
				row = append(row, pct(b.Agreement), pct(b.Precision), pct(b.Recall))
			}
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
