package plot

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strings"

	"github.com/fernb/fernb/fernb/internal/atomicfile"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// PixelDPI is the resolution PNG renders at: PNG(w, h) produces exactly
// w x h pixels, with one point of the figure = PixelDPI/72 pixels.
const PixelDPI = 96

// Figure is a drawable figure with a natural size. Its layout is computed
// when it is drawn, so it can be rendered at any size and in any format.
type Figure struct {
	// Width and Height are the natural size used by Save and by PNG(0, 0).
	Width, Height vg.Length
	draw          func(c draw.Canvas)
}

// figureMargin keeps titles and axis labels off the edge of the image.
const figureMargin = 6

// newFigure wraps a draw function for content of natural size w x h: it
// fills the white background and leaves a margin on every side.
func newFigure(w, h vg.Length, fn func(c draw.Canvas)) *Figure {
	return &Figure{Width: w + 2*figureMargin, Height: h + 2*figureMargin, draw: func(c draw.Canvas) {
		c.SetColor(color.White)
		c.Fill(c.Rectangle.Path())
		fn(draw.Crop(c, figureMargin, -figureMargin, figureMargin, -figureMargin))
	}}
}

// Draw draws the figure into the given canvas, using all of it.
func (f *Figure) Draw(c draw.Canvas) { f.draw(c) }

// Formats lists the file extensions Save understands.
func Formats() []string { return []string{"png", "svg", "pdf", "jpg", "jpeg"} }

// Encode writes the figure in the given format ("png", "svg", "pdf", "jpg")
// at the given size (zero means the natural size).
func (f *Figure) Encode(w io.Writer, format string, width, height vg.Length) error {
	if f == nil || f.draw == nil {
		return fmt.Errorf("plot: nil figure (check the error of the function that made it)")
	}
	if width <= 0 || height <= 0 {
		width, height = f.Width, f.Height
	}
	format = strings.ToLower(strings.TrimPrefix(format, "."))
	var cw vg.CanvasWriterTo
	switch format {
	case "png":
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(PixelDPI))}
	case "jpg", "jpeg":
		cw = vgimg.JpegCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(PixelDPI))}
	case "svg":
		cw = vgsvg.New(width, height)
	case "pdf":
		cw = vgpdf.New(width, height)
	default:
		return fmt.Errorf("plot: unsupported format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	if err := f.safeDraw(draw.New(cw)); err != nil {
		return err
	}
	if format == "svg" {
		var buf bytes.Buffer
		if _, err := cw.WriteTo(&buf); err != nil {
			return fmt.Errorf("plot: writing svg: %w", err)
		}
		if _, err := w.Write(fixSVG(buf.Bytes())); err != nil {
			return fmt.Errorf("plot: writing svg: %w", err)
		}
		return nil
	}
	if _, err := cw.WriteTo(w); err != nil {
		return fmt.Errorf("plot: writing %s: %w", format, err)
	}
	return nil
}

// fixSVG makes gonum's SVG portable without embedding fonts: it names
// metric-compatible fallbacks for Liberation Sans (Arial, Helvetica), so a
// viewer without Liberation keeps the layout instead of falling back to a
// serif font, and it labels embedded images as the PNGs they are.
func fixSVG(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	return bytes.ReplaceAll(b, []byte("data:image/jpg;base64,"), []byte("data:image/png;base64,"))
}

// safeDraw turns a panic inside gonum/plot (it panics on some bad states,
// e.g. an image that cannot be encoded) into an error.
func (f *Figure) safeDraw(c draw.Canvas) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("plot: drawing figure: %v", r)
		}
	}()
	f.draw(c)
	return nil
}

// Save writes the figure at its natural size to path; the format is taken
// from the extension (.png, .svg, .pdf, .jpg). Missing parent directories are
// created, and the file is written to a temporary name and renamed, so a
// reader never sees half a figure.
func (f *Figure) Save(path string) error { return f.SaveSize(path, 0, 0) }

// SaveSize is Save at a given size (zero means the natural size).
func (f *Figure) SaveSize(path string, width, height vg.Length) error {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if ext == "" {
		return fmt.Errorf("plot: saving %q: no file extension to choose the format (want one of %s)", path, strings.Join(Formats(), ", "))
	}
	var buf bytes.Buffer
	if err := f.Encode(&buf, ext, width, height); err != nil {
		return fmt.Errorf("plot: saving %q: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), atomicfile.Mode); err != nil {
		return fmt.Errorf("plot: saving %q: %w", path, err)
	}
	return nil
}

// PNG renders the figure as a PNG of exactly w x h pixels (zero for both
// means the natural size at PixelDPI; zero for one keeps the aspect ratio).
func (f *Figure) PNG(w, h int) ([]byte, error) {
	if f == nil {
		return nil, f.Encode(nil, "png", 0, 0)
	}
	width, height := f.pixelSize(w, h)
	var buf bytes.Buffer
	if err := f.Encode(&buf, "png", width, height); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SVG renders the figure as SVG text at its natural size.
func (f *Figure) SVG() ([]byte, error) {
	var buf bytes.Buffer
	if err := f.Encode(&buf, "svg", 0, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pixelSize converts a size in pixels to lengths at PixelDPI.
func (f *Figure) pixelSize(w, h int) (vg.Length, vg.Length) {
	px := vg.Inch / PixelDPI
	switch {
	case w <= 0 && h <= 0:
		return f.Width, f.Height
	case w <= 0:
		hh := vg.Length(h) * px
		return hh * f.Width / f.Height, hh
	case h <= 0:
		ww := vg.Length(w) * px
		return ww, ww * f.Height / f.Width
	}
	return vg.Length(w) * px, vg.Length(h) * px
}

// palette is colour-blind safe (Okabe-Ito, plus two) and ordered like
// fernb.Label: Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral, Contempt.
var palette = [...]color.NRGBA{
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x66, 0x66, 0x66, 0xff}, // grey
	{0x8C, 0x56, 0x4B, 0xff}, // brown
	{0xF0, 0xE4, 0x42, 0xff}, // yellow
	{0x1B, 0x1B, 0x1B, 0xff}, // near black
}

// ClassColor returns the colour of class (or series) i; it cycles after ten.
// A negative i (unlabelled) is light grey.
func ClassColor(i int) color.NRGBA {
	if i < 0 {
		return color.NRGBA{0xB0, 0xB0, 0xB0, 0xff}
	}
	return palette[i%len(palette)]
}

func withAlpha(c color.NRGBA, a uint8) color.NRGBA {
	c.A = a
	return c
}

// sansFont is the face all figures use (embedded Liberation Sans).
func sansFont(size vg.Length) font.Font {
	return font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, size)
}

func textStyle(size vg.Length, xa text.XAlignment, ya text.YAlignment) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    sansFont(size),
		XAlign:  xa,
		YAlign:  ya,
		Handler: gplot.DefaultTextHandler,
	}
}

// newPlot returns a gonum plot with fernb's fonts and a light grid.
func newPlot(title, xlabel, ylabel string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sansFont(11)
	p.Title.Padding = 6
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	for _, ax := range []*gplot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = sansFont(10)
		ax.Tick.Label.Font = sansFont(8.5)
	}
	p.Legend.TextStyle.Font = sansFont(9)
	return p
}
