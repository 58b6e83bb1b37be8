package experiment

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/face"
	"github.com/fernb/fernb/fernb/plot"
)

// Aligned returns c with face alignment (package face, default options) on
// or off for every image the experiment reads: the notebooks' align
// parameter. Aligned runs keep their models, manifests and distilled sets
// apart from unaligned ones in the cache.
func (c Config) Aligned(on bool) (Config, error) {
	c.Preprocess.Align = nil
	if !on {
		return c, nil
	}
	a, err := face.New(face.DefaultOptions())
	if err != nil {
		return c, fmt.Errorf("experiment: %w", err)
	}
	c.Preprocess.Align = a
	return c, nil
}

// AlignmentFigure draws the first n images of src as they are (top row,
// resized to pre's size) above their face crops (bottom row; an empty slot
// where no face was found), with the report of what the detector found:
// the check to look at before aligning a data set. pre.Align must be set.
// Only synthetic sources are drawn unless allowReal, as real faces must not
// end up in saved notebooks.
func AlignmentFigure(ctx context.Context, src Source, pre dataset.Preprocess, n int, allowReal bool) (*plot.Figure, *dataset.Report, error) {
	if pre.Align == nil {
		return nil, nil, errors.New("experiment: AlignmentFigure needs Preprocess.Align")
	}
	if src.Format != "synthetic" && !allowReal {
		return nil, nil, ErrRealImages
	}
	d, err := dataset.Open(src.Format, src.Path, dataset.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("experiment: %w", err)
	}
	defer d.Close()
	items, err := d.Split(src.Split)
	if err != nil {
		return nil, nil, fmt.Errorf("experiment: %w", err)
	}
	items = items[:min(n, len(items))]
	aligned, err := d.Load(ctx, items, pre)
	if err != nil {
		return nil, nil, fmt.Errorf("experiment: %w", err)
	}
	report := d.Report
	plain := pre
	plain.Align = nil
	orig, err := d.Load(ctx, items, plain)
	if err != nil {
		return nil, nil, fmt.Errorf("experiment: %w", err)
	}
	byRef := map[string]int{}
	for i, r := range aligned.Refs {
		byRef[r] = i
	}
	centre := map[string]bool{}
	for _, r := range report.CentreCropped {
		centre[r] = true
	}
	var top, bottom []image.Image
	var caps []string
	for i := range orig.N {
		im, err := tensorImage(orig, i)
		if err != nil {
			return nil, nil, err
		}
		top = append(top, im)
		k, ok := byRef[orig.Refs[i]]
		if !ok {
			bottom = append(bottom, nil)
			caps = append(caps, "no face")
			continue
		}
		if im, err = tensorImage(aligned, k); err != nil {
			return nil, nil, err
		}
		bottom = append(bottom, im)
		caps = append(caps, map[bool]string{true: "no face:\ncentre crop"}[centre[orig.Refs[i]]])
	}
	g := plot.Grid{Title: fmt.Sprintf("face alignment: %s", src.Name)}
	g.AddRow("original", top, nil)
	g.AddRow("aligned", bottom, caps)
	fig, err := plot.ImageGrid(g)
	return fig, report, err
}
