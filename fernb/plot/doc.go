// Package plot draws the figures of the fernb pipeline and of the paper:
// image grids (samples per class, selected pool samples by confidence,
// distilled images, failure cases), 2-D scatter plots of features with class
// centroids and selected pool samples (with a small PCA to get there),
// training curves, confusion matrices, grouped bars with error bars,
// histograms and plain x/y lines.
//
// Every constructor validates its input and returns a *Figure. A Figure is a
// recipe, not pixels: it is laid out when drawn, so the same value renders to
// a PNG of any size for a notebook (PNG), to a vector SVG or PDF for a paper
// (Save by extension) or into any gonum vg canvas (Draw). Figures are drawn
// with gonum.org/v1/plot and the Liberation fonts it embeds, so rendering
// needs neither the network nor system fonts, and the same input gives the
// same bytes on every machine.
//
// The package never prints; it has no global state. Colours for classes come
// from a fixed palette indexed by class (ClassColor), so a class has the same
// colour in every figure of a report.
package plot
