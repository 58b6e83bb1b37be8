package experiment

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/distill"
	"github.com/fernb/fernb/fernb/omni"
	"github.com/fernb/fernb/fernb/plot"
	"github.com/fernb/fernb/fernb/train"
)

// ErrRealImages is returned by the figures that draw face images when the
// data is real and Config.AllowRealImages is false: real faces must not end up
// in a saved notebook (they are licensed and identifiable). `fernb reproduce`
// allows them in its git-ignored results directory.
var ErrRealImages = errors.New("experiment: figure draws real face images; not shown (set Config.AllowRealImages to write it to a local results directory)")

func (p *Pipeline) imagesAllowed() error {
	if p.Cfg.Setup.Synthetic || p.Cfg.AllowRealImages {
		return nil
	}
	return ErrRealImages
}

// SaveFigure writes fig as dir/name.png and dir/name.svg and returns the
// paths.
func SaveFigure(fig *plot.Figure, dir, name string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	var out []string
	for _, ext := range []string{".png", ".svg"} {
		path := filepath.Join(dir, name+ext)
		if err := fig.Save(path); err != nil {
			return out, fmt.Errorf("experiment: figure %s: %w", name, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// FigureDir is where the pipeline writes its figures.
func (p *Pipeline) FigureDir() string { return filepath.Join(p.ResultsDir(), "figures") }

// ResultsDir is where results files go: Config.ResultsDir, or OutDir.
func (p *Pipeline) ResultsDir() string {
	if p.Cfg.ResultsDir != "" {
		return p.Cfg.ResultsDir
	}
	return p.Cfg.OutDir
}

// FigurePath returns the path stem for a figure name, for nb.ShowPlot's
// saveTo (add ".svg").
func (p *Pipeline) FigurePath(name string) string { return filepath.Join(p.FigureDir(), name) }

// DataFigure draws perClass faces of every class from the anchor set and
// every test set (the paper's Fig. 2).
func (p *Pipeline) DataFigure(perClass int) (*plot.Figure, error) {
	if err := p.imagesAllowed(); err != nil {
		return nil, err
	}
	if p.Anchor == nil {
		return nil, errors.New("experiment: load the data first (LoadData)")
	}
	g := plot.Grid{Title: "samples per class and data set"}
	sets := []*dataset.Tensors{p.Anchor}
	names := []string{p.Cfg.Setup.Anchor.Name}
	for i, t := range p.TestSets {
		sets = append(sets, t)
		names = append(names, p.Cfg.Setup.Tests[i].Name)
	}
	for si, t := range sets {
		imgs := make([]image.Image, 0, fernb.NumBasic*perClass)
		var caps []string
		for k := range fernb.NumBasic {
			n := 0
			for i := 0; i < t.N && n < perClass; i++ {
				if int(t.Labels[i]) == k {
					im, err := tensorImage(t, i)
					if err != nil {
						return nil, err
					}
					imgs = append(imgs, im)
					caps = append(caps, fernb.Label(k).String())
					n++
				}
			}
		}
		g.AddRow(names[si], imgs, caps)
	}
	return plot.ImageGrid(g)
}

func tensorImage(t *dataset.Tensors, i int) (image.Image, error) {
	ims, err := plot.ImagesFromNHWC(t.Image(i), 1, t.H, t.W, t.C, plot.Norm{Min: 0, Max: 1})
	if err != nil {
		return nil, err
	}
	return ims[0], nil
}

// CurvesFigure draws the training history of models: train loss, and train
// and test accuracy per epoch (test: the first test set, or the fold's).
// histories maps a name to a history (e.g. Histories, or the primitive
// learner's).
func CurvesFigure(title string, names []string, histories map[string][]train.EpochStats) (*plot.Figure, error) {
	loss := plot.Panel{Title: "loss", XLabel: "epoch", YLabel: "cross-entropy"}
	acc := plot.Panel{Title: "accuracy", XLabel: "epoch", YLabel: "accuracy", YMin: 0, YMax: 1}
	for _, n := range names {
		h := histories[n]
		if len(h) == 0 {
			continue
		}
		var tl, vl, ta, va []float64
		for _, e := range h {
			tl = append(tl, e.TrainLoss)
			ta = append(ta, e.TrainAcc)
			vl = append(vl, e.ValLoss)
			va = append(va, e.ValAcc)
		}
		loss.Series = append(loss.Series, plot.Series{Name: n + " train", Y: tl, Dashed: true}, plot.Series{Name: n + " test", Y: vl})
		acc.Series = append(acc.Series, plot.Series{Name: n + " train", Y: ta, Dashed: true}, plot.Series{Name: n + " test", Y: va})
	}
	if len(loss.Series) == 0 {
		return nil, errors.New("experiment: no training history to draw")
	}
	loss.Title = title + ": loss"
	return plot.Curves(loss, acc)
}

// PrimitiveCurves draws the primitive learner's convergence.
func (p *Pipeline) PrimitiveCurves() (*plot.Figure, error) {
	return CurvesFigure("primitive learner", []string{"primitive"}, map[string][]train.EpochStats{"primitive": p.PrimitiveLog})
}

// VariantCurves draws the convergence of every variant (first seed).
func (p *Pipeline) VariantCurves() (*plot.Figure, error) {
	var names []string
	for _, v := range p.Cfg.Variants {
		names = append(names, string(v))
	}
	return CurvesFigure("variants", names, p.Histories)
}

// ScatterFigure projects the anchor features, the centroids and the
// selected pool samples to 2-D (PCA).
func (p *Pipeline) ScatterFigure(ctx context.Context) (*plot.Figure, error) {
	if p.Primitive == nil || p.VAS == nil {
		return nil, errors.New("experiment: run the selection first (Select)")
	}
	af, err := p.Primitive.Features(ctx, p.Anchor, 0)
	if err != nil {
		return nil, err
	}
	vas := p.VAS
	if vas.N > 1500 {
		idx := make([]int, 0, 1500)
		for i := 0; i < vas.N; i += (vas.N + 1499) / 1500 {
			idx = append(idx, i)
		}
		vas = vas.Subset(idx)
	}
	vf, err := p.Primitive.Features(ctx, vas, 0)
	if err != nil {
		return nil, err
	}
	return omni.ScatterFigure(flat(af), p.Anchor.Labels, p.Centroids, flat(vf), vas.Labels,
		"anchor features (dots), centroids and selected pool samples, PCA")
}

func flat(rows [][]float32) omni.Features {
	if len(rows) == 0 {
		return omni.Features{}
	}
	f := omni.NewFeatures(len(rows), len(rows[0]))
	for i, r := range rows {
		copy(f.Row(i), r)
	}
	return f
}

// SelectedFigure draws up to perClass selected pool images per class, most
// confident first (the paper's Fig. 3).
func (p *Pipeline) SelectedFigure(perClass int) (*plot.Figure, error) {
	if err := p.imagesAllowed(); err != nil {
		return nil, err
	}
	if p.VAS == nil {
		return nil, errors.New("experiment: run the selection first (Select)")
	}
	byRef := make(map[string]int, p.VAS.N)
	for i, r := range p.VAS.Refs {
		byRef[r] = i
	}
	return omni.SelectedGrid(p.VASItems, p.Cfg.Selection.Kind, perClass, func(e *omni.Entry) (image.Image, error) {
		i, ok := byRef[e.Ref]
		if !ok {
			return nil, fmt.Errorf("image %s not loaded", e.Ref)
		}
		return tensorImage(p.VAS, i)
	})
}

// QualityFigure draws the precision of the pseudo-labels against the margin
// (pools with a hidden truth, such as the synthetic one).
func (p *Pipeline) QualityFigure() (*plot.Figure, *omni.Report, error) {
	if p.ScoresPath == "" {
		return nil, nil, errors.New("experiment: run the selection first (Select)")
	}
	r, err := omni.Quality([]string{p.ScoresPath}, omni.ReportConfig{})
	if err != nil {
		return nil, nil, err
	}
	if r.Truthful == 0 {
		return nil, r, errors.New("experiment: the pool has no hidden truth: no precision to draw")
	}
	f, err := omni.QualityFigure(r)
	return f, r, err
}

// DistilledFigure draws the distilled images (the paper's Fig. 4).
func (p *Pipeline) DistilledFigure() (*plot.Figure, error) {
	if err := p.imagesAllowed(); err != nil {
		return nil, err
	}
	if p.DAS == nil {
		return nil, errors.New("experiment: run the distillation first (Distill)")
	}
	return distill.Grid(p.DAS, fmt.Sprintf("distilled auxiliary samples (%s, %d per class)", p.DAS.Method, p.DAS.IPC))
}

// DistillLossFigure draws the distillation loss per outer iteration.
func (p *Pipeline) DistillLossFigure() (*plot.Figure, error) {
	if len(p.DistillLog) == 0 {
		return nil, errors.New("experiment: no distillation history")
	}
	return distill.LossCurve(p.DistillLog, "distillation loss")
}

// CostFigure draws the training seconds per epoch of every variant (the
// paper's Fig. 5; first seed).
func (p *Pipeline) CostFigure() (*plot.Figure, error) {
	var rows []CostRow
	for _, v := range p.Cfg.Variants {
		h := p.Histories[string(v)]
		if len(h) == 0 {
			continue
		}
		row := CostRow{Name: string(v), History: h}
		for _, e := range h {
			row.Seconds = append(row.Seconds, e.Seconds)
			row.Images = e.Images
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("experiment: no variant trained yet")
	}
	return CostBars(rows, "training cost per epoch")
}

// AccuracyFigure draws mean accuracy ± std per test set and variant.
func AccuracyFigure(sums []Summary, title string) (*plot.Figure, error) {
	tests := testSets(sums)
	spec := plot.BarsSpec{Title: title, YLabel: "accuracy (%)", Categories: tests, ValueLabels: true, Format: "%.1f"}
	for _, v := range Variants() {
		bs := plot.BarSeries{Name: string(v)}
		found := false
		for _, t := range tests {
			val, e := math.NaN(), 0.0
			for _, s := range sums {
				if s.Variant == v && s.Test == t {
					val, e, found = s.Mean, s.Std, true
				}
			}
			bs.Values = append(bs.Values, val)
			bs.Errors = append(bs.Errors, e)
		}
		if found {
			spec.Series = append(spec.Series, bs)
		}
	}
	if len(spec.Series) == 0 {
		return nil, errors.New("experiment: no results to draw")
	}
	return plot.Bars(spec)
}

// ConfusionFigure draws the confusion matrix of variant v on test (summed
// over seeds and folds).
func ConfusionFigure(sums []Summary, v Variant, test string) (*plot.Figure, error) {
	for _, s := range sums {
		if s.Variant == v && s.Test == test && s.Confusion != nil {
			return plot.Confusion(plot.ConfusionSpec{Title: fmt.Sprintf("%s on %s (%d runs)", v, test, s.Runs), Matrix: s.Confusion, Names: s.Classes})
		}
	}
	return nil, fmt.Errorf("experiment: no confusion matrix for %s on %s", v, test)
}

// FailureFigure draws up to n misclassified images of test set i for variant
// v (first seed; the paper's Fig. 6), framed in red, captioned true/predicted.
func (p *Pipeline) FailureFigure(ctx context.Context, v Variant, test, n int) (*plot.Figure, error) {
	if err := p.imagesAllowed(); err != nil {
		return nil, err
	}
	if test < 0 || test >= len(p.TestSets) {
		return nil, fmt.Errorf("experiment: no test set %d", test)
	}
	name := p.Cfg.Setup.Tests[test].Name
	ckpt := ""
	for _, r := range p.Runs {
		if r.Variant == v && r.Test == name && r.Seed == p.Cfg.Seeds[0] {
			ckpt = r.Checkpoint
		}
	}
	if ckpt == "" {
		return nil, fmt.Errorf("experiment: %s has not been evaluated on %s", v, name)
	}
	m, err := train.LoadModel(p.Backend, ckpt)
	if err != nil {
		return nil, err
	}
	defer m.Finalize()
	ts := p.TestSets[test]
	pr, err := m.Predict(ctx, ts, 0)
	if err != nil {
		return nil, err
	}
	g := plot.Grid{Title: fmt.Sprintf("failure cases: %s on %s", v, name)}
	var row []plot.Cell
	for i := 0; i < ts.N && len(g.Rows)*8+len(row) < n; i++ {
		if pr.Pred[i] == ts.Labels[i] {
			continue
		}
		im, err := tensorImage(ts, i)
		if err != nil {
			return nil, err
		}
		row = append(row, plot.Cell{Image: im, Caption: fmt.Sprintf("true: %s\npred: %s", ts.Labels[i], pr.Pred[i]), Border: color.RGBA{R: 220, A: 255}})
		if len(row) == 8 {
			g.Rows = append(g.Rows, row)
			row = nil
		}
	}
	if len(row) > 0 {
		g.Rows = append(g.Rows, row)
	}
	if len(g.Rows) == 0 {
		return nil, fmt.Errorf("experiment: %s makes no mistake on %s", v, name)
	}
	return plot.ImageGrid(g)
}

// SnapshotFigure runs the paper's Fig. 7 check on the distillation's
// snapshots (a small CNN trained on them, split 5:1) and draws its test
// accuracy per epoch.
func (p *Pipeline) SnapshotFigure(ctx context.Context, epochs int) (*plot.Figure, error) {
	if p.DASDir == "" {
		return nil, errors.New("experiment: run the distillation first (Distill)")
	}
	cc := distill.CheckConfig{Seed: 1}
	cc.Train.Epochs = epochs
	res, err := distill.SnapshotCheck(ctx, p.Backend, p.DASDir, cc, p.trainProgress("snapshot check"))
	if err != nil {
		return nil, err
	}
	return distill.CheckPlot(res, "distilled snapshots: a fresh CNN trained on them")
}

// figureName makes a file name from a title.
func figureName(parts ...string) string {
	s := strings.ToLower(strings.Join(parts, "_"))
	r := strings.NewReplacer(" ", "_", "+", "plus_", "/", "_", "(", "", ")", "")
	return r.Replace(s)
}
