package plot

import (
	"image/color"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Legends are drawn outside the data area (below or beside it) so that they
// never hide curves or points, which gonum's in-plot legend can.

type legendItem struct {
	name  string
	thumb gplot.Thumbnailer
}

// thumbFunc adapts a function to gplot.Thumbnailer.
type thumbFunc func(c *draw.Canvas)

func (f thumbFunc) Thumbnail(c *draw.Canvas) { f(c) }

func lineThumb(clr color.Color, width vg.Length, dashes []vg.Length) thumbFunc {
	return func(c *draw.Canvas) {
		y := c.Center().Y
		c.StrokeLine2(draw.LineStyle{Color: clr, Width: width, Dashes: dashes}, c.Min.X, y, c.Max.X, y)
	}
}

func boxThumb(fill, stroke color.Color) thumbFunc {
	return func(c *draw.Canvas) {
		r := c.Rectangle
		pts := []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}}
		c.FillPolygon(fill, pts)
		if stroke != nil {
			c.StrokeLines(draw.LineStyle{Color: stroke, Width: 0.5}, append(pts, pts[0]))
		}
	}
}

func glyphThumb(sty draw.GlyphStyle) thumbFunc {
	return func(c *draw.Canvas) { c.DrawGlyphNoClip(sty, c.Center()) }
}

const (
	legendFont   = 9
	legendThumbW = 18
	legendGap    = 4
	legendItemSp = 12
)

func legendText() text.Style { return textStyle(legendFont, text.XLeft, text.YCenter) }

func (it legendItem) width(sty text.Style) vg.Length {
	return legendThumbW + legendGap + sty.Width(it.name)
}

// legendRows splits items into rows that fit into width.
func legendRows(items []legendItem, width vg.Length) [][]legendItem {
	sty := legendText()
	var rows [][]legendItem
	var row []legendItem
	var w vg.Length
	for _, it := range items {
		iw := it.width(sty)
		if len(row) > 0 && w+legendItemSp+iw > width {
			rows = append(rows, row)
			row, w = nil, 0
		}
		if len(row) > 0 {
			w += legendItemSp
		}
		row = append(row, it)
		w += iw
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	return rows
}

func legendRowHeight() vg.Length { return legendFont * 1.6 }

// withLegendAbove returns a figure w wide whose body, bodyH high and drawn
// by drawBody, has the legend of items in centred rows above it.
func withLegendAbove(w, bodyH vg.Length, items []legendItem, drawBody func(c draw.Canvas)) *Figure {
	return newFigure(w, bodyH+horizontalLegendHeight(items, w), func(c draw.Canvas) {
		lh := horizontalLegendHeight(items, c.Max.X-c.Min.X)
		if len(items) > 0 {
			drawHorizontalLegend(draw.Crop(c, 0, 0, 0, -(c.Max.Y-c.Min.Y-lh)), items)
		}
		drawBody(draw.Crop(c, 0, 0, lh, 0))
	})
}

// horizontalLegendHeight is the height drawHorizontalLegend needs.
func horizontalLegendHeight(items []legendItem, width vg.Length) vg.Length {
	if len(items) == 0 {
		return 0
	}
	return vg.Length(len(legendRows(items, width)))*legendRowHeight() + 4
}

// drawHorizontalLegend draws centred rows of items from the top of c.
func drawHorizontalLegend(c draw.Canvas, items []legendItem) {
	sty := legendText()
	rh := legendRowHeight()
	y := c.Max.Y - 2 - rh/2
	for _, row := range legendRows(items, c.Max.X-c.Min.X) {
		var total vg.Length
		for i, it := range row {
			if i > 0 {
				total += legendItemSp
			}
			total += it.width(sty)
		}
		x := c.Min.X + (c.Max.X-c.Min.X-total)/2
		for _, it := range row {
			drawLegendItem(c, sty, it, x, y)
			x += it.width(sty) + legendItemSp
		}
		y -= rh
	}
}

func drawLegendItem(c draw.Canvas, sty text.Style, it legendItem, x, y vg.Length) {
	th := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: x, Y: y - legendFont/2},
		Max: vg.Point{X: x + legendThumbW, Y: y + legendFont/2},
	}}
	it.thumb.Thumbnail(&th)
	c.FillText(sty, vg.Point{X: x + legendThumbW + legendGap, Y: y}, it.name)
}

// verticalLegendWidth is the width drawVerticalLegend needs.
func verticalLegendWidth(items []legendItem) vg.Length {
	sty := legendText()
	var w vg.Length
	for _, it := range items {
		if iw := it.width(sty); iw > w {
			w = iw
		}
	}
	return w + 12
}

// drawVerticalLegend draws one item per line from the top left of c.
func drawVerticalLegend(c draw.Canvas, items []legendItem) {
	sty := legendText()
	rh := legendRowHeight()
	y := c.Max.Y - rh/2
	for _, it := range items {
		drawLegendItem(c, sty, it, c.Min.X+6, y)
		y -= rh
	}
}
