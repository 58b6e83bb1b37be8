package experiment

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/train"
)

// TestCompareSeeds compares a baseline with an arm that appends seven
// images to every batch, over two seeds: one row per arm and seed, each
// arm's summary over exactly those rows, and the bars drawn from them.
func TestCompareSeeds(t *testing.T) {
	backend, err := fernb.NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	set := dataset.NewTensors(70, 16, 16, 1)
	for i := range set.N {
		set.Labels[i] = fernb.Label(i % 7)
		for j := range set.Image(i) {
			set.Image(i)[j] = r.Float32()
		}
	}
	extra := set.Subset([]int{0, 1, 2, 3, 4, 5, 6})
	settings := []Setting{{Name: "baseline", Train: set}, {Name: "+seven", Train: set, Aux: &train.Aux{Set: extra, Mode: train.AuxAppend}}}
	mc := models.Config{Name: "fer-cnn", Height: 16, Width: 16, Channels: 1, WidthMult: 0.25}
	var calls []int64
	cmp, err := CompareSeeds(context.Background(), backend, mc, set, train.Config{Epochs: 1, BatchSize: 16, LR: 0.01}, settings, []int64{1, 2},
		func(seed int64, rows []CostRow) { calls = append(calls, seed) })
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0] != 1 || calls[1] != 2 {
		t.Errorf("done called for seeds %v, want [1 2]", calls)
	}
	if len(cmp.Arms) != 2 || cmp.Arms[0].Name != "baseline" || cmp.Arms[1].Name != "+seven" {
		t.Fatalf("arms %+v", cmp.Arms)
	}
	for _, a := range cmp.Arms {
		runs := cmp.Runs[a.Name]
		if len(runs) != 2 || len(a.Merged.Seconds) != 2 {
			t.Fatalf("%s: %d runs, %d epoch times; want 2 and 2", a.Name, len(runs), len(a.Merged.Seconds))
		}
		m, s := MeanStd([]float64{runs[0].Final, runs[1].Final})
		if a.AccMean != m || a.AccStd != s {
			t.Errorf("%s: accuracy %v ± %v, want %v ± %v from its runs", a.Name, a.AccMean, a.AccStd, m, s)
		}
	}
	if b, s := cmp.Runs["baseline"][0].Images, cmp.Runs["+seven"][0].Images; s != b+7*(b/16) {
		t.Errorf("images per epoch: baseline %d, +seven %d; want 7 more per step", b, s)
	}
	if _, err := CostBars([]CostRow{cmp.Arms[0].Merged, cmp.Arms[1].Merged}, ""); err != nil {
		t.Error(err)
	}
	if _, err := CostBars(nil, ""); err == nil {
		t.Error("CostBars with no rows: want an error")
	}
}
