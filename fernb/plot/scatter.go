package plot

import (
	"fmt"
	"image/color"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ScatterSpec describes a 2-D scatter of labelled points with per-class
// centroids and an overlay of other points (e.g. the labelled anchor
// features, their class centroids, and the pool samples the margin rule
// selected, all projected with the same PCA).
type ScatterSpec struct {
	Title, XLabel, YLabel string
	// ClassNames names classes 0..K-1 (legend entries, colours by index).
	ClassNames []string
	// Points are drawn as small translucent discs coloured by Labels[i];
	// a negative label (unlabelled) is grey.
	Points [][2]float64
	Labels []int
	// Centroids[k] is class k's centroid, drawn as a large outlined square;
	// nil or shorter than ClassNames means no centroid for those classes.
	// A NaN coordinate (class without samples) is skipped.
	Centroids [][2]float64
	// Overlay points are drawn as open triangles coloured by
	// OverlayLabels[i] (the pseudo-label), named OverlayName in the legend
	// (default "selected").
	Overlay       [][2]float64
	OverlayLabels []int
	OverlayName   string
}

// Scatter draws s with a legend right of the axes (classes, "centroid",
// the overlay name), so no entry hides a point.
func Scatter(s ScatterSpec) (*Figure, error) {
	k := len(s.ClassNames)
	if len(s.Points) != len(s.Labels) {
		return nil, fmt.Errorf("plot.Scatter: %d points but %d labels", len(s.Points), len(s.Labels))
	}
	if len(s.Overlay) != len(s.OverlayLabels) {
		return nil, fmt.Errorf("plot.Scatter: %d overlay points but %d overlay labels", len(s.Overlay), len(s.OverlayLabels))
	}
	if len(s.Points)+len(s.Overlay)+len(s.Centroids) == 0 {
		return nil, fmt.Errorf("plot.Scatter: nothing to draw")
	}
	if len(s.Centroids) > k {
		return nil, fmt.Errorf("plot.Scatter: %d centroids for %d class names", len(s.Centroids), k)
	}
	for i, l := range s.Labels {
		if l >= k {
			return nil, fmt.Errorf("plot.Scatter: point %d has label %d, only %d class names", i, l, k)
		}
	}
	for i, l := range s.OverlayLabels {
		if l >= k {
			return nil, fmt.Errorf("plot.Scatter: overlay point %d has label %d, only %d class names", i, l, k)
		}
	}
	if s.OverlayName == "" {
		s.OverlayName = "selected"
	}
	// Legend: classes that occur, then the marker kinds.
	present := make([]bool, k)
	unlabelled := false
	for _, l := range append(append([]int(nil), s.Labels...), s.OverlayLabels...) {
		if l < 0 {
			unlabelled = true
		} else {
			present[l] = true
		}
	}
	for c := range s.Centroids {
		present[c] = true
	}
	var items []legendItem
	for c, name := range s.ClassNames {
		if present[c] {
			items = append(items, legendItem{name, boxThumb(ClassColor(c), nil)})
		}
	}
	if unlabelled {
		items = append(items, legendItem{"unlabelled", boxThumb(ClassColor(-1), nil)})
	}
	grey := color.NRGBA{0x44, 0x44, 0x44, 0xff}
	if len(s.Points) > 0 {
		items = append(items, legendItem{"labelled", glyphThumb(draw.GlyphStyle{Color: grey, Radius: 2.5, Shape: draw.CircleGlyph{}})})
	}
	if len(s.Centroids) > 0 {
		items = append(items, legendItem{"centroid", glyphThumb(draw.GlyphStyle{Color: grey, Radius: 4.5, Shape: centroidGlyph{}})})
	}
	if len(s.Overlay) > 0 {
		items = append(items, legendItem{s.OverlayName, glyphThumb(draw.GlyphStyle{Color: grey, Radius: 3, Shape: overlayGlyph{}})})
	}
	lw := verticalLegendWidth(items)
	return newFigure(420+lw, 340, func(c draw.Canvas) {
		body := draw.Crop(c, 0, -lw, 0, 0)
		p := scatterPlot(&s)
		p.Draw(body)
		leg := draw.Crop(c, c.Max.X-c.Min.X-lw, 0, 0, -22)
		drawVerticalLegend(leg, items)
	}), nil
}

func scatterPlot(s *ScatterSpec) *gplot.Plot {
	p := newPlot(s.Title, s.XLabel, s.YLabel)
	p.Add(plotter.NewGrid())
	byClass := func(pts [][2]float64, labels []int) map[int]plotter.XYs {
		m := map[int]plotter.XYs{}
		for i, pt := range pts {
			if finite(pt) {
				m[labels[i]] = append(m[labels[i]], plotter.XY{X: pt[0], Y: pt[1]})
			}
		}
		return m
	}
	// Draw in class order (deterministic output), unlabelled first so
	// labelled points sit on top.
	order := append([]int{-1}, seq(len(s.ClassNames))...)
	pts := byClass(s.Points, s.Labels)
	// Smaller, lighter discs for big clouds, so density stays visible.
	radius, alpha := vg.Length(2.2), uint8(150)
	if len(s.Points) > 2000 {
		radius, alpha = 1.5, 90
	}
	for _, c := range order {
		if xys := pts[c]; len(xys) > 0 {
			sc, _ := plotter.NewScatter(xys)
			sc.GlyphStyle = draw.GlyphStyle{Color: withAlpha(ClassColor(c), alpha), Radius: radius, Shape: draw.CircleGlyph{}}
			p.Add(sc)
		}
	}
	ov := byClass(s.Overlay, s.OverlayLabels)
	for _, c := range order {
		if xys := ov[c]; len(xys) > 0 {
			sc, _ := plotter.NewScatter(xys)
			sc.GlyphStyle = draw.GlyphStyle{Color: ClassColor(c), Radius: 3, Shape: overlayGlyph{}}
			p.Add(sc)
		}
	}
	for c, pt := range s.Centroids {
		if !finite(pt) {
			continue
		}
		sc, _ := plotter.NewScatter(plotter.XYs{{X: pt[0], Y: pt[1]}})
		sc.GlyphStyle = draw.GlyphStyle{Color: ClassColor(c), Radius: 5, Shape: centroidGlyph{}}
		p.Add(sc)
	}
	return p
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func finite(pt [2]float64) bool {
	return !math.IsNaN(pt[0]) && !math.IsNaN(pt[1]) && !math.IsInf(pt[0], 0) && !math.IsInf(pt[1], 0)
}

// centroidGlyph is a square filled with the class colour and a thick black
// outline, readable on top of a dense cloud of its own class.
type centroidGlyph struct{}

func (centroidGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius
	pts := []vg.Point{{X: pt.X - r, Y: pt.Y - r}, {X: pt.X + r, Y: pt.Y - r}, {X: pt.X + r, Y: pt.Y + r}, {X: pt.X - r, Y: pt.Y + r}}
	c.FillPolygon(sty.Color, pts)
	c.StrokeLines(draw.LineStyle{Color: color.Black, Width: 1.6}, append(pts, pts[0]))
}

// overlayGlyph is an open triangle with a white halo, so selected pool
// samples stay visible over the labelled discs.
type overlayGlyph struct{}

func (overlayGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius
	h := r * vg.Length(math.Sqrt(3)) / 2
	pts := []vg.Point{{X: pt.X, Y: pt.Y + r}, {X: pt.X + h, Y: pt.Y - r/2}, {X: pt.X - h, Y: pt.Y - r/2}}
	pts = append(pts, pts[0])
	c.StrokeLines(draw.LineStyle{Color: color.White, Width: 2.4}, pts)
	c.StrokeLines(draw.LineStyle{Color: sty.Color, Width: 1.1}, pts)
}
