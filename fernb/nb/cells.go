package nb

import (
	"github.com/fernb/fernb/fernb/experiment"
)

// The helpers below are for notebook cells, where the first error should
// stop the cell and show itself in the cell's output: GoNB prints a panic's
// message and stack under the cell. Library code returns errors instead.

// Must returns v, or panics with err when err is not nil.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Check panics with err when err is not nil.
func Check(err error) {
	if err != nil {
		panic(err)
	}
}

// Open builds the pipeline of cfg with a progress line titled title, which
// the pipeline's stages update. GoNB runs every cell as its own program, so
// each cell opens the pipeline again; stages cached in cfg's output
// directory load instead of recomputing. It panics when the pipeline cannot
// be built (see Must).
func Open(cfg experiment.Config, title string) (*experiment.Pipeline, *Progress) {
	pr := Default().Watch(&cfg, title)
	return Must(experiment.NewPipeline(cfg)), pr
}

// Watch gives cfg's stages a progress line titled title: it sets
// cfg.Progress to update it and returns it, for the caller's Done.
func (d *Display) Watch(cfg *experiment.Config, title string) *Progress {
	pr := d.NewProgress(title)
	cfg.Progress = func(e experiment.Event) { pr.UpdateWith(e.Stage, e.Step, e.Steps, e.Detail) }
	return pr
}

// Load is Open without the progress line, for cells that only draw from
// cached stages.
func Load(cfg experiment.Config) *experiment.Pipeline {
	return Must(experiment.NewPipeline(cfg))
}
