package dataset

import (
	"context"

	"github.com/fernb/fernb/fernb"
)

// Stats is the summary `fernb data stats` prints: counts per class in the
// one label space, so that two data sets can be compared at a glance.
type Stats struct {
	Format   string         `json:"format"`
	Split    string         `json:"split,omitempty"`
	Images   int            `json:"images"`
	Classes  map[string]int `json:"classes"`
	Subjects *int           `json:"subjects,omitempty"`
	Skipped  int            `json:"skipped"`
	// Dropped counts items left out on purpose (see Report.Dropped).
	Dropped map[string]int `json:"dropped,omitempty"`
}

// ComputeStats counts items per class and subject. With verify set it
// decodes every image first (with pre's limits, at a tiny size) so that the
// counts exclude corrupt, oversized and missing images, exactly what a
// training run would load; without it only the label files are read.
func (d *Dataset) ComputeStats(ctx context.Context, items []Item, split string, verify bool, pre Preprocess) (Stats, error) {
	bad := map[string]bool{}
	if verify {
		if pre.Height == 0 {
			pre.Height, pre.Width, pre.Channels = 8, 8, 1
		}
		if _, err := d.Verify(ctx, items, pre); err != nil {
			return Stats{}, err
		}
		d.Report.mu.Lock()
		for _, p := range d.Report.Corrupt {
			bad[p.Ref] = true
		}
		for _, p := range d.Report.TooLarge {
			bad[p.Ref] = true
		}
		for _, m := range d.Report.Missing {
			bad[m] = true
		}
		for _, m := range d.Report.NoFace {
			bad[m] = true
		}
		d.Report.mu.Unlock()
	}
	s := Stats{Format: d.Format, Split: split, Classes: map[string]int{}, Skipped: d.Report.Skipped()}
	subjects := map[string]bool{}
	for _, it := range items {
		if bad[it.Ref] {
			continue
		}
		s.Images++
		if it.Label.Valid() {
			s.Classes[it.Label.String()]++
		} else if it.Label == fernb.Unlabelled {
			s.Classes["unlabelled"]++
		}
		if it.Subject != "" {
			subjects[it.Subject] = true
		}
	}
	if len(subjects) > 0 {
		n := len(subjects)
		s.Subjects = &n
	}
	d.Report.mu.Lock()
	if len(d.Report.Dropped) > 0 {
		s.Dropped = map[string]int{}
		for k, v := range d.Report.Dropped {
			s.Dropped[k] = v
		}
	}
	d.Report.mu.Unlock()
	return s, nil
}
