package nb

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"image/png"
	"io"
	"os"
	"strings"

	"github.com/fernb/fernb/fernb/internal/mdtable"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/fernb/fernb/fernb/plot"
)

// Figure is what ShowPlot renders: *plot.Figure satisfies it.
type Figure interface {
	PNG(w, h int) ([]byte, error)
	Save(path string) error
}

// frontend is where a Display sends rich output; gonbFrontend is GoNB,
// tests use a recorder.
type frontend interface {
	PNG(png []byte)
	HTML(html string)
	UpdateHTML(id, html string)
	Markdown(md string)
	UniqueID() string
	Err() error
}

type gonbFrontend struct{}

func (gonbFrontend) PNG(b []byte)            { gonbui.DisplayPng(b) }
func (gonbFrontend) HTML(h string)           { gonbui.DisplayHTML(h) }
func (gonbFrontend) UpdateHTML(id, h string) { gonbui.UpdateHTML(id, h) }
func (gonbFrontend) Markdown(md string)      { gonbui.DisplayMarkdown(md) }
func (gonbFrontend) UniqueID() string        { return gonbui.UniqueId() }
func (gonbFrontend) Err() error              { return gonbui.Error() }

// Display shows things in the notebook when running under GoNB, and
// otherwise writes text to Out (images are skipped). The zero value is not
// usable; use New or Default.
type Display struct {
	// Out receives text when not in a notebook (tables as Markdown,
	// progress lines, "saved" notes). Nil discards it.
	Out io.Writer
	fe  frontend // nil when not in a notebook
}

// New returns a Display that uses GoNB when the program was started by a
// GoNB kernel (gonbui.IsNotebook) and out otherwise.
func New(out io.Writer) *Display {
	d := &Display{Out: out}
	if gonbui.IsNotebook {
		d.fe = gonbFrontend{}
	}
	return d
}

// Default is New(os.Stdout): in a notebook cell, output goes to the
// notebook; under `go run`, text goes to the terminal.
func Default() *Display { return New(os.Stdout) }

// InNotebook reports whether output goes to a GoNB notebook.
func (d *Display) InNotebook() bool { return d.fe != nil }

func (d *Display) printf(format string, args ...any) error {
	if d.Out == nil {
		return nil
	}
	if _, err := fmt.Fprintf(d.Out, format, args...); err != nil {
		return fmt.Errorf("nb: writing text output: %w", err)
	}
	return nil
}

func (d *Display) feErr(what string) error {
	if err := d.fe.Err(); err != nil {
		return fmt.Errorf("nb: %s: connection to GoNB failed: %w", what, err)
	}
	return nil
}

// ShowPNG shows PNG bytes inline. The bytes are checked to be a PNG first,
// so a broken figure fails here with an error rather than as a blank output.
// Outside a notebook it does nothing.
func (d *Display) ShowPNG(b []byte) error {
	if _, err := png.DecodeConfig(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("nb: ShowPNG: not a PNG: %w", err)
	}
	if d.fe == nil {
		return nil
	}
	d.fe.PNG(b)
	return d.feErr("ShowPNG")
}

// ShowImage shows an image.Image inline (as PNG).
func (d *Display) ShowImage(img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("nb: ShowImage: encoding PNG: %w", err)
	}
	return d.ShowPNG(buf.Bytes())
}

// ShowPlot renders fig as a w x h pixel PNG (0, 0: its natural size) and
// shows it inline. Each path in saveTo is also written, in the format of
// its extension (e.g. "results/curves.svg" for the paper), whether or not
// this runs in a notebook; outside a notebook each save is noted on Out.
func (d *Display) ShowPlot(fig Figure, w, h int, saveTo ...string) error {
	if fig == nil {
		return fmt.Errorf("nb: ShowPlot: nil figure")
	}
	for _, p := range saveTo {
		if err := fig.Save(p); err != nil {
			return fmt.Errorf("nb: ShowPlot: %w", err)
		}
		if d.fe == nil {
			if err := d.printf("saved figure %s\n", p); err != nil {
				return err
			}
		}
	}
	if d.fe == nil {
		return nil // rendering a PNG nobody sees is wasted work
	}
	b, err := fig.PNG(w, h)
	if err != nil {
		return fmt.Errorf("nb: ShowPlot: %w", err)
	}
	return d.ShowPNG(b)
}

// ShowImageGrid builds a plot.ImageGrid figure and shows it like ShowPlot.
func (d *Display) ShowImageGrid(g plot.Grid, w, h int, saveTo ...string) error {
	fig, err := plot.ImageGrid(g)
	if err != nil {
		return fmt.Errorf("nb: ShowImageGrid: %w", err)
	}
	return d.ShowPlot(fig, w, h, saveTo...)
}

// ShowMarkdown shows Markdown in the notebook, or writes it to Out.
func (d *Display) ShowMarkdown(md string) error {
	if d.fe == nil {
		if !strings.HasSuffix(md, "\n") {
			md += "\n"
		}
		return d.printf("%s", md)
	}
	d.fe.Markdown(md)
	return d.feErr("ShowMarkdown")
}

// ShowHTML shows raw HTML in the notebook; outside one it does nothing
// (HTML in a terminal helps nobody).
func (d *Display) ShowHTML(h string) error {
	if d.fe == nil {
		return nil
	}
	d.fe.HTML(h)
	return d.feErr("ShowHTML")
}

// ShowTable shows a results table: an HTML table in the notebook (cells
// escaped, numbers right-aligned), a Markdown table on Out otherwise.
// Rows shorter than the header are padded with empty cells.
func (d *Display) ShowTable(header []string, rows [][]string) error {
	if err := checkTable(header, rows); err != nil {
		return fmt.Errorf("nb: ShowTable: %w", err)
	}
	if d.fe == nil {
		return d.printf("%s", MarkdownTable(header, rows))
	}
	d.fe.HTML(HTMLTable(header, rows))
	return d.feErr("ShowTable")
}

func checkTable(header []string, rows [][]string) error {
	if len(header) == 0 {
		return fmt.Errorf("empty header")
	}
	for i, r := range rows {
		if len(r) > len(header) {
			return fmt.Errorf("row %d has %d cells, header has %d", i, len(r), len(header))
		}
	}
	return nil
}

// MarkdownTable formats a table as GitHub Markdown with aligned columns;
// columns whose cells all look numeric are right-aligned. "|" in cells is
// escaped. It is what report.md files and terminals should show.
func MarkdownTable(header []string, rows [][]string) string {
	return mdtable.Format(header, rows, numericColumns(header, rows), true)
}

// numericColumns says which columns hold only numbers (and at least one).
func numericColumns(header []string, rows [][]string) []bool {
	right := make([]bool, len(header))
	for j := range header {
		right[j] = len(rows) > 0
		for _, r := range rows {
			if j < len(r) && r[j] != "" && !looksNumeric(strings.ReplaceAll(r[j], "\n", " ")) {
				right[j] = false
			}
		}
	}
	return right
}

// HTMLTable formats a table as an HTML <table> with escaped cells.
func HTMLTable(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString(`<table class="fernb-table"><thead><tr>`)
	for _, h := range header {
		fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(h))
	}
	b.WriteString("</tr></thead><tbody>\n")
	for _, r := range rows {
		b.WriteString("<tr>")
		for j := range header {
			c := ""
			if j < len(r) {
				c = r[j]
			}
			if looksNumeric(c) {
				fmt.Fprintf(&b, `<td style="text-align:right">%s</td>`, html.EscapeString(c))
			} else {
				fmt.Fprintf(&b, "<td>%s</td>", html.EscapeString(c))
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table>")
	return b.String()
}

// looksNumeric accepts things like "83.2", "-1", "83.2 ± 1.4", "12%".
func looksNumeric(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(".,-+%eE ±()", r):
		default:
			return false
		}
	}
	return digits > 0
}
