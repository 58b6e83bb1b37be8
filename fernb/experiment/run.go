package experiment

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fernb/fernb/fernb/plot"
)

// Run runs every stage of the pipeline (data, primitive learner, selection,
// distillation, the variants over every seed and fold, evaluation), then
// writes the results (WriteAll). Cached stages are reused.
func (p *Pipeline) Run(ctx context.Context) (*Results, error) {
	if err := p.LoadData(ctx); err != nil {
		return nil, err
	}
	if err := p.TrainPrimitive(ctx); err != nil {
		return nil, err
	}
	needVAS, needDAS := false, false
	for _, v := range p.Cfg.Variants {
		needVAS = needVAS || v == VAS || v == DAS
		needDAS = needDAS || v == DAS
	}
	if needVAS {
		if err := p.Select(ctx); err != nil {
			return nil, err
		}
	}
	if needDAS {
		if err := p.Distill(ctx); err != nil {
			return nil, err
		}
	}
	if err := p.Evaluate(ctx); err != nil {
		return nil, err
	}
	return p.WriteAll(ctx)
}

// WriteAll writes what has run so far into OutDir: results.json,
// results.md (the table), the figures (PNG and SVG, under figures/) and
// report.md, and returns the results.
func (p *Pipeline) WriteAll(ctx context.Context) (*Results, error) {
	r := p.Results()
	figs, ferrs := p.writeFigures(ctx, r)
	r.Figures = figs
	if err := r.WriteJSON(filepath.Join(p.ResultsDir(), "results.json")); err != nil {
		return r, err
	}
	if err := writeAtomic(filepath.Join(p.ResultsDir(), "results.md"), []byte(r.MarkdownTable())); err != nil {
		return r, err
	}
	if err := writeAtomic(filepath.Join(p.ResultsDir(), "report.md"), []byte(r.Report(ferrs))); err != nil {
		return r, err
	}
	return r, nil
}

// writeFigures draws every figure that the stages run so far allow. A figure
// that cannot be drawn is listed with its reason in the report, not fatal.
func (p *Pipeline) writeFigures(ctx context.Context, r *Results) ([]string, []string) {
	dir := p.FigureDir()
	var paths, problems []string
	add := func(name string, fig *plot.Figure, err error) {
		if err != nil {
			if !errors.Is(err, ErrRealImages) {
				problems = append(problems, name+": "+err.Error())
			}
			return
		}
		ps, err := SaveFigure(fig, dir, name)
		if err != nil {
			problems = append(problems, name+": "+err.Error())
		}
		for _, q := range ps {
			rel, _ := filepath.Rel(p.ResultsDir(), q)
			paths = append(paths, rel)
		}
	}
	if p.Anchor != nil {
		f, err := p.DataFigure(6)
		add("fig2_data_samples", f, err)
	}
	if len(p.PrimitiveLog) > 0 {
		f, err := p.PrimitiveCurves()
		add("primitive_curves", f, err)
	}
	if p.VAS != nil {
		f, err := p.SelectedFigure(8)
		add("fig3_selected_samples", f, err)
		f, err = p.ScatterFigure(ctx)
		add("centroid_scatter", f, err)
		if f, _, err := p.QualityFigure(); err == nil {
			add("selection_quality", f, nil)
		}
	}
	if p.DAS != nil {
		f, err := p.DistilledFigure()
		add("fig4_distilled", f, err)
		f, err = p.DistillLossFigure()
		add("distillation_loss", f, err)
	}
	if len(p.Histories) > 0 {
		f, err := p.CostFigure()
		add("fig5_cost", f, err)
		f, err = p.VariantCurves()
		add("variant_curves", f, err)
	}
	if len(r.Summaries) > 0 {
		f, err := AccuracyFigure(r.Summaries, "accuracy by variant and test set")
		add("accuracy", f, err)
		if r.Paper != nil {
			f, err = r.ComparisonFigure()
			add("paper_comparison", f, err)
		}
		for _, s := range r.Summaries {
			f, err := ConfusionFigure(r.Summaries, s.Variant, s.Test)
			add(figureName("confusion", string(s.Variant), s.Test), f, err)
		}
		if len(p.TestSets) > 1 {
			f, err := p.FailureFigure(ctx, DAS, len(p.TestSets)-1, 16)
			add("fig6_failures", f, err)
		}
	}
	sort.Strings(paths)
	return paths, problems
}

// Report is report.md: what ran, on what, the table (with the paper's
// numbers beside, labelled), the selection and distillation, timings and the
// figures. figureProblems lists figures that could not be drawn.
func (r *Results) Report(figureProblems []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# fernb results: %s\n\n", r.Title)
	if r.Synthetic {
		b.WriteString("> **" + r.Note + "**\n\n")
	} else {
		b.WriteString("> " + r.Note + "\n\n")
	}
	if r.Quick {
		b.WriteString("Quick mode (FERNB_QUICK=1): tiny data and few epochs; the numbers only show that the code runs.\n\n")
	}
	over := "seeds " + seedsString(r.Seeds)
	if r.Protocol.Kind == KFold || r.Protocol.Kind == LOSO {
		over = r.Protocol.String() + " folds x " + over
	}
	fmt.Fprintf(&b, "## Accuracy (%%)\n\nMean ± sample standard deviation over the runs (%s); n is the number of runs. "+
		"\"vs baseline (same seed)\" is the paired difference to the baseline trained with the same seed (and fold): "+
		"its mean in percentage points, the standard error of that mean, and in how many pairs the variant won.\n\n", over)
	b.WriteString(r.MarkdownTable())
	if v := r.Verdicts(); len(v) > 0 {
		b.WriteString("\n")
		for _, line := range v {
			b.WriteString("- " + line + "\n")
		}
	}
	if r.Paper != nil {
		fmt.Fprintf(&b, "\nColumns marked \"paper\" are the paper's Table %d (%s), measured in the paper's setting.", r.Paper.Table, r.Paper.Title)
		if r.Synthetic {
			b.WriteString(" They are shown for orientation only: the synthetic runs above are a different data set, model and budget.")
		}
		b.WriteString("\n\n## Beside the paper\n\nThe paper's own rows and fernb's rows of the same protocol; the last column says what differs.\n\n")
		h, rows := r.ComparisonRows()
		b.WriteString(Markdown(h, rows))
		b.WriteString("\n" + r.Paper.Markdown())
	}
	b.WriteString("\n## Setting\n\n")
	fmt.Fprintf(&b, "- model: %s %dx%dx%d (width x%g), %d classes\n", r.Model.Name, r.Model.Height, r.Model.Width, r.Model.Channels, r.Model.WidthMult, r.Model.NumClasses)
	fmt.Fprintf(&b, "- recipe: %d epochs, batch %d, SGD momentum %g, lr %g x%g every %d epochs, flips %v\n",
		r.Train.Epochs, r.Train.BatchSize, r.Train.Momentum, r.Train.LR, r.Train.DecayFactor, r.Train.DecayEvery, !r.Train.NoFlip)
	fmt.Fprintf(&b, "- backend: %s; GOMAXPROCS %d; SIMD %v; %s\n", r.Backend, r.Env.GOMAXPROCS, r.Env.SIMD, r.Env.GoVersion)
	fmt.Fprintf(&b, "- wall time: %.0f s (%s)\n", r.WallSeconds, sortedList(r.StageSeconds, "%.0f s"))
	b.WriteString("\n## Data\n\n")
	for _, d := range r.Data {
		fmt.Fprintf(&b, "- %s: %s (%s %s", d.Role, d.Name, d.Format, d.Path)
		if d.Split != "" {
			fmt.Fprintf(&b, ", split %s", d.Split)
		}
		fmt.Fprintf(&b, "): %d images", d.Images)
		if d.Note != "" {
			fmt.Fprintf(&b, "; %s", d.Note)
		}
		b.WriteString("\n")
	}
	if s := r.Selection; s != nil {
		fmt.Fprintf(&b, "\n## Selection (VAS)\n\nRule %s, margin %g: %d of %d pool images selected", s.Rule, s.Margin, s.Selected, s.Scored)
		if s.Precision != nil {
			fmt.Fprintf(&b, ", pseudo-label precision %.1f%% against the pool's hidden truth", 100**s.Precision)
		}
		b.WriteString(".\nPer class: " + sortedList(s.Counts, "%d") + ".\n")
	}
	if d := r.Distill; d != nil {
		b.WriteString("\n## Distillation (DAS)\n\n" + d.String() + ".\n")
	}
	if len(r.Figures) > 0 {
		b.WriteString("\n## Figures\n\n")
		for _, f := range r.Figures {
			if strings.HasSuffix(f, ".png") {
				fmt.Fprintf(&b, "![%s](%s)\n", strings.TrimSuffix(filepath.Base(f), ".png"), f)
			}
		}
		b.WriteString("\nEach figure is also saved as SVG next to its PNG.\n")
	}
	if len(figureProblems) > 0 {
		b.WriteString("\nFigures not drawn:\n\n")
		for _, p := range figureProblems {
			b.WriteString("- " + p + "\n")
		}
	}
	b.WriteString("\nAll numbers: results.json (per run: accuracy, per-class accuracy, confusion matrix, checkpoint).\n")
	return b.String()
}

// sortedList lists a map as "key value, ..." in key order, each value
// written with format.
func sortedList[V any](m map[string]V, format string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + fmt.Sprintf(format, m[k])
	}
	return strings.Join(parts, ", ")
}

// QuickCacheDir is the output directory the notebooks share: results/<name>
// under the repository root when the working directory is inside this
// repository (results/ is git-ignored), else under the system's temporary
// directory. Later notebooks reuse what earlier ones cached there.
func QuickCacheDir(name string) string {
	dir, err := os.Getwd()
	if err == nil {
		for d := dir; ; d = filepath.Dir(d) {
			if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/fernb/fernb\n") {
				return filepath.Join(d, "results", name)
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return filepath.Join(os.TempDir(), "fernb-results", name)
}
