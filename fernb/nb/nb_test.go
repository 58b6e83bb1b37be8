package nb

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fernb/fernb/fernb/plot"
)

// recorder is a fake GoNB front end.
type recorder struct {
	pngs     [][]byte
	html     []string
	updates  [][2]string
	markdown []string
	err      error
}

func (r *recorder) PNG(b []byte)            { r.pngs = append(r.pngs, b) }
func (r *recorder) HTML(h string)           { r.html = append(r.html, h) }
func (r *recorder) UpdateHTML(id, h string) { r.updates = append(r.updates, [2]string{id, h}) }
func (r *recorder) Markdown(md string)      { r.markdown = append(r.markdown, md) }
func (r *recorder) UniqueID() string        { return "u1" }
func (r *recorder) Err() error              { return r.err }

func notebook() (*Display, *recorder, *bytes.Buffer) {
	rec := &recorder{}
	out := &bytes.Buffer{}
	return &Display{Out: out, fe: rec}, rec, out
}

func curves(t *testing.T) *plot.Figure {
	t.Helper()
	fig, err := plot.Curves(plot.Panel{Title: "loss", Series: []plot.Series{{Name: "train", Y: []float64{1, 0.5, 0.3}}}})
	if err != nil {
		t.Fatal(err)
	}
	return fig
}

func TestShowPlotNotebook(t *testing.T) {
	d, rec, out := notebook()
	svg := filepath.Join(t.TempDir(), "fig", "curves.svg")
	if err := d.ShowPlot(curves(t), 400, 250, svg); err != nil {
		t.Fatal(err)
	}
	if len(rec.pngs) != 1 {
		t.Fatalf("sent %d PNGs, want 1", len(rec.pngs))
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(rec.pngs[0]))
	if err != nil || cfg.Width != 400 || cfg.Height != 250 {
		t.Errorf("PNG sent: %dx%d, %v; want 400x250", cfg.Width, cfg.Height, err)
	}
	b, err := os.ReadFile(svg)
	if err != nil || !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte(">train<")) {
		t.Errorf("SVG next to the plot: err %v, %d bytes", err, len(b))
	}
	if out.Len() != 0 {
		t.Errorf("notebook mode wrote text %q", out.String())
	}
	// A broken connection to GoNB surfaces as an error.
	rec.err = errors.New("pipe closed")
	if err := d.ShowPlot(curves(t), 100, 100); err == nil || !strings.Contains(err.Error(), "pipe closed") {
		t.Errorf("with a broken pipe: got %v", err)
	}
}

func TestShowOutsideNotebook(t *testing.T) {
	out := &bytes.Buffer{}
	d := &Display{Out: out} // what New gives when gonbui.IsNotebook is false
	if d.InNotebook() {
		t.Fatal("InNotebook true without a front end")
	}
	svg := filepath.Join(t.TempDir(), "c.svg")
	if err := d.ShowPlot(curves(t), 300, 200, svg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(svg); err != nil {
		t.Errorf("figure not saved outside a notebook: %v", err)
	}
	if !strings.Contains(out.String(), "saved figure "+svg) {
		t.Errorf("text output %q lacks the saved note", out.String())
	}
	if err := d.ShowPlot(curves(t), 300, 200); err != nil {
		t.Errorf("ShowPlot without notebook: %v", err)
	}
	if err := d.ShowHTML("<b>x</b>"); err != nil {
		t.Error(err)
	}
	out.Reset()
	if err := d.ShowMarkdown("**hi**"); err != nil || out.String() != "**hi**\n" {
		t.Errorf("ShowMarkdown: %q, %v", out.String(), err)
	}
	// A nil Out discards quietly.
	if err := (&Display{}).ShowTable([]string{"a"}, [][]string{{"1"}}); err != nil {
		t.Error(err)
	}
	// The package-level helpers work without a notebook too.
	if err := ShowPlot(curves(t), 200, 100); err != nil {
		t.Error(err)
	}
}

func TestShowPNG(t *testing.T) {
	d, rec, _ := notebook()
	if err := d.ShowPNG([]byte("not a png")); err == nil {
		t.Error("ShowPNG(garbage): want error")
	}
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	img.SetGray(1, 1, color.Gray{200})
	if err := d.ShowImage(img); err != nil {
		t.Fatal(err)
	}
	if len(rec.pngs) != 1 {
		t.Fatalf("sent %d PNGs", len(rec.pngs))
	}
	back, err := png.Decode(bytes.NewReader(rec.pngs[0]))
	if err != nil || back.Bounds().Dx() != 3 || color.GrayModel.Convert(back.At(1, 1)).(color.Gray).Y != 200 {
		t.Errorf("image round trip failed: %v", err)
	}
}

func TestShowImageGrid(t *testing.T) {
	d, rec, _ := notebook()
	var g plot.Grid
	g.AddRow("Happy", []image.Image{image.NewGray(image.Rect(0, 0, 8, 8))}, []string{"0.9"})
	if err := d.ShowImageGrid(g, 0, 0); err != nil {
		t.Fatal(err)
	}
	if len(rec.pngs) != 1 {
		t.Fatalf("sent %d PNGs", len(rec.pngs))
	}
	if err := d.ShowImageGrid(plot.Grid{}, 0, 0); err == nil {
		t.Error("empty grid: want error")
	}
}

func TestTables(t *testing.T) {
	header := []string{"method", "RAF-DB", "note"}
	rows := [][]string{{"baseline", "80.1 ± 0.4", "a|b"}, {"+DAS", "83.2", "<x>"}}
	want := "" +
		"| method   |     RAF-DB | note |\n" +
		"| -------- | ---------: | ---- |\n" +
		"| baseline | 80.1 ± 0.4 | a\\|b |\n" +
		"| +DAS     |       83.2 | <x>  |\n"
	if got := MarkdownTable(header, rows); got != want {
		t.Errorf("MarkdownTable:\n%s\nwant:\n%s", got, want)
	}
	h := HTMLTable(header, rows)
	for _, s := range []string{"<th>RAF-DB</th>", `<td style="text-align:right">83.2</td>`, "<td>&lt;x&gt;</td>", "<td>a|b</td>"} {
		if !strings.Contains(h, s) {
			t.Errorf("HTMLTable lacks %q:\n%s", s, h)
		}
	}
	d, rec, _ := notebook()
	if err := d.ShowTable(header, rows); err != nil || len(rec.html) != 1 || rec.html[0] != h {
		t.Errorf("ShowTable in notebook: %v, %v", err, rec.html)
	}
	out := &bytes.Buffer{}
	if err := (&Display{Out: out}).ShowTable(header, rows); err != nil || out.String() != want {
		t.Errorf("ShowTable outside notebook: %q, %v", out.String(), err)
	}
	if err := d.ShowTable(header, [][]string{{"1", "2", "3", "4"}}); err == nil {
		t.Error("row longer than header: want error")
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestProgressText(t *testing.T) {
	out := &bytes.Buffer{}
	d := &Display{Out: out}
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p := d.NewProgress("train")
	p.now = clk.now
	p.start, p.stageStart, p.lastCall = clk.t, clk.t, clk.t
	p.Every = 10 * time.Second
	for i := 1; i <= 100; i++ {
		clk.t = clk.t.Add(time.Second)
		p.Update("epoch 1/2", i, 100)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// First step, then every 10 s, and the last step: 1 + 9 + 1 lines.
	if len(lines) != 11 {
		t.Fatalf("%d lines, want 11:\n%s", len(lines), out.String())
	}
	if lines[0] != "train | epoch 1/2 1/100 (1%) elapsed 0:01 ETA 1:39" {
		t.Errorf("first line %q", lines[0])
	}
	if lines[10] != "train | epoch 1/2 100/100 (100%) elapsed 1:40" {
		t.Errorf("last line %q", lines[10])
	}
	// A new stage shows at once and restarts the ETA estimate.
	clk.t = clk.t.Add(time.Second)
	p.Update("epoch 2/2", 1, 100)
	if last := lastLine(out); last != "train | epoch 2/2 1/100 (1%) elapsed 1:41 ETA 1:39" {
		t.Errorf("stage change line %q", last)
	}
	clk.t = clk.t.Add(time.Second)
	p.UpdateWith("epoch 2/2", 2, 100, "loss 0.5") // a new detail alone is rate limited
	if last := lastLine(out); strings.Contains(last, "loss") {
		t.Errorf("detail change was not rate limited: %q", last)
	}
	clk.t = clk.t.Add(10 * time.Second)
	p.UpdateWith("epoch 2/2", 3, 100, "loss 0.4")
	if last := lastLine(out); last != "train | epoch 2/2 3/100 (3%) elapsed 1:52 ETA 6:28 | loss 0.4" {
		t.Errorf("detail line %q", last)
	}
	if err := p.Done("test accuracy 81.0%"); err != nil {
		t.Fatal(err)
	}
	if last := lastLine(out); last != "train: done in 1:52, test accuracy 81.0%" {
		t.Errorf("done line %q", last)
	}
}

func lastLine(b *bytes.Buffer) string {
	l := strings.Split(strings.TrimSpace(b.String()), "\n")
	return l[len(l)-1]
}

func TestProgressNotebook(t *testing.T) {
	d, rec, out := notebook()
	clk := &fakeClock{t: time.Unix(0, 0)}
	p := d.NewProgress("distill <DD>")
	p.now = clk.now
	p.start, p.stageStart, p.lastCall = clk.t, clk.t, clk.t
	for i := 1; i <= 50; i++ {
		clk.t = clk.t.Add(100 * time.Millisecond)
		p.Update("outer", i, 50)
	}
	if len(rec.updates) < 2 || len(rec.updates) > 12 {
		t.Errorf("%d updates for 50 steps in 5 s at one per 500 ms", len(rec.updates))
	}
	for _, u := range rec.updates {
		if u[0] != "fernb-progress-u1" {
			t.Fatalf("update to block %q, want one fixed id", u[0])
		}
	}
	lastU := rec.updates[len(rec.updates)-1][1]
	if !strings.Contains(lastU, `<progress value="50" max="50"`) || !strings.Contains(lastU, "distill &lt;DD&gt;") {
		t.Errorf("last update %q", lastU)
	}
	if err := p.Done(""); err != nil {
		t.Fatal(err)
	}
	if u := rec.updates[len(rec.updates)-1]; !strings.Contains(u[1], "done in 0:05") || u[0] != "fernb-progress-u1" {
		t.Errorf("Done did not replace the progress block: %q", u)
	}
	if len(rec.html) != 0 {
		t.Errorf("Done added outputs %v", rec.html)
	}
	// A reporter that never showed progress displays its summary as new.
	q := d.NewProgress("empty")
	if err := q.Done("nothing to do"); err != nil || len(rec.html) != 1 || !strings.Contains(rec.html[0], "nothing to do") {
		t.Errorf("Done without updates: %v, %v", err, rec.html)
	}
	if out.Len() != 0 {
		t.Errorf("notebook progress wrote text %q", out.String())
	}
	rec.err = errors.New("gone")
	p.Update("inner", 1, 2) // a new stage is always shown
	if p.Err() == nil {
		t.Error("Err() nil after a failed display")
	}
}
