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

// Series is one named curve. X may be nil in Curves, where it defaults to
// the epochs 1..len(Y); Lines needs X.
type Series struct {
	Name string
	X, Y []float64
	// Dashed draws the line dashed (e.g. train dashed, test solid).
	Dashed bool
}

// Panel is one set of axes with its curves.
type Panel struct {
	Title, XLabel, YLabel string
	Series                []Series
	// Markers draws a dot at every point (useful for few points, e.g. a
	// precision-vs-margin sweep).
	Markers bool
	// YMin and YMax fix the y range when YMax > YMin (e.g. 0..1 for
	// accuracy); otherwise it follows the data.
	YMin, YMax float64
}

// Curves draws panels side by side (up to three per row), e.g. a loss panel
// and an accuracy panel over epochs. A series name has the same colour in
// every panel, and one legend below the panels names them all, so "train"
// and "test" read the same in loss and accuracy. NaN values leave gaps.
func Curves(panels ...Panel) (*Figure, error) {
	for i := range panels {
		if err := checkPanel(&panels[i], true); err != nil {
			return nil, fmt.Errorf("plot.Curves: panel %d (%q): %w", i, panels[i].Title, err)
		}
	}
	return linesFigure(panels)
}

// Lines draws one panel of curves over an explicit x axis, e.g. precision
// of pseudo-labels against the margin m for the cosine and softmax rules.
func Lines(p Panel) (*Figure, error) {
	if err := checkPanel(&p, false); err != nil {
		return nil, fmt.Errorf("plot.Lines: %w", err)
	}
	return linesFigure([]Panel{p})
}

func checkPanel(p *Panel, epochDefault bool) error {
	if len(p.Series) == 0 {
		return fmt.Errorf("no series")
	}
	out := make([]Series, len(p.Series))
	for i, s := range p.Series {
		if len(s.Y) == 0 {
			return fmt.Errorf("series %d (%q) has no points", i, s.Name)
		}
		if s.X == nil {
			if !epochDefault {
				return fmt.Errorf("series %d (%q) has no X values", i, s.Name)
			}
			s.X = make([]float64, len(s.Y))
			for j := range s.X {
				s.X[j] = float64(j + 1)
			}
		}
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("series %d (%q): %d X values but %d Y values", i, s.Name, len(s.X), len(s.Y))
		}
		out[i] = s
	}
	p.Series = out
	if p.XLabel == "" && epochDefault {
		p.XLabel = "epoch"
	}
	return nil
}

func linesFigure(panels []Panel) (*Figure, error) {
	if len(panels) == 0 {
		return nil, fmt.Errorf("plot: no panels")
	}
	// One colour per distinct series name, in order of first appearance.
	colourOf := map[string]int{}
	var items []legendItem
	for _, p := range panels {
		for _, s := range p.Series {
			if _, ok := colourOf[s.Name]; ok || s.Name == "" {
				continue
			}
			colourOf[s.Name] = len(colourOf)
			items = append(items, legendItem{s.Name, lineThumb(seriesColor(colourOf[s.Name]), 1.5, dashes(s.Dashed))})
		}
	}
	cols := min(len(panels), 3)
	if len(panels) == 4 {
		cols = 2 // 2x2 rather than 3+1
	}
	rows := (len(panels) + cols - 1) / cols
	w := vg.Length(cols) * 300
	return withLegendAbove(w, vg.Length(rows)*220, items, func(body draw.Canvas) {
		plots := make([][]*gplot.Plot, rows)
		for r := range plots {
			plots[r] = make([]*gplot.Plot, cols)
		}
		for i, p := range panels {
			plots[i/cols][i%cols] = panelPlot(p, colourOf)
		}
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadTop: 4, PadBottom: 2, PadLeft: 4, PadRight: 8, PadX: 18, PadY: 14}
		canvases := gplot.Align(plots, tiles, body)
		for r := range plots {
			for k, p := range plots[r] {
				if p != nil {
					p.Draw(canvases[r][k])
				}
			}
		}
	}), nil
}

// seriesColor skips the palette's grey so curves stay distinct.
func seriesColor(i int) color.NRGBA {
	order := []int{4, 0, 1, 3, 2, 5, 7, 9, 8, 6}
	return ClassColor(order[i%len(order)])
}

func dashes(d bool) []vg.Length {
	if d {
		return []vg.Length{5, 3}
	}
	return nil
}

func panelPlot(p Panel, colourOf map[string]int) *gplot.Plot {
	pl := newPlot(p.Title, p.XLabel, p.YLabel)
	pl.Add(plotter.NewGrid())
	for _, s := range p.Series {
		clr := seriesColor(colourOf[s.Name])
		xys := make(plotter.XYs, 0, len(s.Y))
		var segs []plotter.XYs
		for j := range s.Y {
			if math.IsNaN(s.Y[j]) || math.IsInf(s.Y[j], 0) || math.IsNaN(s.X[j]) {
				if len(xys) > 0 {
					segs = append(segs, xys)
					xys = nil
				}
				continue
			}
			xys = append(xys, plotter.XY{X: s.X[j], Y: s.Y[j]})
		}
		if len(xys) > 0 {
			segs = append(segs, xys)
		}
		for _, seg := range segs {
			l, err := plotter.NewLine(seg)
			if err != nil {
				continue // only fails on non-finite values, filtered above
			}
			l.Color = clr
			l.Width = 1.5
			l.Dashes = dashes(s.Dashed)
			pl.Add(l)
			if p.Markers || len(seg) == 1 {
				sc, err := plotter.NewScatter(seg)
				if err == nil {
					sc.GlyphStyle = draw.GlyphStyle{Color: clr, Radius: 2.2, Shape: draw.CircleGlyph{}}
					pl.Add(sc)
				}
			}
		}
	}
	if p.YMax > p.YMin {
		pl.Y.Min, pl.Y.Max = p.YMin, p.YMax
	}
	if allIntegers(p.Series) {
		pl.X.Tick.Marker = integerTicks{}
	}
	return pl
}

// allIntegers reports whether every x is a whole number (epochs, steps).
func allIntegers(series []Series) bool {
	for _, s := range series {
		for _, x := range s.X {
			if x != math.Trunc(x) || math.Abs(x) > 1e9 {
				return false
			}
		}
	}
	return true
}

// integerTicks labels whole numbers only, at a step of 1, 2 or 5 times a
// power of ten, so an epoch axis reads 1, 5, 10, 15, 20 rather than 4, 12,
// 20; the first value is always labelled.
type integerTicks struct{}

func (integerTicks) Ticks(lo, hi float64) []gplot.Tick {
	first, last := math.Ceil(lo), math.Floor(hi)
	if last < first {
		return gplot.DefaultTicks{}.Ticks(lo, hi)
	}
	step := 1.0
	for p := 1.0; ; p *= 10 {
		found := false
		for _, m := range []float64{1, 2, 5} {
			if (last-first)/(m*p) <= 6 {
				step, found = m*p, true
				break
			}
		}
		if found {
			break
		}
	}
	var ticks []gplot.Tick
	ticks = append(ticks, gplot.Tick{Value: first, Label: fmt.Sprint(first)})
	for v := math.Ceil(first/step) * step; v <= last; v += step {
		if v-first < step/2 {
			continue // too close to the labelled first value
		}
		ticks = append(ticks, gplot.Tick{Value: v, Label: fmt.Sprint(v)})
	}
	// Unlabelled minor ticks at every integer when there are few.
	if last-first <= 60 && step > 1 {
		for v := first; v <= last; v++ {
			if math.Mod(v, step) != 0 && v != first {
				ticks = append(ticks, gplot.Tick{Value: v})
			}
		}
	}
	return ticks
}
