package plot

import (
	"fmt"
	"image/color"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// BarSeries is one bar per category, e.g. "+DAS" over the data sets.
// Errors (optional, same length as Values) are drawn as ± error bars, e.g.
// the standard deviation over seeds. A NaN value leaves its bar out.
type BarSeries struct {
	Name           string
	Values, Errors []float64
}

// BarsSpec is a grouped bar chart: one group per category, one bar per
// series in each group (e.g. categories = models, series = baseline,
// +VAS, +DAS, values = seconds per epoch as in the paper's Fig. 5).
type BarsSpec struct {
	Title, XLabel, YLabel string
	Categories            []string
	Series                []BarSeries
	// ValueLabels prints each value above its bar, with Format
	// (default "%.3g").
	ValueLabels bool
	Format      string
}

// Bars draws a grouped bar chart with a legend below the axes.
func Bars(s BarsSpec) (*Figure, error) {
	nc := len(s.Categories)
	if nc == 0 || len(s.Series) == 0 {
		return nil, fmt.Errorf("plot.Bars: need at least one category and one series (got %d, %d)", nc, len(s.Series))
	}
	for i, ser := range s.Series {
		if len(ser.Values) != nc {
			return nil, fmt.Errorf("plot.Bars: series %d (%q) has %d values for %d categories", i, ser.Name, len(ser.Values), nc)
		}
		if ser.Errors != nil && len(ser.Errors) != nc {
			return nil, fmt.Errorf("plot.Bars: series %d (%q) has %d errors for %d categories", i, ser.Name, len(ser.Errors), nc)
		}
		for j, e := range ser.Errors {
			if e < 0 {
				return nil, fmt.Errorf("plot.Bars: series %d (%q) category %d: negative error %v", i, ser.Name, j, e)
			}
		}
	}
	if s.Format == "" {
		s.Format = "%.3g"
	}
	var items []legendItem
	for i, ser := range s.Series {
		if ser.Name != "" {
			items = append(items, legendItem{ser.Name, boxThumb(seriesColor(i), color.Black)})
		}
	}
	w := vg.Length(max(320, 60+nc*(30+24*len(s.Series))))
	return withLegendAbove(w, 260, items, func(c draw.Canvas) {
		p := newPlot(s.Title, s.XLabel, s.YLabel)
		grid := plotter.NewGrid()
		grid.Vertical.Color = nil
		p.Add(grid)
		b := barsPlotter{s: &s}
		p.Add(b)
		var ticks gplot.ConstantTicks
		for i, cat := range s.Categories {
			ticks = append(ticks, gplot.Tick{Value: float64(i), Label: cat})
		}
		p.X.Tick.Marker = ticks
		p.X.Tick.Length = 0
		p.X.Min, p.X.Max = -0.5, float64(nc)-0.5
		p.X.Padding = 0
		p.Draw(c)
	}), nil
}

type barsPlotter struct{ s *BarsSpec }

const barGroupWidth = 0.8

func (b barsPlotter) geometry(i, k int) (x0, x1 float64) {
	bw := barGroupWidth / float64(len(b.s.Series))
	x0 = float64(i) - barGroupWidth/2 + float64(k)*bw
	return x0, x0 + bw
}

func (b barsPlotter) top(k, i int) float64 {
	v := b.s.Series[k].Values[i]
	if b.s.Series[k].Errors != nil && v >= 0 {
		v += b.s.Series[k].Errors[i]
	}
	return v
}

func (b barsPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = -0.5, float64(len(b.s.Categories))-0.5
	for k, ser := range b.s.Series {
		for i, v := range ser.Values {
			if math.IsNaN(v) {
				continue
			}
			lo, hi := v, v
			if ser.Errors != nil {
				lo, hi = v-ser.Errors[i], v+ser.Errors[i]
			}
			ymin, ymax = math.Min(ymin, lo), math.Max(ymax, math.Max(hi, b.top(k, i)))
		}
	}
	if b.s.ValueLabels {
		ymax += 0.08 * (ymax - ymin) // room for the value labels
	}
	if ymax == ymin {
		ymax = ymin + 1
	}
	return
}

func (b barsPlotter) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	lab := textStyle(7.5, text.XCenter, text.YBottom)
	for k, ser := range b.s.Series {
		fill := seriesColor(k)
		for i, v := range ser.Values {
			if math.IsNaN(v) {
				continue
			}
			x0, x1 := b.geometry(i, k)
			pts := []vg.Point{{X: tx(x0), Y: ty(0)}, {X: tx(x1), Y: ty(0)}, {X: tx(x1), Y: ty(v)}, {X: tx(x0), Y: ty(v)}}
			c.FillPolygon(fill, pts)
			c.StrokeLines(draw.LineStyle{Color: color.Black, Width: 0.5}, append(pts, pts[0]))
			topY := ty(v)
			if ser.Errors != nil && ser.Errors[i] > 0 {
				e := ser.Errors[i]
				xm := tx((x0 + x1) / 2)
				capW := (tx(x1) - tx(x0)) * 0.25
				ls := draw.LineStyle{Color: color.Black, Width: 1}
				c.StrokeLine2(ls, xm, ty(v-e), xm, ty(v+e))
				c.StrokeLine2(ls, xm-capW, ty(v-e), xm+capW, ty(v-e))
				c.StrokeLine2(ls, xm-capW, ty(v+e), xm+capW, ty(v+e))
				if v >= 0 {
					topY = ty(v + e)
				}
			}
			if b.s.ValueLabels {
				c.FillText(lab, vg.Point{X: tx((x0 + x1) / 2), Y: topY + 4}, fmt.Sprintf(b.s.Format, v))
			}
		}
	}
}
