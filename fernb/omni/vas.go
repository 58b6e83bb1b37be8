package omni

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fernb/fernb/fernb/dataset"
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

// LoadVAS reads a VAS manifest (ReadManifest) and decodes the images
// it names from their pool, labelled with their pseudo-labels. The pool is
// streamed once (memory stays bounded by the selected images); images are
// matched by their stable Ref. Manifest rows whose image is missing or
// corrupt are reported in the error only if none is found at all; the
// returned count says how many rows were left out.
func LoadVAS(ctx context.Context, manifest string, opt VASOptions) (*dataset.Tensors, int, error) {
	h, entries, err := ReadManifest(manifest)
	if err != nil {
		return nil, 0, fmt.Errorf("omni: VAS manifest: %w", err)
	}
	if len(entries) == 0 {
		return nil, 0, fmt.Errorf("omni: VAS manifest %s selects no image", manifest)
	}
	if opt.PerClass > 0 {
		slices.SortStableFunc(entries, func(a, b Entry) int {
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
		return nil, 0, fmt.Errorf("omni: VAS pool %s:%s (from %s): %w", format, path, manifest, err)
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
		return nil, 0, fmt.Errorf("omni: reading VAS images from %s:%s: %w", format, path, err)
	}
	if out.N == 0 {
		return nil, len(entries), fmt.Errorf("omni: none of the %d images of %s found in pool %s:%s (refs like %q)", len(entries), manifest, format, path, entries[0].Ref)
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
		return nil, 0, fmt.Errorf("omni: %d VAS manifests: a pool override applies to one manifest only", len(list))
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
			return nil, 0, fmt.Errorf("omni: VAS manifest %s: %w", m, err)
		}
	}
	return out, missing, nil
}
