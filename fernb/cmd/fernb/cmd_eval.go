package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/experiment"
	"github.com/fernb/fernb/fernb/internal/mdtable"
	"github.com/fernb/fernb/fernb/train"
)

func init() {
	extraCommands = append(extraCommands, command{"eval",
		"evaluate a checkpoint on a data set: accuracy, per-class accuracy, confusion matrix (one JSON line); `eval summary` compares variants over seeds",
		runEval})
}

// evalOutput is the JSON line `fernb eval` prints.
type evalOutput struct {
	Checkpoint string `json:"checkpoint"`
	Model      string `json:"model"`
	Input      string `json:"input"`
	Format     string `json:"format"`
	Path       string `json:"path"`
	Split      string `json:"split"`
	// Tags are the --tag key=value pairs, for `fernb eval summary`.
	Tags map[string]string `json:"tags,omitempty"`
	*train.Evaluation
	// SkippedImages counts images the loader could not read (corrupt,
	// missing, too large); they are listed on stderr.
	SkippedImages int `json:"skipped_images,omitempty"`
}

// tagFlag collects repeated --tag key=value flags.
type tagFlag map[string]string

func (t tagFlag) String() string { return fmt.Sprint(map[string]string(t)) }
func (t tagFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	t[k] = v
	return nil
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "summary" {
		return runEvalSummary(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ckpt := fs.String("model", "", "checkpoint directory written by `fernb train` (required)")
	format := fs.String("format", "", "data set format: "+strings.Join(dataset.Formats(), ", ")+" (required)")
	path := fs.String("path", "", "data set directory, archive or file (for synthetic: a spec) (required)")
	split := fs.String("split", "", `split to evaluate ("" or "all": every item)`)
	batch := fs.Int("batch", train.DefaultInferBatch, "inference batch")
	cache := fs.String("cache", "", "directory caching decoded images between runs")
	flip := fs.Bool("flip", false, "test-time augmentation: average each image's class probabilities with its mirror image's")
	tenCrop := fs.Int("ten-crop", 0, "test-time augmentation: average over the centre and four corner crops of the image padded by N pixels, each mirrored (use the --crop it was trained with); 0: none")
	tags := tagFlag{}
	fs.Var(tags, "tag", "key=value copied into the output line's tags (repeatable), e.g. --tag variant=vas --tag seed=2, for `fernb eval summary`")
	align := addAlignFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("eval: unexpected arguments %v", fs.Args())
	}
	if len(tags) == 0 {
		tags = nil
	}
	if *ckpt == "" || *format == "" || *path == "" {
		return errors.New("eval: --model CKPT, --format F and --path P are required")
	}
	backend, err := fernb.NewBackend()
	if err != nil {
		return err
	}
	m, err := train.LoadModel(backend, *ckpt)
	if err != nil {
		return err
	}
	defer m.Finalize()
	pre, err := m.Meta.Preprocess()
	if err != nil {
		return err
	}
	pre.CacheDir = *cache
	if err := align.applyModel(&pre, m.Meta.Normalization.Align, stderr); err != nil {
		return err
	}
	data, report, err := dataset.LoadTensors(ctx, *format, *path, *split, pre, dataset.Options{})
	align.report(stderr, "eval", report)
	if err != nil {
		return fmt.Errorf("eval: loading %s: %w", *path, err)
	}
	skipped := report.Skipped()
	if skipped > 0 {
		fmt.Fprintf(stderr, "eval: %d image(s) could not be read:\n%s", skipped, report.String())
	}
	ev, err := m.EvaluateWith(ctx, data, train.EvalOptions{Batch: *batch, Flip: *flip, TenCrop: *tenCrop})
	if err != nil {
		return err
	}
	c := m.Net.Config
	return json.NewEncoder(stdout).Encode(evalOutput{
		Checkpoint: *ckpt, Model: c.Name, Input: fmt.Sprintf("%dx%dx%d", c.Height, c.Width, c.Channels),
		Format: *format, Path: *path, Split: *split, Tags: tags, Evaluation: ev, SkippedImages: skipped,
	})
}

// runEvalSummary is `fernb eval summary`: the variants of tagged `fernb eval`
// lines, each as mean ± std over seeds and paired with the base variant.
func runEvalSummary(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval summary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fernb eval summary [--group variant] [--pair seed] [--base ctrl] [--tta flip] FILE.jsonl...")
		fmt.Fprintln(stderr, "  reads `fernb eval --tag variant=V --tag seed=S` lines and prints, per variant, accuracy")
		fmt.Fprintln(stderr, "  mean ± std over seeds, the paired difference to --base (mean ± s.e. over seeds) and per-class means.")
		fs.PrintDefaults()
	}
	group := fs.String("group", "variant", "tag naming the variant")
	pair := fs.String("pair", "seed", "tag pairing runs across variants")
	base := fs.String("base", "", "variant every other is paired with (default: the first one read)")
	tta := fs.String("tta", "", `test-time augmentation of the lines to use ("", "flip", "ten-crop:N")`)
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("eval summary: no files given")
	}
	var runs []experiment.EvalRun
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("eval summary: %w", err)
		}
		r, err := experiment.ReadEvalRuns(f, name)
		f.Close()
		if err != nil {
			return fmt.Errorf("eval summary: %w", err)
		}
		runs = append(runs, r...)
	}
	// The first line with the asked-for TTA names the default base and the
	// classes (SummarizeEvals checks that every such line has the same).
	var classes []string
	for _, r := range runs {
		if r.TTA == *tta {
			classes = r.Classes
			if *base == "" {
				*base = r.Tags[*group]
			}
			break
		}
	}
	arms, err := experiment.SummarizeEvals(runs, *group, *pair, *base, *tta)
	if err != nil {
		return fmt.Errorf("eval summary: %w", err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(arms)
	}
	// With one seed there is no spread to show: print the value alone.
	pm := func(format string, mean, spread float64, n int) string {
		if n < 2 {
			return fmt.Sprintf(format, mean)
		}
		return fmt.Sprintf(format+" ± %.2f", mean, spread)
	}
	head := []string{*group, *pair + "s", "accuracy (%)", "vs " + *base + " (points, paired)", "wins/losses", "mean class (%)"}
	var rows, pcRows [][]string
	for _, a := range arms {
		vs, wl := "", ""
		if a.VsBase != nil {
			vs = pm("%+.2f", a.VsBase.Mean, a.VsBase.SE, a.VsBase.N)
			wl = fmt.Sprintf("%d/%d of %d", a.VsBase.Wins, a.VsBase.Losses, a.VsBase.N)
		}
		ps := append([]string(nil), a.Pairs...)
		sort.Strings(ps)
		rows = append(rows, []string{a.Name, strings.Join(ps, ","), pm("%.2f", a.Accuracy, a.AccuracyStd, len(a.Pairs)), vs, wl,
			pm("%.2f", a.MeanClass, a.MeanClassStd, len(a.Pairs))})
		pc := []string{a.Name}
		for _, v := range a.PerClass {
			pc = append(pc, fmt.Sprintf("%.1f", v))
		}
		pcRows = append(pcRows, pc)
	}
	fmt.Fprint(stdout, mdtable.Format(head, rows, []bool{false, false, true, true, true, true}, false))
	fmt.Fprintln(stdout)
	right := make([]bool, len(classes)+1)
	for i := 1; i < len(right); i++ {
		right[i] = true
	}
	fmt.Fprint(stdout, mdtable.Format(append([]string{*group}, classes...), pcRows, right, false))
	fmt.Fprintf(stdout, "\nmean ± sample std over %ss; paired: mean ± standard error of the per-%s differences to %s\n", *pair, *pair, *base)
	return nil
}
