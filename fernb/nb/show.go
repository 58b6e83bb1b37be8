package nb

import (
	"image"

	"github.com/fernb/fernb/fernb/plot"
)

// The functions below are the one-liners for notebook cells: each uses
// Default() (the notebook under GoNB, standard output otherwise).

// ShowPNG shows PNG bytes inline; see Display.ShowPNG.
func ShowPNG(png []byte) error { return Default().ShowPNG(png) }

// ShowImage shows an image inline; see Display.ShowImage.
func ShowImage(img image.Image) error { return Default().ShowImage(img) }

// ShowPlot shows a figure as a w x h PNG and saves it to each of saveTo
// (e.g. "results/fig.svg"); see Display.ShowPlot.
func ShowPlot(fig Figure, w, h int, saveTo ...string) error {
	return Default().ShowPlot(fig, w, h, saveTo...)
}

// ShowImageGrid shows a labelled image grid; see Display.ShowImageGrid.
func ShowImageGrid(g plot.Grid, w, h int, saveTo ...string) error {
	return Default().ShowImageGrid(g, w, h, saveTo...)
}

// ShowMarkdown shows Markdown; see Display.ShowMarkdown.
func ShowMarkdown(md string) error { return Default().ShowMarkdown(md) }

// ShowTable shows a results table; see Display.ShowTable.
func ShowTable(header []string, rows [][]string) error {
	return Default().ShowTable(header, rows)
}
