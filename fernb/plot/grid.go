package plot

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Cell is one image of a Grid.
type Cell struct {
	Image image.Image
	// Caption is drawn under the image; "\n" separates lines
	// (e.g. "true: Sad\npred: Happy" for a failure case, or "m=0.31").
	Caption string
	// Border, when not nil, frames the image (e.g. red for a wrong
	// prediction).
	Border color.Color
}

// Grid is a labelled grid of images: one row per class or data set, one
// column per sample. Rows may have different lengths (a class with fewer
// samples leaves blanks) and a nil Image leaves an empty slot.
type Grid struct {
	Title string
	// RowLabels name the rows (drawn left of them); optional.
	RowLabels []string
	// ColLabels name the columns (drawn above them); optional.
	ColLabels []string
	Rows      [][]Cell
	// CellSize is the side of an image slot at the natural size, in points
	// (default 56, about 75 pixels in PNG).
	CellSize vg.Length
}

// AddRow appends a row of images with a label; captions may be nil or
// shorter than imgs.
func (g *Grid) AddRow(label string, imgs []image.Image, captions []string) {
	row := make([]Cell, len(imgs))
	for i, im := range imgs {
		row[i].Image = im
		if i < len(captions) {
			row[i].Caption = captions[i]
		}
	}
	// Keep RowLabels aligned with Rows even if earlier rows had none.
	for len(g.RowLabels) < len(g.Rows) {
		g.RowLabels = append(g.RowLabels, "")
	}
	g.RowLabels = append(g.RowLabels, label)
	g.Rows = append(g.Rows, row)
}

// gridLayout holds the unscaled layout of a grid in points.
type gridLayout struct {
	pad, gap, titleH, colH, rowW, capH, cellW, cellS vg.Length
	rows, cols                                       int
	w, h                                             vg.Length
}

const (
	gridTitleFont   = 12
	gridLabelFont   = 9.5
	gridCaptionFont = 7.5
)

func layoutGrid(g *Grid) gridLayout {
	l := gridLayout{pad: 6, gap: 5, cellS: g.CellSize, rows: len(g.Rows)}
	if l.cellS <= 0 {
		l.cellS = 56
	}
	for _, r := range g.Rows {
		l.cols = max(l.cols, len(r))
	}
	l.cols = max(l.cols, len(g.ColLabels))
	if g.Title != "" {
		l.titleH = gridTitleFont * 1.9
	}
	if anyNonEmpty(g.ColLabels) {
		l.colH = gridLabelFont * 1.7
	}
	lab := textStyle(gridLabelFont, text.XRight, text.YCenter)
	for _, s := range g.RowLabels {
		l.rowW = max(l.rowW, lab.Width(s)+8)
	}
	capSty := textStyle(gridCaptionFont, text.XCenter, text.YTop)
	lines := 0
	l.cellW = l.cellS
	for _, r := range g.Rows {
		for _, c := range r {
			if c.Caption == "" {
				continue
			}
			lines = max(lines, strings.Count(c.Caption, "\n")+1)
			l.cellW = max(l.cellW, capSty.Width(c.Caption)+4)
		}
	}
	for _, s := range g.ColLabels {
		l.cellW = max(l.cellW, lab.Width(s)+4)
	}
	if lines > 0 {
		l.capH = vg.Length(lines)*gridCaptionFont*1.25 + 3
	}
	l.w = 2*l.pad + l.rowW + vg.Length(l.cols)*l.cellW + vg.Length(max(l.cols-1, 0))*l.gap
	l.h = 2*l.pad + l.titleH + l.colH + vg.Length(l.rows)*(l.cellS+l.capH) + vg.Length(max(l.rows-1, 0))*l.gap
	return l
}

func anyNonEmpty(ss []string) bool {
	for _, s := range ss {
		if s != "" {
			return true
		}
	}
	return false
}

// ImageGrid draws a labelled grid of images, e.g. samples per class
// (paper Fig. 2), selected pool samples sorted by confidence (Fig. 3),
// distilled images (Fig. 4) or failure cases (Fig. 6). Images keep their
// aspect ratio; captions and labels never overlap the images because the
// cells grow to fit them. Rendered at another size, the whole grid scales.
func ImageGrid(g Grid) (*Figure, error) {
	if len(g.Rows) == 0 {
		return nil, fmt.Errorf("plot.ImageGrid: no rows")
	}
	if len(g.RowLabels) > len(g.Rows) {
		return nil, fmt.Errorf("plot.ImageGrid: %d row labels for %d rows", len(g.RowLabels), len(g.Rows))
	}
	n := 0
	for i, r := range g.Rows {
		for j, c := range r {
			if c.Image == nil {
				continue
			}
			if b := c.Image.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 {
				return nil, fmt.Errorf("plot.ImageGrid: row %d column %d: empty image", i, j)
			}
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("plot.ImageGrid: no images")
	}
	l := layoutGrid(&g)
	return newFigure(l.w, l.h, func(c draw.Canvas) { drawGrid(c, &g, l) }), nil
}

func drawGrid(c draw.Canvas, g *Grid, l gridLayout) {
	cw, ch := c.Max.X-c.Min.X, c.Max.Y-c.Min.Y
	s := vg.Length(math.Min(float64(cw/l.w), float64(ch/l.h)))
	// Centre the scaled grid in the canvas.
	x0 := c.Min.X + (cw-l.w*s)/2
	top := c.Max.Y - (ch-l.h*s)/2
	y := top - l.pad*s
	if g.Title != "" {
		sty := textStyle(gridTitleFont*s, text.XCenter, text.YTop)
		c.FillText(sty, vg.Point{X: x0 + l.w*s/2, Y: y}, g.Title)
		y -= l.titleH * s
	}
	colX := func(j int) vg.Length {
		return x0 + (l.pad+l.rowW)*s + vg.Length(j)*(l.cellW+l.gap)*s
	}
	if l.colH > 0 {
		sty := textStyle(gridLabelFont*s, text.XCenter, text.YTop)
		for j, lab := range g.ColLabels {
			c.FillText(sty, vg.Point{X: colX(j) + l.cellW*s/2, Y: y}, lab)
		}
		y -= l.colH * s
	}
	labSty := textStyle(gridLabelFont*s, text.XRight, text.YCenter)
	capSty := textStyle(gridCaptionFont*s, text.XCenter, text.YTop)
	for i, row := range g.Rows {
		imgTop := y
		imgMid := imgTop - l.cellS*s/2
		if i < len(g.RowLabels) && g.RowLabels[i] != "" {
			c.FillText(labSty, vg.Point{X: x0 + (l.pad+l.rowW-8)*s, Y: imgMid}, g.RowLabels[i])
		}
		for j, cell := range row {
			cx := colX(j) + l.cellW*s/2
			if cell.Image != nil {
				r := fitRect(cell.Image.Bounds(), vg.Point{X: cx, Y: imgMid}, l.cellS*s)
				c.DrawImage(r, cell.Image)
				if cell.Border != nil {
					pts := []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min}
					c.StrokeLines(draw.LineStyle{Color: cell.Border, Width: 2 * s}, pts)
				}
			}
			if cell.Caption != "" {
				c.FillText(capSty, vg.Point{X: cx, Y: imgTop - (l.cellS+2)*s}, cell.Caption)
			}
		}
		y -= (l.cellS + l.capH + l.gap) * s
	}
}

// fitRect is the largest rectangle with the aspect of b inside a square of
// side side centred at centre.
func fitRect(b image.Rectangle, centre vg.Point, side vg.Length) vg.Rectangle {
	w, h := side, side
	if b.Dx() > b.Dy() {
		h = side * vg.Length(b.Dy()) / vg.Length(b.Dx())
	} else if b.Dy() > b.Dx() {
		w = side * vg.Length(b.Dx()) / vg.Length(b.Dy())
	}
	return vg.Rectangle{
		Min: vg.Point{X: centre.X - w/2, Y: centre.Y - h/2},
		Max: vg.Point{X: centre.X + w/2, Y: centre.Y + h/2},
	}
}

// Norm says how float pixel values map to 0..255 in ImagesFromNHWC.
//
// PerImage stretches each image's own min..max (what distilled images need:
// their values drift outside the data range). Otherwise, when Max > Min,
// values are mapped from Min..Max and clipped (e.g. Min=0, Max=1 or the
// preprocessing's range). Otherwise the min..max of the whole batch is used,
// so images stay comparable with each other.
type Norm struct {
	Min, Max float32
	PerImage bool
}

// ImagesFromNHWC converts a float32 NHWC batch (as in dataset.Tensors.X)
// into n images: Gray for 1 channel, RGBA for 3 (or 4, alpha ignored).
// NaNs become black.
func ImagesFromNHWC(x []float32, n, h, w, c int, norm Norm) ([]image.Image, error) {
	if n < 0 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("plot.ImagesFromNHWC: bad shape [%d,%d,%d,%d]", n, h, w, c)
	}
	if c != 1 && c != 3 && c != 4 {
		return nil, fmt.Errorf("plot.ImagesFromNHWC: %d channels, want 1, 3 or 4", c)
	}
	size := h * w * c
	if len(x) != n*size {
		return nil, fmt.Errorf("plot.ImagesFromNHWC: %d values for shape [%d,%d,%d,%d] (want %d)", len(x), n, h, w, c, n*size)
	}
	lo, hi := norm.Min, norm.Max
	if !norm.PerImage && !(hi > lo) {
		lo, hi = FiniteRange(x)
	}
	out := make([]image.Image, n)
	for i := range n {
		px := x[i*size : (i+1)*size]
		if norm.PerImage {
			lo, hi = FiniteRange(px)
		}
		scale := float32(0)
		if hi > lo {
			scale = 255 / (hi - lo)
		}
		conv := func(v float32) uint8 {
			if v != v { // NaN
				return 0
			}
			f := (v - lo) * scale
			switch {
			case f <= 0:
				return 0
			case f >= 255:
				return 255
			}
			return uint8(f + 0.5)
		}
		if c == 1 {
			im := image.NewGray(image.Rect(0, 0, w, h))
			for k, v := range px {
				im.Pix[k] = conv(v)
			}
			out[i] = im
			continue
		}
		im := image.NewRGBA(image.Rect(0, 0, w, h))
		for p := range h * w {
			for ch := range 3 {
				im.Pix[4*p+ch] = conv(px[p*c+ch])
			}
			im.Pix[4*p+3] = 255
		}
		out[i] = im
	}
	return out, nil
}

// FiniteRange returns the smallest and largest finite value of x (0, 0
// when it has none): the value range images are drawn in.
func FiniteRange(x []float32) (lo, hi float32) {
	first := true
	for _, v := range x {
		if v != v || math.IsInf(float64(v), 0) {
			continue
		}
		if first {
			lo, hi, first = v, v, false
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// NHWCGrid lays out a float32 NHWC batch (e.g. distilled images, [K*ipc,
// H,W,C] with the class-major order distillation writes) as a grid of cols
// images per row, converted with norm. Set Title, RowLabels, ColLabels and
// captions on the result before passing it to ImageGrid.
func NHWCGrid(x []float32, n, h, w, c int, norm Norm, cols int) (Grid, error) {
	if cols <= 0 {
		return Grid{}, fmt.Errorf("plot.NHWCGrid: cols=%d, want > 0", cols)
	}
	imgs, err := ImagesFromNHWC(x, n, h, w, c, norm)
	if err != nil {
		return Grid{}, err
	}
	var g Grid
	for i := 0; i < n; i += cols {
		row := make([]Cell, 0, cols)
		for _, im := range imgs[i:min(n, i+cols)] {
			row = append(row, Cell{Image: im})
		}
		g.Rows = append(g.Rows, row)
	}
	return g, nil
}
