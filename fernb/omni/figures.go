package omni

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/face"
	"github.com/fernb/fernb/fernb/plot"
	"github.com/fernb/fernb/fernb/train"
)

// FigureSources says what SelectionFigures draws a selection from. Only
// Manifest is required; each figure needs more (see SelectionFigures).
type FigureSources struct {
	// Manifest is a manifest written by Run, SelectScores or Merge; the
	// scores files and centroids written beside it are read too.
	Manifest string
	// Model is the checkpoint the manifest was made with (nil: no
	// scatter). Its recorded preprocessing decodes the images.
	Model *train.Model
	// Pool is the pool the manifest selected from (nil: no grid and no
	// scatter).
	Pool *dataset.Dataset
	// Anchor is the labelled set whose features the scatter shows (nil: no
	// scatter); AnchorSplit its split ("" = all) and AnchorPerClass how
	// many images of each class it draws (default 100).
	Anchor         *dataset.Dataset
	AnchorSplit    string
	AnchorPerClass int
	// PerClass is how many selected images of each class the grid shows
	// (default 8); the scatter shows ten times as many.
	PerClass int
	// Positive judges the margin histogram's labels right or wrong against
	// a binary truth (SMILEsmileD: "happy"); "" judges them against the
	// pool's own labels.
	Positive string
	// Batch is the inference batch (0: train.DefaultInferBatch).
	Batch int
	// Align, when set, cuts the face out of every pool and anchor image
	// before the preprocessing (as the selection did with --align).
	Align *face.Aligner
}

// SelectionFigs are the figures of one selection; a figure that could not
// be drawn is nil and Skipped says why.
type SelectionFigs struct {
	// Margins is the histogram of the pool's margins (from the scores).
	Margins *plot.Figure
	// Grid shows the most confident selected images of each class.
	Grid *plot.Figure
	// Scatter shows anchor features, centroids and selected images (PCA).
	Scatter *plot.Figure
	Skipped []string
}

// SelectionFigures draws what a selection did: the margin histogram of the
// scored pool, a grid of the most confident selected images per class, and
// a PCA scatter of anchor features, centroids and selected images. It is
// `fernb select plot` and the selection notebook's figure cell.
func SelectionFigures(ctx context.Context, src FigureSources) (*SelectionFigs, error) {
	if src.PerClass <= 0 {
		src.PerClass = 8
	}
	if src.AnchorPerClass <= 0 {
		src.AnchorPerClass = 100
	}
	h, entries, err := ReadManifest(src.Manifest)
	if err != nil {
		return nil, err
	}
	out := &SelectionFigs{}
	margin := 0.0
	kind := Cosine
	if h.Selection != nil {
		margin, kind = h.Selection.Margin, h.Selection.Kind
	}
	if scores := scoresOf(src.Manifest); len(scores) > 0 {
		if out.Margins, err = MarginHistogramFigure(scores, margin, src.Positive); err != nil {
			return nil, err
		}
	} else {
		out.Skipped = append(out.Skipped, "margins: no scores file beside the manifest")
	}
	if src.Pool == nil {
		out.Skipped = append(out.Skipped, "grid and scatter: no pool")
		return out, nil
	}
	pre, err := figurePreprocess(src.Model, h)
	if err != nil {
		return nil, err
	}
	pre.Align = src.Align

	// The most confident selected images of each class, decoded from the pool.
	RankByConfidence(entries, kind)
	var top []Entry
	count := map[fernb.Label]int{}
	for _, e := range entries {
		if count[e.Label] < 10*src.PerClass {
			count[e.Label]++
			top = append(top, e)
		}
	}
	byRef := map[string]int{}
	for i, e := range top {
		byRef[e.Ref] = i
	}
	var items []dataset.Item
	for _, it := range src.Pool.Items {
		if _, ok := byRef[it.Ref]; ok {
			items = append(items, it)
		}
	}
	imgs, err := src.Pool.Load(ctx, items, pre)
	if err != nil {
		return nil, fmt.Errorf("omni: load selected images: %w", err)
	}
	rowOf := map[string]int{}
	for i := range imgs.N {
		rowOf[imgs.Refs[i]] = i
	}
	pics, err := plot.ImagesFromNHWC(imgs.X, imgs.N, imgs.H, imgs.W, imgs.C, plot.Norm{PerImage: true})
	if err != nil {
		return nil, fmt.Errorf("omni: %w", err)
	}
	if len(rowOf) > 0 {
		// All entries, so that each row is labelled with its class's full
		// count; only the most confident PerClass of each are drawn, and
		// those are among the ones loaded above.
		out.Grid, err = SelectedGrid(entries, kind, src.PerClass, func(e *Entry) (image.Image, error) {
			r, ok := rowOf[e.Ref]
			if !ok {
				return nil, fmt.Errorf("could not be read from the pool (see its load report)")
			}
			return pics[r], nil
		})
		if err != nil {
			return nil, err
		}
	} else {
		out.Skipped = append(out.Skipped, "grid: none of the selected images found in the pool")
	}

	if src.Model == nil || src.Anchor == nil {
		out.Skipped = append(out.Skipped, "scatter: no model or no anchor set")
		return out, nil
	}
	emb := NewModelEmbedder(src.Model, src.Batch)
	aitems, err := src.Anchor.Split(src.AnchorSplit)
	if err != nil {
		return nil, err
	}
	at, err := src.Anchor.Load(ctx, dataset.FirstPerClass(aitems, src.AnchorPerClass), pre)
	if err != nil {
		return nil, fmt.Errorf("omni: load anchor: %w", err)
	}
	af, _, err := Extract(ctx, emb, at.X, at.N, src.Batch)
	if err != nil {
		return nil, err
	}
	sf, _, err := Extract(ctx, emb, imgs.X, imgs.N, src.Batch)
	if err != nil {
		return nil, err
	}
	selLabels := make([]fernb.Label, imgs.N)
	for i := range selLabels {
		selLabels[i] = top[byRef[imgs.Refs[i]]].Label
	}
	cent, _, _, err := LoadCentroids(CentroidsPath(src.Manifest))
	if err != nil { // a merged manifest or an older run: the anchor's own
		if cent, err = Centroids(af, at.Labels); err != nil {
			return nil, err
		}
	}
	out.Scatter, err = ScatterFigure(af, at.Labels, cent, sf, selLabels, "anchor features, centroids and selected pool images (PCA)")
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scoresOf returns the scores files of a manifest: its own, or for a merged
// manifest those of its shards.
func scoresOf(manifest string) []string {
	s := ScoresPath(manifest)
	if _, err := os.Stat(s); err == nil {
		return []string{s}
	}
	ext := filepath.Ext(manifest)
	shards, _ := filepath.Glob(strings.TrimSuffix(manifest, ext) + ".shard-*-of-*.scores" + ext)
	return shards
}

// figurePreprocess is how the figures decode pool and anchor images: as the
// model saw them, else as the checkpoint the manifest names recorded, else
// dataset.DefaultPreprocess.
func figurePreprocess(m *train.Model, h *Header) (dataset.Preprocess, error) {
	if m != nil {
		return PreprocessFor(m)
	}
	if meta, err := train.ReadMeta(h.Model); err == nil {
		return meta.Preprocess()
	}
	return dataset.DefaultPreprocess(), nil
}
