package experiment

import (
	"context"
	"errors"
	"testing"

	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/face"
)

func TestAlignmentFigure(t *testing.T) {
	cfg, err := SyntheticConfig(t.TempDir(), true).Aligned(true)
	if err != nil {
		t.Skipf("pigo cascades not available: %v", err)
	}
	src := Source{Name: "generated", Format: "synthetic", Path: "wild,n=6,seed=5,size=96"}
	fig, rep, err := AlignmentFigure(context.Background(), src, cfg.Preprocess, 6, false)
	if err != nil || fig == nil {
		t.Fatalf("figure: %v", err)
	}
	if got := rep.Aligned + len(rep.NoFace); got != 6 {
		t.Errorf("report accounts for %d of 6 images: %s", got, rep.AlignSummary())
	}
	real := Source{Name: "real", Format: "folder", Path: t.TempDir()}
	if _, _, err := AlignmentFigure(context.Background(), real, cfg.Preprocess, 6, false); !errors.Is(err, ErrRealImages) {
		t.Errorf("real images drawn without permission: %v", err)
	}
	if _, _, err := AlignmentFigure(context.Background(), src, dataset.Preprocess{Height: 48, Width: 48, Channels: 1}, 6, false); err == nil {
		t.Error("no aligner accepted")
	}
}

func TestAlignedCacheApart(t *testing.T) {
	cfg := SyntheticConfig(t.TempDir(), true)
	plain := (&Pipeline{Cfg: cfg}).cache("model-x")
	cfg, err := cfg.Aligned(true)
	if err != nil {
		t.Skipf("pigo cascades not available: %v", err)
	}
	aligned := (&Pipeline{Cfg: cfg}).cache("model-x")
	o := face.DefaultOptions()
	o.Margin = 0.5
	a, err := face.New(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Preprocess.Align = a
	other := (&Pipeline{Cfg: cfg}).cache("model-x")
	if plain == aligned || aligned == other {
		t.Errorf("cache dirs not kept apart: %s, %s, %s", plain, aligned, other)
	}
	if off, err := cfg.Aligned(false); err != nil || off.Preprocess.Align != nil || cfg.Preprocess.Align == nil {
		t.Errorf("Aligned(false) gave %v (%v) and must leave its receiver aligned", off.Preprocess.Align, err)
	}
}
