package experiment

import (
	"context"
	"fmt"

	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/plot"
	"github.com/fernb/fernb/fernb/train"
	"github.com/gomlx/compute"
)

// This file is the training-cost and accuracy comparison of the paper's Fig. 5:
// baseline vs +VAS vs +DAS trained with one recipe, the auxiliary sets
// given as train.Aux hooks (distill.Aux builds them).

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
	m, _ := MeanStd(r.Seconds)
	return m
}

// StdSeconds is the standard deviation of the per-epoch wall time.
func (r CostRow) StdSeconds() float64 {
	if len(r.Seconds) == 0 {
		return 0
	}
	_, s := MeanStd(r.Seconds)
	return s
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
			return rows, fmt.Errorf("experiment: %s: %w", s.Name, err)
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

// ArmSummary is one setting of a comparison over several seeds.
type ArmSummary struct {
	Name string `json:"name"`
	// SecondsMean and SecondsStd are over every epoch of every seed.
	SecondsMean float64 `json:"seconds_mean"`
	SecondsStd  float64 `json:"seconds_std"`
	// AccMean and AccStd are of the final validation accuracy over seeds.
	AccMean float64 `json:"acc_mean"`
	AccStd  float64 `json:"acc_std"`
	// Merged holds every epoch's wall time of every seed (the bars of
	// CostBars).
	Merged CostRow `json:"-"`
}

// Comparison is CompareSeeds' outcome.
type Comparison struct {
	Seeds []int64 `json:"seeds"`
	// Runs[name] has one row per seed, in Seeds order.
	Runs map[string][]CostRow `json:"runs"`
	// Arms summarises each setting, in the settings' order.
	Arms []ArmSummary `json:"arms"`
}

// CompareSeeds runs Compare once per seed (cfg.Seed replaced) and
// summarises each setting over the seeds: one seed's accuracy difference
// between settings is noise as often as not. done, when not nil, receives
// each seed's rows as they finish.
func CompareSeeds(ctx context.Context, backend compute.Backend, mcfg models.Config, val *dataset.Tensors, cfg train.Config,
	settings []Setting, seeds []int64, done func(seed int64, rows []CostRow)) (*Comparison, error) {
	if len(seeds) == 0 {
		return nil, fmt.Errorf("experiment: compare: no seeds")
	}
	c := &Comparison{Seeds: seeds, Runs: map[string][]CostRow{}}
	for _, seed := range seeds {
		cfg.Seed = seed
		rows, err := Compare(ctx, backend, mcfg, val, cfg, settings, nil)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			c.Runs[r.Name] = append(c.Runs[r.Name], r)
		}
		if done != nil {
			done(seed, rows)
		}
	}
	for _, s := range settings {
		a := ArmSummary{Name: s.Name, Merged: CostRow{Name: s.Name}}
		var accs []float64
		for _, r := range c.Runs[s.Name] {
			a.Merged.Seconds = append(a.Merged.Seconds, r.Seconds...)
			accs = append(accs, r.Final)
		}
		a.SecondsMean, a.SecondsStd = a.Merged.MeanSeconds(), a.Merged.StdSeconds()
		a.AccMean, a.AccStd = MeanStd(accs)
		c.Arms = append(c.Arms, a)
	}
	return c, nil
}

// CostBars draws the paper's Fig. 5: training seconds per epoch for each
// setting (baseline, +VAS, +DAS), the error bars being the spread over
// epochs.
func CostBars(rows []CostRow, title string) (*plot.Figure, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("experiment: no cost rows")
	}
	if title == "" {
		title = "Training cost per epoch"
	}
	s := plot.BarsSpec{Title: title, YLabel: "seconds per epoch", ValueLabels: true, Format: "%.1f"}
	vals, errs := make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		s.Categories = append(s.Categories, r.Name)
		vals[i], errs[i] = r.MeanSeconds(), r.StdSeconds()
	}
	s.Series = []plot.BarSeries{{Name: "wall time", Values: vals, Errors: errs}}
	return plot.Bars(s)
}
