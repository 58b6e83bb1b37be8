package plot

import (
	"fmt"
	"image/color"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ConfusionSpec is a confusion matrix: Matrix[t][p] counts samples of true
// class t predicted as p.
type ConfusionSpec struct {
	Title  string
	Matrix [][]int
	Names  []string
	// XLabel and YLabel default to "predicted" and "true".
	XLabel, YLabel string
}

// Confusion draws a confusion matrix as a heat map. Each cell shows its
// count and its share of the true class (row percentage); the colour is
// that share, so a rare class with few samples is as readable as a common
// one. The title gets the overall accuracy appended.
func Confusion(s ConfusionSpec) (*Figure, error) {
	n := len(s.Matrix)
	if n == 0 {
		return nil, fmt.Errorf("plot.Confusion: empty matrix")
	}
	if len(s.Names) != n {
		return nil, fmt.Errorf("plot.Confusion: %d names for a %dx%d matrix", len(s.Names), n, n)
	}
	total, correct := 0, 0
	for i, r := range s.Matrix {
		if len(r) != n {
			return nil, fmt.Errorf("plot.Confusion: row %d has %d entries, want %d (square matrix)", i, len(r), n)
		}
		for j, v := range r {
			if v < 0 {
				return nil, fmt.Errorf("plot.Confusion: negative count %d at [%d][%d]", v, i, j)
			}
			total += v
			if i == j {
				correct += v
			}
		}
	}
	if s.XLabel == "" {
		s.XLabel = "predicted"
	}
	if s.YLabel == "" {
		s.YLabel = "true"
	}
	title := s.Title
	if total > 0 {
		acc := fmt.Sprintf("accuracy %.1f%% of %d", 100*float64(correct)/float64(total), total)
		if title == "" {
			title = acc
		} else {
			title += " (" + acc + ")"
		}
	}
	side := vg.Length(max(300, 48*n+120))
	return newFigure(side, side, func(c draw.Canvas) {
		p := newPlot(title, s.XLabel, s.YLabel)
		p.X.Min, p.X.Max = -0.5, float64(n)-0.5
		p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
		p.X.Padding, p.Y.Padding = 0, 0
		var xt, yt gplot.ConstantTicks
		for i, name := range s.Names {
			xt = append(xt, gplot.Tick{Value: float64(i), Label: name})
			yt = append(yt, gplot.Tick{Value: float64(n - 1 - i), Label: name})
		}
		p.X.Tick.Marker, p.Y.Tick.Marker = xt, yt
		// Rotate the predicted-class names when they would collide.
		cell := (c.Max.X - c.Min.X - 90) / vg.Length(n)
		for _, name := range s.Names {
			if p.X.Tick.Label.Width(name) > 0.9*cell {
				p.X.Tick.Label.Rotation = math.Pi / 5
				p.X.Tick.Label.XAlign = text.XRight
				p.X.Tick.Label.YAlign = text.YCenter
				break
			}
		}
		p.Add(confusionCells{m: s.Matrix})
		p.Draw(c)
	}), nil
}

type confusionCells struct{ m [][]int }

func (cc confusionCells) Plot(c draw.Canvas, p *gplot.Plot) {
	n := len(cc.m)
	tx, ty := p.Transforms(&c)
	cellW := tx(1) - tx(0)
	fs := vg.Length(math.Min(10, math.Max(5, float64(cellW)/5)))
	for i, r := range cc.m {
		rowSum := 0
		for _, v := range r {
			rowSum += v
		}
		for j, v := range r {
			f := 0.0
			if rowSum > 0 {
				f = float64(v) / float64(rowSum)
			}
			y := float64(n - 1 - i)
			x0, x1 := tx(float64(j)-0.5), tx(float64(j)+0.5)
			y0, y1 := ty(y-0.5), ty(y+0.5)
			c.FillPolygon(heat(f), []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
			c.StrokeLines(draw.LineStyle{Color: color.White, Width: 0.75},
				[]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}, {X: x0, Y: y0}})
			sty := textStyle(fs, text.XCenter, text.YCenter)
			label := fmt.Sprintf("%d\n%.0f%%", v, 100*f)
			switch {
			case v == 0:
				label, sty.Color = "0", color.NRGBA{0xA0, 0xA0, 0xA0, 0xff}
			case f > 0.55:
				sty.Color = color.White
			}
			c.FillText(sty, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, label)
		}
	}
}

// heat maps 0..1 from white to a dark blue.
func heat(f float64) color.NRGBA {
	f = math.Max(0, math.Min(1, f))
	lerp := func(a, b uint8) uint8 { return uint8(float64(a) + (float64(b)-float64(a))*f + 0.5) }
	return color.NRGBA{lerp(0xF7, 0x08), lerp(0xFB, 0x30), lerp(0xFF, 0x6B), 0xff}
}
