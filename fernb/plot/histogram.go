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

// HistSeries is one distribution, e.g. the margins of correct or of wrong
// pseudo-labels.
type HistSeries struct {
	Name   string
	Values []float64
}

// Marker is a labelled vertical reference line, e.g. the margin m in use.
type Marker struct {
	Name string
	X    float64
}

// HistogramSpec overlays histograms that share one set of bins.
type HistogramSpec struct {
	Title, XLabel, YLabel string
	Series                []HistSeries
	// Bins is the number of bins (default 30).
	Bins int
	// Min and Max fix the binned range when Max > Min; values outside are
	// counted in the first or last bin. Otherwise the data range is used.
	Min, Max float64
	// Density scales each series to unit area, to compare groups of
	// different sizes.
	Density bool
	Markers []Marker
}

// Histogram draws translucent, outlined histograms over the same bins so
// that overlapping distributions stay readable, with optional vertical
// markers and a legend below the axes. NaNs are ignored.
func Histogram(s HistogramSpec) (*Figure, error) {
	if len(s.Series) == 0 {
		return nil, fmt.Errorf("plot.Histogram: no series")
	}
	if s.Bins <= 0 {
		s.Bins = 30
	}
	lo, hi := s.Min, s.Max
	if !(hi > lo) {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, ser := range s.Series {
			for _, v := range ser.Values {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
		if math.IsInf(lo, 1) {
			return nil, fmt.Errorf("plot.Histogram: no finite values")
		}
		if hi == lo {
			lo, hi = lo-0.5, hi+0.5
		}
	}
	hs := histPlotter{lo: lo, hi: hi, counts: make([][]float64, len(s.Series))}
	width := (hi - lo) / float64(s.Bins)
	for k, ser := range s.Series {
		cnt := make([]float64, s.Bins)
		n := 0
		for _, v := range ser.Values {
			if math.IsNaN(v) {
				continue
			}
			b := int(math.Floor((v - lo) / width))
			b = max(0, min(s.Bins-1, b))
			cnt[b]++
			n++
		}
		if s.Density && n > 0 {
			for i := range cnt {
				cnt[i] /= float64(n) * width
			}
		}
		hs.counts[k] = cnt
	}
	if s.YLabel == "" {
		s.YLabel = "count"
		if s.Density {
			s.YLabel = "density"
		}
	}
	var items []legendItem
	for k, ser := range s.Series {
		if ser.Name != "" {
			items = append(items, legendItem{ser.Name, boxThumb(withAlpha(seriesColor(k), 90), seriesColor(k))})
		}
	}
	for i, m := range s.Markers {
		if m.Name != "" {
			items = append(items, legendItem{m.Name, lineThumb(markerColor(i), 1.5, []vg.Length{4, 2})})
		}
	}
	w := vg.Length(400)
	return withLegendAbove(w, 260, items, func(c draw.Canvas) {
		p := newPlot(s.Title, s.XLabel, s.YLabel)
		p.Add(plotter.NewGrid(), hs)
		for i, m := range s.Markers {
			p.Add(vline{x: m.X, clr: markerColor(i)})
		}
		p.Draw(c)
	}), nil
}

func markerColor(i int) color.NRGBA {
	return [...]color.NRGBA{{0, 0, 0, 255}, {0xCC, 0, 0, 255}, {0x55, 0x55, 0x55, 255}}[i%3]
}

type histPlotter struct {
	lo, hi float64
	counts [][]float64
}

func (h histPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	for _, cnt := range h.counts {
		for _, v := range cnt {
			ymax = math.Max(ymax, v)
		}
	}
	if ymax == 0 {
		ymax = 1
	}
	return h.lo, h.hi, 0, ymax * 1.05
}

func (h histPlotter) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	// Fill all first, then outline all, so no fill hides an outline.
	outlines := make([][]vg.Point, len(h.counts))
	for k, cnt := range h.counts {
		width := (h.hi - h.lo) / float64(len(cnt))
		outline := []vg.Point{{X: tx(h.lo), Y: ty(0)}}
		for i, v := range cnt {
			x0, x1 := h.lo+float64(i)*width, h.lo+float64(i+1)*width
			outline = append(outline, vg.Point{X: tx(x0), Y: ty(v)}, vg.Point{X: tx(x1), Y: ty(v)})
		}
		outline = append(outline, vg.Point{X: tx(h.hi), Y: ty(0)})
		c.FillPolygon(withAlpha(seriesColor(k), 80), c.ClipPolygonXY(outline))
		outlines[k] = outline
	}
	for k, outline := range outlines {
		c.StrokeLines(draw.LineStyle{Color: seriesColor(k), Width: 1.3}, c.ClipLinesXY(outline)...)
	}
}

// vline is a dashed vertical line across the data area.
type vline struct {
	x   float64
	clr color.Color
}

func (v vline) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	x := tx(v.x)
	if x < c.Min.X || x > c.Max.X {
		return
	}
	c.StrokeLine2(draw.LineStyle{Color: v.clr, Width: 1.5, Dashes: []vg.Length{4, 2}}, x, ty(p.Y.Min), x, ty(p.Y.Max))
}

func (v vline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return v.x, v.x, math.Inf(1), math.Inf(-1)
}
