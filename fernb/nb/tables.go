package nb

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/fernb/fernb/fernb/experiment"
)

// The table notebooks (notebooks/table1..7) share these: each shows the
// paper's table, runs fernb's rows of the same protocol and shows both side
// by side, so a notebook keeps only what is particular to its table.

// ShowPaperTable shows the paper's Table n: its protocol and setting, and
// every row, previous works included.
func ShowPaperTable(n int) error { return Default().ShowPaperTable(n) }

// ShowPaperTable shows the paper's Table n; see the function ShowPaperTable.
func (d *Display) ShowPaperTable(n int) error {
	t, err := experiment.PaperTableN(n)
	if err != nil {
		return fmt.Errorf("nb: %w", err)
	}
	if err := d.ShowMarkdown(t.Caption()); err != nil {
		return err
	}
	return d.ShowTable(t.Cells())
}

// RunTable runs fernb's rows of the paper's Table n (experiment.ForTable):
// on the real data in dataDir when it holds the table's data sets, else on
// the synthetic stand-in, and says which. It shows a progress line, then
// fernb's table (mean ± std per variant, the paired difference to the
// baseline of the same seed) and whether the seeds separate each variant
// from the baseline. The results are also written to the table's results
// directory, where TableResults reads them.
func RunTable(ctx context.Context, n int, dataDir string, quick bool) (*experiment.Results, error) {
	return Default().RunTable(ctx, n, dataDir, quick)
}

// RunTable runs the paper's Table n; see the function RunTable.
func (d *Display) RunTable(ctx context.Context, n int, dataDir string, quick bool) (*experiment.Results, error) {
	cfg, msg, err := experiment.ForTable(n, dataDir, quick)
	if err != nil {
		return nil, fmt.Errorf("nb: table %d: %w", n, err)
	}
	if err := d.ShowMarkdown("**" + msg + "**"); err != nil {
		return nil, err
	}
	pr := d.Watch(&cfg, fmt.Sprintf("table %d", n))
	p, err := experiment.NewPipeline(cfg)
	if err != nil {
		return nil, fmt.Errorf("nb: table %d: %w", n, err)
	}
	defer p.Close()
	res, err := p.Run(ctx)
	if err != nil {
		return nil, fmt.Errorf("nb: table %d: %w", n, err)
	}
	if err := pr.Done(fmt.Sprintf("%.0f s; results in %s", res.WallSeconds, p.ResultsDir())); err != nil {
		return nil, err
	}
	if err := d.ShowTable(experiment.TableRows(res.Summaries, nil)); err != nil {
		return nil, err
	}
	var verdicts string
	for _, v := range res.Verdicts() {
		verdicts += "- " + v + "\n"
	}
	if verdicts != "" {
		if err := d.ShowMarkdown(verdicts); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// TableResults reads the results RunTable wrote for Table n with the same
// data directory and mode.
func TableResults(n int, dataDir string, quick bool) (*experiment.Results, error) {
	cfg, _, err := experiment.ForTable(n, dataDir, quick)
	if err != nil {
		return nil, fmt.Errorf("nb: table %d: %w", n, err)
	}
	dir := cfg.ResultsDir
	if dir == "" {
		dir = cfg.OutDir
	}
	res, err := experiment.ReadResults(filepath.Join(dir, "results.json"))
	if err != nil {
		return nil, fmt.Errorf("nb: table %d has no results yet (run its RunTable cell first): %w", n, err)
	}
	return res, nil
}

// ShowComparison shows the paper's own rows of res's table beside fernb's
// rows of the same protocol, with what differs, as a table and as grouped
// bars. When res did not run on the table's real data, it also says what
// data fills in fernb's real rows and the command that runs them.
func ShowComparison(res *experiment.Results) error { return Default().ShowComparison(res) }

// ShowComparison shows res beside the paper; see the function ShowComparison.
func (d *Display) ShowComparison(res *experiment.Results) error {
	if res.Paper == nil {
		return fmt.Errorf("nb: ShowComparison: the results record no paper table")
	}
	if err := d.ShowTable(res.ComparisonRows()); err != nil {
		return err
	}
	fig, err := res.ComparisonFigure()
	if err != nil {
		return fmt.Errorf("nb: %w", err)
	}
	if err := d.ShowPlot(fig, 0, 0); err != nil {
		return err
	}
	if res.Synthetic {
		help, err := experiment.DataHelp(res.Paper.Table)
		if err != nil {
			return fmt.Errorf("nb: %w", err)
		}
		return d.ShowMarkdown("fernb has no run of this table on real data here. " + help)
	}
	return nil
}
