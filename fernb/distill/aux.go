package distill

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/omni"
	"github.com/fernb/fernb/fernb/train"
	"github.com/gomlx/compute"
)

// VASOptions says where the images of a VAS manifest come from.
type VASOptions struct {
	// PoolFormat and PoolPath override the pool named in the manifest
	// header ("FORMAT:PATH", e.g. "pool:/data/utk.tar"): needed when the
	// pool has moved since selection.
	PoolFormat, PoolPath string
	// Preprocess is how pool images become tensors (default
	// dataset.DefaultPreprocess: 48x48 grayscale in [0,1]); it must match
	// the anchor set's.
	Preprocess dataset.Preprocess
	// PerClass, when > 0, keeps only the PerClass most confident entries
	// (largest margin) of each class.
	PerClass int
}

// ParsePool splits a manifest header's pool description "FORMAT:PATH".
// A description without a known format prefix is read as format "pool".
func ParsePool(s string) (format, path string) {
	if f, p, ok := strings.Cut(s, ":"); ok && slices.Contains(dataset.Formats(), f) {
		return f, p
	}
	return "pool", s
}

// LoadVAS reads a VAS manifest (omni.ReadManifest) and decodes the images
// it names from their pool, labelled with their pseudo-labels. The pool is
// streamed once (memory stays bounded by the selected images); images are
// matched by their stable Ref. Manifest rows whose image is missing or
// corrupt are reported in the error only if none is found at all; the
// returned count says how many rows were left out.
func LoadVAS(ctx context.Context, manifest string, opt VASOptions) (*dataset.Tensors, int, error) {
	h, entries, err := omni.ReadManifest(manifest)
	if err != nil {
		return nil, 0, fmt.Errorf("distill: VAS manifest: %w", err)
	}
	if len(entries) == 0 {
		return nil, 0, fmt.Errorf("distill: VAS manifest %s selects no image", manifest)
	}
	if opt.PerClass > 0 {
		slices.SortStableFunc(entries, func(a, b omni.Entry) int {
			switch {
			case a.Margin > b.Margin:
				return -1
			case a.Margin < b.Margin:
				return 1
			}
			return int(a.Index - b.Index)
		})
		count := map[string]int{}
		kept := entries[:0]
		for _, e := range entries {
			if count[e.Name] < opt.PerClass {
				count[e.Name]++
				kept = append(kept, e)
			}
		}
		entries = kept
	}
	format, path := ParsePool(h.Pool)
	if opt.PoolFormat != "" {
		format = opt.PoolFormat
	}
	if opt.PoolPath != "" {
		path = opt.PoolPath
	}
	pre := opt.Preprocess
	if pre.Height == 0 {
		pre = dataset.DefaultPreprocess()
	}
	want := make(map[string]int, len(entries))
	for i, e := range entries {
		want[e.Ref] = i
	}
	pool, err := dataset.OpenPool(format, path, dataset.Options{})
	if err != nil {
		return nil, 0, fmt.Errorf("distill: VAS pool %s:%s (from %s): %w", format, path, manifest, err)
	}
	defer pool.Close()
	out := dataset.NewTensors(0, pre.Height, pre.Width, pre.Channels)
	out.X, out.Labels, out.Refs, out.Subjects = nil, nil, nil, nil
	err = pool.Stream(ctx, pre, dataset.StreamOptions{}, func(b dataset.Batch) error {
		for i := range b.N {
			j, ok := want[b.Refs[i]]
			if !ok {
				continue
			}
			delete(want, b.Refs[i])
			out.X = append(out.X, b.Image(i)...)
			out.Labels = append(out.Labels, entries[j].Label)
			out.Refs = append(out.Refs, b.Refs[i])
			out.Subjects = append(out.Subjects, "")
			out.N++
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("distill: reading VAS images from %s:%s: %w", format, path, err)
	}
	if out.N == 0 {
		return nil, len(entries), fmt.Errorf("distill: none of the %d images of %s found in pool %s:%s (refs like %q)", len(entries), manifest, format, path, entries[0].Ref)
	}
	return out, len(want), nil
}

// LoadVASList is LoadVAS over a comma-separated list of manifests (one per
// pool: selecting from several pools gives one manifest each), their images
// concatenated in list order. PerClass applies to each manifest; the pool
// overrides of opt only to a single manifest. The count is the total of
// rows left out.
func LoadVASList(ctx context.Context, manifests string, opt VASOptions) (*dataset.Tensors, int, error) {
	list := strings.Split(manifests, ",")
	if len(list) > 1 && (opt.PoolFormat != "" || opt.PoolPath != "") {
		return nil, 0, fmt.Errorf("distill: %d VAS manifests: a pool override applies to one manifest only", len(list))
	}
	var out *dataset.Tensors
	missing := 0
	for _, m := range list {
		t, n, err := LoadVAS(ctx, strings.TrimSpace(m), opt)
		if err != nil {
			return nil, 0, err
		}
		missing += n
		if out == nil {
			out = t
		} else if err := out.Append(t); err != nil {
			return nil, 0, fmt.Errorf("distill: VAS manifest %s: %w", m, err)
		}
	}
	return out, missing, nil
}

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
	VAS VASOptions
}

// Aux turns an --aux specification, "vas:MANIFEST[,MANIFEST...]" or
// "das:DIR", into the
// training set and train.Aux hook to pass to train.Fit: anchor + VAS mixes
// Ratio x BatchSize pool images into every batch (train.AuxMix); anchor +
// DAS appends the whole DAS to every batch (train.AuxAppend; a DAS
// distilled with DSA under Augment's transformations unless NoAugment), or
// with DASExtra returns anchor ∪ DAS as the training set and no hook. The
// returned training set is anchor itself unless DASExtra.
func Aux(ctx context.Context, spec string, anchor *dataset.Tensors, batchSize int, opt AuxOptions) (*dataset.Tensors, *train.Aux, error) {
	kind, path, ok := strings.Cut(spec, ":")
	if !ok || path == "" {
		return nil, nil, fmt.Errorf("distill: --aux %q: want vas:MANIFEST or das:DIR", spec)
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
		vas, _, err := LoadVASList(ctx, path, vopt)
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
	return nil, nil, fmt.Errorf("distill: --aux %q: unknown kind %q (want vas or das)", spec, kind)
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

// Setting is one arm of a comparison: a name ("baseline", "+VAS", "+DAS"),
// its training set and its auxiliary hook (nil for none).
type Setting struct {
	Name  string
	Train *dataset.Tensors
	Aux   *train.Aux
}

// CostRow is one setting's outcome: per-epoch training wall time (the
// paper's Fig. 5) and the training history (validation accuracy per epoch
// when a validation set was given).
type CostRow struct {
	Name    string             `json:"name"`
	Seconds []float64          `json:"seconds"`
	Images  int                `json:"images_per_epoch"`
	History []train.EpochStats `json:"history"`
	// Final is the last epoch's validation accuracy (0 without validation).
	Final float64 `json:"final_val_acc"`
}

// MeanSeconds is the mean training wall time per epoch.
func (r CostRow) MeanSeconds() float64 {
	if len(r.Seconds) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, v := range r.Seconds {
		s += v
	}
	return s / float64(len(r.Seconds))
}

// StdSeconds is the standard deviation of the per-epoch wall time.
func (r CostRow) StdSeconds() float64 {
	if len(r.Seconds) < 2 {
		return 0
	}
	m, s := r.MeanSeconds(), 0.0
	for _, v := range r.Seconds {
		s += (v - m) * (v - m)
	}
	return math.Sqrt(s / float64(len(r.Seconds)-1))
}

// Compare trains a fresh network of mcfg under every setting with the same
// recipe and seed and records each one's per-epoch wall time and history:
// baseline vs +VAS vs +DAS (Fig. 5, and the accuracy comparison when val is
// given). progress receives train.Fit's progress with the setting's name.
func Compare(ctx context.Context, backend compute.Backend, mcfg models.Config, val *dataset.Tensors, cfg train.Config,
	settings []Setting, progress func(name string, p train.Progress)) ([]CostRow, error) {
	var rows []CostRow
	for _, s := range settings {
		net, err := models.New(mcfg)
		if err != nil {
			return rows, err
		}
		c := cfg
		c.Aux = s.Aux
		var pf func(train.Progress)
		if progress != nil {
			name := s.Name
			pf = func(p train.Progress) { progress(name, p) }
		}
		res, err := train.Fit(ctx, backend, net, s.Train, val, c, pf)
		if err != nil {
			return rows, fmt.Errorf("distill: %s: %w", s.Name, err)
		}
		row := CostRow{Name: s.Name, History: res.History}
		for _, h := range res.History {
			row.Seconds = append(row.Seconds, h.Seconds)
			row.Images = h.Images
			row.Final = h.ValAcc
		}
		res.Model.Finalize()
		rows = append(rows, row)
	}
	return rows, nil
}
