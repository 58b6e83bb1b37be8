package omni

import (
	"fmt"
	"image"
	"math"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/plot"
)

// QualityFigure draws a quality report: for each rule, the precision of the
// pseudo-labels and the fraction of the pool kept, against the margin
// (cosine) or the threshold (softmax); with a binary truth (Positive), the
// agreement with it and the precision of the Positive label. It is the picture behind the paper's argument: along the
// cosine margin, precision should rise while the kept fraction falls less
// steeply than along the softmax threshold.
func QualityFigure(r *Report) (*plot.Figure, error) {
	var panels []plot.Panel
	for _, ps := range [][]Point{r.Cosine, r.Softmax} {
		if len(ps) == 0 {
			continue
		}
		x := make([]float64, len(ps))
		prec := make([]float64, len(ps))
		kept := make([]float64, len(ps))
		agree := make([]float64, len(ps))
		for i, p := range ps {
			x[i] = p.Param
			prec[i] = float64(p.Precision)
			kept[i] = ratioF(p.Selected, r.Scored)
			agree[i] = math.NaN()
			if p.Binary != nil {
				agree[i] = float64(p.Binary.Precision)
			}
		}
		xl := "margin m (cosine similarity)"
		if ps[0].Rule == Softmax {
			xl = "threshold (softmax probability)"
		}
		series := []plot.Series{{Name: "kept fraction", X: x, Y: kept, Dashed: true}}
		switch {
		case r.Truthful > 0 && r.Positive != "":
			// With a binary truth, precision is the agreement with it.
			series = append(series, plot.Series{Name: "agreement with " + r.Positive + "/not truth", X: x, Y: prec},
				plot.Series{Name: r.Positive + " precision", X: x, Y: agree})
		case r.Truthful > 0:
			series = append(series, plot.Series{Name: "precision", X: x, Y: prec})
		}
		panels = append(panels, plot.Panel{Title: string(ps[0].Rule) + " rule", XLabel: xl, YLabel: "fraction",
			Series: series, Markers: true, YMin: 0, YMax: 1})
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("omni: quality report has no sweep")
	}
	return plot.Curves(panels...)
}

func ratioF(a, b int64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// SaveQualityPlot draws QualityFigure(r) to path (.png or .svg).
func SaveQualityPlot(r *Report, path string) error {
	f, err := QualityFigure(r)
	if err != nil {
		return err
	}
	return f.Save(path)
}

// ScatterFigure projects the labelled anchor features, their centroids and
// the selected pool samples to 2-D with the PCA of the anchor features, and
// draws them coloured by (pseudo-)label: whether the VAS fills the class
// regions around their centroids or piles up between them.
func ScatterFigure(anchor Features, labels []fernb.Label, c *CentroidSet, selected Features, selLabels []fernb.Label, title string) (*plot.Figure, error) {
	if err := anchor.Validate(); err != nil {
		return nil, err
	}
	if len(labels) != anchor.N || len(selLabels) != selected.N {
		return nil, fmt.Errorf("omni: scatter: %d labels for %d anchor rows, %d for %d selected rows", len(labels), anchor.N, len(selLabels), selected.N)
	}
	if selected.N > 0 && selected.Dim != anchor.Dim {
		return nil, fmt.Errorf("omni: scatter: selected features have dim %d, anchor %d", selected.Dim, anchor.Dim)
	}
	pca, err := plot.FitPCA(anchor.Data, anchor.N, anchor.Dim, 2)
	if err != nil {
		return nil, fmt.Errorf("omni: scatter: %w", err)
	}
	spec := plot.ScatterSpec{Title: title, XLabel: "PC 1", YLabel: "PC 2", ClassNames: fernb.LabelNames(fernb.NumLabels), OverlayName: "selected (pool)"}
	if spec.Points, err = pca.Project2D(anchor.Data, anchor.N); err != nil {
		return nil, err
	}
	spec.Labels = make([]int, anchor.N)
	for i, l := range labels {
		spec.Labels[i] = int(l)
	}
	if selected.N > 0 {
		if spec.Overlay, err = pca.Project2D(selected.Data, selected.N); err != nil {
			return nil, err
		}
		spec.OverlayLabels = make([]int, selected.N)
		for i, l := range selLabels {
			spec.OverlayLabels[i] = int(l)
		}
	}
	if c != nil {
		flat := make([]float32, 0, len(c.Vectors)*c.Dim())
		for _, v := range c.Vectors {
			flat = append(flat, v...)
		}
		pts, err := pca.Project2D(flat, len(c.Vectors))
		if err != nil {
			return nil, err
		}
		maxL := 0
		for _, l := range c.Classes {
			maxL = max(maxL, int(l))
		}
		spec.Centroids = make([][2]float64, maxL+1)
		for i := range spec.Centroids {
			spec.Centroids[i] = [2]float64{math.NaN(), math.NaN()}
		}
		for j, l := range c.Classes {
			spec.Centroids[l] = pts[j]
		}
	}
	return plot.Scatter(spec)
}

// MarginHistogramFigure draws the distribution of the cosine margin over
// the scored pool images of scores files, split into right and wrong
// nearest-centroid labels when the images carry a truth, with the margin m
// in use marked: how much of the pool each m keeps, and (with truth) how
// well a margin separates right from wrong labels. positive, when set,
// judges labels against a binary truth as ReportConfig.Positive does.
func MarginHistogramFigure(scoresPaths []string, margin float64, positive string) (*plot.Figure, error) {
	var all, right, wrong []float64
	err := forEachScore(scoresPaths, func(_ *Header, cols Columns, s *Score) {
		d := Rule{Kind: Cosine}.Decide(s, cols)
		m := float64(d.Margin)
		all = append(all, m)
		if t := canonicalTruth(s.Truth); t != "" {
			ok := t == d.Label.String()
			if positive != "" {
				ok = (t == positive) == (d.Label.String() == positive)
			}
			if ok {
				right = append(right, m)
			} else {
				wrong = append(wrong, m)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	spec := plot.HistogramSpec{Title: "cosine margin of pool images", XLabel: "margin (best - second-best similarity)", YLabel: "images",
		Markers: []plot.Marker{{Name: fmt.Sprintf("m = %g", margin), X: margin}}}
	if len(right)+len(wrong) > 0 {
		spec.Series = []plot.HistSeries{{Name: "right label", Values: right}, {Name: "wrong label", Values: wrong}}
		spec.YLabel = "density"
		spec.Density = true
	} else {
		spec.Series = []plot.HistSeries{{Name: "pool", Values: all}}
	}
	return plot.Histogram(spec)
}

// SelectedGrid draws up to perClass selected images of every class, most
// confident first (the paper's Fig. 3), captioned with their margin (or
// probability under the softmax rule). image returns the picture of an
// entry (decoded from the pool by its Ref).
func SelectedGrid(entries []Entry, kind RuleKind, perClass int, img func(e *Entry) (image.Image, error)) (*plot.Figure, error) {
	ranked := append([]Entry(nil), entries...)
	RankByConfidence(ranked, kind)
	var g plot.Grid
	g.Title = "selected pool images by class, most confident first"
	for start := 0; start < len(ranked); {
		l := ranked[start].Label
		end := start
		for end < len(ranked) && ranked[end].Label == l {
			end++
		}
		var imgs []image.Image
		var caps []string
		for i := start; i < min(end, start+perClass); i++ {
			im, err := img(&ranked[i])
			if err != nil {
				return nil, fmt.Errorf("omni: grid: %s: %w", ranked[i].Ref, err)
			}
			imgs = append(imgs, im)
			if kind == Softmax {
				caps = append(caps, fmt.Sprintf("p=%.2f", ranked[i].Prob))
			} else {
				caps = append(caps, fmt.Sprintf("m=%.2f", ranked[i].Margin))
			}
		}
		g.AddRow(fmt.Sprintf("%s (%d)", l, end-start), imgs, caps)
		start = end
	}
	if len(g.Rows) == 0 {
		return nil, fmt.Errorf("omni: grid: no selected images")
	}
	return plot.ImageGrid(g)
}
