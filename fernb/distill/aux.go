package distill

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/omni"
	"github.com/fernb/fernb/fernb/train"
)

// AuxOptions tunes how auxiliary samples join training.
type AuxOptions struct {
	// Ratio is, for a VAS, the fraction of every batch drawn from it
	// (default 0.25; the rest comes from the anchor set).
	Ratio float64
	// DASExtra adds the distilled images to the training set once (seen
	// once per epoch, like any other image) instead of appending them to
	// every batch (the default; see the package documentation for why).
	DASExtra bool
	// NoAugment trains on a DAS distilled with Config.DSA without
	// Augment's transformations (by default they are applied to its images
	// in every batch, DSA's protocol; DASExtra never applies them).
	NoAugment bool
	// Weight multiplies the auxiliary images' loss (default 1).
	Weight float64
	// VAS says where a manifest's images come from.
	VAS omni.VASOptions
}

// Aux turns an auxiliary-samples specification, "vas:MANIFEST[,MANIFEST...]"
// or "das:DIR" (what `fernb train --aux` takes), into the training set and
// the train.Aux hook to pass to train.Fit: anchor + VAS mixes Ratio x
// BatchSize pool images into every batch (train.AuxMix); anchor + DAS
// appends the whole DAS to every batch (train.AuxAppend; a DAS distilled
// with DSA under Augment's transformations unless NoAugment), or with
// DASExtra returns anchor ∪ DAS as the training set and no hook. The
// returned training set is anchor itself unless DASExtra.
func Aux(ctx context.Context, spec string, anchor *dataset.Tensors, batchSize int, opt AuxOptions) (*dataset.Tensors, *train.Aux, error) {
	kind, path, ok := strings.Cut(spec, ":")
	if !ok || path == "" {
		return nil, nil, fmt.Errorf("distill: auxiliary samples %q: want vas:MANIFEST or das:DIR", spec)
	}
	weight := opt.Weight
	if weight == 0 {
		weight = 1
	}
	switch strings.ToLower(kind) {
	case "vas":
		vopt := opt.VAS
		if vopt.Preprocess.Height == 0 && anchor != nil {
			vopt.Preprocess = dataset.Preprocess{Height: anchor.H, Width: anchor.W, Channels: anchor.C}
		}
		vas, _, err := omni.LoadVASList(ctx, path, vopt)
		if err != nil {
			return nil, nil, err
		}
		ratio := opt.Ratio
		if ratio == 0 {
			ratio = 0.25
		}
		if batchSize == 0 {
			batchSize = train.DefaultConfig().BatchSize
		}
		per := int(math.Round(ratio * float64(batchSize)))
		per = min(max(per, 1), batchSize-1)
		return anchor, &train.Aux{Set: vas, Mode: train.AuxMix, PerBatch: per, Weight: weight}, nil
	case "das":
		d, err := ReadDAS(path)
		if err != nil {
			return nil, nil, err
		}
		das := d.Images
		if opt.DASExtra {
			merged := anchor.Clone()
			if err := merged.Append(das); err != nil {
				return nil, nil, fmt.Errorf("distill: %s: %w", path, err)
			}
			return merged, nil, nil
		}
		return anchor, d.AppendAux(anchor, weight, opt.NoAugment), nil
	}
	return nil, nil, fmt.Errorf("distill: auxiliary samples %q: unknown kind %q (want vas or das)", spec, kind)
}

// AppendAux is train.Fit's hook that appends the whole DAS to every batch of
// a run on anchor, with loss weight weight (0: 1). A DAS distilled with DSA
// is trained on under Augment's transformations (DSA's protocol), with
// anchor's channel statistics, unless noAugment.
func (d *DAS) AppendAux(anchor *dataset.Tensors, weight float64, noAugment bool) *train.Aux {
	a := &train.Aux{Set: d.Images, Mode: train.AuxAppend, Weight: weight}
	if d.DSA && !noAugment {
		a.Augment = Augment(anchor.ChannelStats())
	}
	return a
}
