package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/omni"
	"github.com/fernb/fernb/fernb/plot"
	"github.com/fernb/fernb/fernb/train"
)

func init() {
	extraCommands = append(extraCommands, command{"select",
		"pseudo-label a face pool by cosine margin to the anchor centroids (VAS): `select`, `select merge`, `select report`", runSelect})
}

const selectUsage = `usage:
  fernb select --model CKPT --anchor-format F --anchor PATH --pool-format F --pool PATH
               --margin M --out MANIFEST [--shard i/n|auto] [--rule cosine|softmax] [flags]
      scores the pool (resumable: run the same command again after an interruption)
      and writes MANIFEST (or MANIFEST's shard-i-of-n name with --shard), plus
      MANIFEST's .scores.jsonl (every image's similarities, for reports).
      --shard auto takes the shard from a Slurm job array or a Kubernetes Indexed
      Job (with --shards N or FERNB_SHARDS=N); job files are in docker/.
  fernb select merge --out MANIFEST [SHARD_MANIFEST ...]
      joins the shard manifests (default: every MANIFEST shard file found).
  fernb select report --scores FILE[,FILE...] [--positive happy] [--json] [--plot P.png]
      precision and count of pseudo-labels per class as the margin (cosine) and the
      threshold (softmax) vary, on a pool whose images carry a hidden truth.
  fernb select plot --manifest MANIFEST --model CKPT --anchor-format F --anchor PATH
               --pool-format F --pool PATH --dir OUTDIR [--per-class 8] [--ext png|svg]
      draws margins (histogram), grid (selected images per class, most confident
      first) and scatter (anchor features, centroids and selected samples, PCA).
Run a subcommand with -h for all flags.`

func runSelect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "merge":
			return runSelectMerge(args[1:], stdout, stderr)
		case "report":
			return runSelectReport(args[1:], stdout, stderr)
		case "plot":
			return runSelectPlot(ctx, args[1:], stdout, stderr)
		case "help":
			fmt.Fprintln(stderr, selectUsage)
			return nil
		}
	}
	return runSelectScore(ctx, args, stdout, stderr)
}

func runSelectScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("select", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, selectUsage); fs.PrintDefaults() }
	ckpt := fs.String("model", "", "checkpoint directory written by fernb train (train.Fit)")
	anchorFormat := fs.String("anchor-format", "", "labelled anchor set format: "+strings.Join(dataset.Formats(), ", "))
	anchorPath := fs.String("anchor", "", "labelled anchor set path (directory, archive, file or synthetic spec)")
	anchorSplit := fs.String("anchor-split", "train", "split of the anchor set whose features make the centroids (\"all\" for every image)")
	anchorPerClass := fs.Int("anchor-per-class", 0, "use only the first N anchor images of each class for the centroids (0: all)")
	poolFormat := fs.String("pool-format", "pool", "pool format: pool (images in a folder or archive), recordio, synthetic, or a labelled format")
	poolPath := fs.String("pool", "", "pool path")
	margin := fs.Float64("margin", 0.1, "cosine rule: keep an image when its nearest centroid beats every other by this much cosine similarity")
	rule := fs.String("rule", "cosine", "pseudo-labelling rule: cosine (paper) or softmax (baseline)")
	threshold := fs.Float64("threshold", 0.9, "softmax rule: keep an image when its top probability is at least this")
	capN := fs.Int("cap", 0, "keep at most this many images per class, the most confident (0: no cap)")
	balance := fs.Bool("balance", false, "keep the same number of images in every class (the smallest class's count)")
	total := fs.Int("total", 0, "keep at most this many images over all classes, the most confident, after --cap and --balance (0: no limit); e.g. --rule softmax --threshold 0 --total N keeps as many as a cosine VAS of N images")
	out := fs.String("out", "", "manifest to write (JSON lines)")
	shardFlag := fs.String("shard", "", "score only shard i of n of the pool (e.g. 2/4), or \"auto\": the shard of this Slurm array task or Kubernetes Indexed Job pod; merge the shards with: fernb select merge")
	shards := fs.Int("shards", 0, "with --shard auto: the number of shards (default $"+omni.ShardsEnv+"; required on Kubernetes, where it equals the Job's completions)")
	batch := fs.Int("batch", train.DefaultInferBatch, "images per inference batch")
	every := fs.Int("checkpoint-every", 16, "batches between progress checkpoints")
	truth := fs.String("truth-from-path", "", "hidden truth for reports from image paths: substring=label,... (SMILEsmileD: positives=happy,negatives=non-smile)")
	fresh := fs.Bool("fresh", false, "discard an interrupted run's progress and start over")
	align := addAlignFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("select: unexpected arguments %q", fs.Args())
	}
	if *ckpt == "" || *anchorFormat == "" || *poolPath == "" && *poolFormat != "synthetic" || *out == "" {
		fs.Usage()
		return errors.New("select: --model, --anchor-format, --anchor, --pool and --out are required")
	}
	shard, from, err := omni.ResolveShard(*shardFlag, *shards, os.Getenv)
	if err != nil {
		return fmt.Errorf("select: --shard %s: %w", *shardFlag, err)
	}
	if from != "" {
		fmt.Fprintf(stderr, "shard %s (%s)\n", shard, from)
	}
	sel := omni.Selection{Rule: omni.Rule{Kind: omni.RuleKind(*rule), Margin: *margin}, Cap: *capN, Balance: *balance, Total: *total}
	if sel.Kind == omni.Softmax {
		sel.Threshold, sel.Margin = *threshold, 0
	}
	if err := sel.Validate(); err != nil {
		return fmt.Errorf("select: %w", err)
	}
	manifest := omni.ShardPath(*out, shard)
	scores := omni.ScoresPath(manifest)
	centroidsPath := omni.CentroidsPath(*out)
	if *fresh {
		for _, p := range []string{scores, scores + ".state"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("select: --fresh: %w", err)
			}
		}
	}

	backend, err := fernb.NewBackend()
	if err != nil {
		return err
	}
	defer backend.Finalize()
	model, err := train.LoadModel(backend, *ckpt)
	if err != nil {
		return fmt.Errorf("select: %w", err)
	}
	defer model.Finalize()
	emb := omni.NewModelEmbedder(model, *batch)
	pre, err := omni.PreprocessFor(model)
	if err != nil {
		return fmt.Errorf("select: %w", err)
	}
	if err := align.applyModel(&pre, model.Meta.Normalization.Align, stderr); err != nil {
		return err
	}
	modelDesc, _ := filepath.Abs(*ckpt)
	anchorDesc := fmt.Sprintf("%s:%s[%s]", *anchorFormat, *anchorPath, *anchorSplit)
	if pre.Align != nil { // centroids of aligned anchors are other centroids
		anchorDesc += "[" + pre.Align.Key() + "]"
	}
	if *anchorPerClass > 0 {
		anchorDesc += fmt.Sprintf("[first %d per class]", *anchorPerClass)
	}

	// Centroids: reuse the ones this run (or another shard of it) computed.
	cent, cm, ca, loadErr := omni.LoadCentroids(centroidsPath)
	if loadErr != nil || cm != modelDesc || ca != anchorDesc || *fresh {
		start := time.Now()
		ds, err := dataset.Open(*anchorFormat, *anchorPath, dataset.Options{})
		if err != nil {
			return fmt.Errorf("select: anchor: %w", err)
		}
		cent, err = omni.AnchorCentroids(ctx, emb, ds, *anchorSplit, pre, *batch, *anchorPerClass)
		if ds.Report.Skipped() > 0 {
			fmt.Fprint(stderr, ds.Report.String())
		}
		align.report(stderr, "select: anchor", ds.Report)
		ds.Close()
		if err != nil {
			return fmt.Errorf("select: %w", err)
		}
		// Shards starting together all compute them: the first to finish
		// wins, so that every shard scores against the same centroids.
		if errors.Is(loadErr, os.ErrNotExist) && !*fresh {
			cent, err = omni.ShareCentroids(centroidsPath, cent, modelDesc, anchorDesc)
		} else {
			err = omni.SaveCentroids(centroidsPath, cent, modelDesc, anchorDesc)
		}
		if err != nil {
			return fmt.Errorf("select: %w", err)
		}
		fmt.Fprintf(stderr, "centroids of %d classes from %d anchor images in %s -> %s\n", len(cent.Classes), sum(cent.Counts), time.Since(start).Round(time.Millisecond), centroidsPath)
	} else {
		fmt.Fprintf(stderr, "reusing centroids %s\n", centroidsPath)
	}

	dp, err := dataset.OpenPool(*poolFormat, *poolPath, dataset.Options{})
	if err != nil {
		return fmt.Errorf("select: pool: %w", err)
	}
	defer dp.Close()
	pool := &omni.DatasetPool{Pool: dp, Pre: pre, Batch: *batch}
	if *truth != "" {
		if pool.Truth, err = omni.PathTruth(*truth); err != nil {
			return fmt.Errorf("select: %w", err)
		}
	}
	start := time.Now()
	lastPrint := time.Time{}
	var first *omni.ScoreProgress
	cfg := omni.RunConfig{
		ScoreConfig: omni.ScoreConfig{Centroids: cent, Model: modelDesc, Anchor: anchorDesc, Shard: shard, BatchSize: *batch, CheckpointEvery: *every,
			Progress: func(p omni.ScoreProgress) {
				if first == nil {
					first = &p
					if p.Resumed > 0 {
						fmt.Fprintf(stderr, "resuming: %d images of shard %s were scored by an earlier run\n", p.Resumed, shard)
					}
				}
				if time.Since(lastPrint) > 5*time.Second || p.Done {
					lastPrint = time.Now()
					rate := float64(p.Consumed-p.Resumed) / time.Since(start).Seconds()
					fmt.Fprintf(stderr, "scored %d (corrupt %d) of shard %s, %.1f img/s\n", p.Scored, p.Corrupt, shard, rate)
				}
			}},
		Selection: sel,
		Out:       *out,
	}
	h, err := omni.Run(ctx, pool, emb, cfg)
	if dp.Report != nil && dp.Report.Skipped() > 0 {
		fmt.Fprint(stderr, dp.Report.String())
	}
	align.report(stderr, "select: pool", dp.Report)
	if err != nil {
		return fmt.Errorf("select: %w", err)
	}
	return printSelected(stdout, manifest, h)
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// printSelected writes one JSON line: the manifest path, what was scored
// and the count per class.
func printSelected(w io.Writer, path string, h *omni.Header) error {
	b, err := json.Marshal(struct {
		Manifest string           `json:"manifest"`
		Shard    string           `json:"shard,omitempty"`
		Rule     *omni.Selection  `json:"selection"`
		Scored   int64            `json:"scored"`
		Corrupt  int64            `json:"corrupt"`
		Selected int64            `json:"selected"`
		Counts   map[string]int64 `json:"counts"`
	}{path, h.Shard, h.Selection, h.Scored, h.Corrupt, h.Selected, h.Counts})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func runSelectMerge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("select merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "merged manifest to write (the --out the shards were run with)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return errors.New("select merge: --out is required")
	}
	inputs := fs.Args()
	if len(inputs) == 0 {
		ext := filepath.Ext(*out)
		found, err := filepath.Glob(strings.TrimSuffix(*out, ext) + ".shard-*-of-*" + ext)
		if err != nil {
			return err
		}
		for _, f := range found {
			if !strings.HasSuffix(f, ".scores"+ext) && !strings.Contains(filepath.Base(f), ".tmp-") {
				inputs = append(inputs, f)
			}
		}
		sort.Strings(inputs)
		if len(inputs) == 0 {
			return fmt.Errorf("select merge: no shard manifests next to %s", *out)
		}
	}
	h, err := omni.Merge(*out, inputs)
	if err != nil {
		return fmt.Errorf("select merge: %w", err)
	}
	return printSelected(stdout, *out, h)
}

func runSelectReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("select report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scores := fs.String("scores", "", "scores file(s) of one run, comma-separated (MANIFEST's .scores.jsonl; every shard's)")
	positive := fs.String("positive", "", "also score a binary truth: this label vs everything else (SMILEsmileD: happy)")
	margins := fs.String("margins", "", "cosine margins to sweep, comma-separated (default 0,0.02,...,0.3)")
	thresholds := fs.String("thresholds", "", "softmax thresholds to sweep (default 0.30,0.35,...,0.95)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of tables")
	png := fs.String("plot", "", "also draw precision and count against the margin to this file (.png or .svg)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *scores == "" {
		fs.Usage()
		return errors.New("select report: --scores is required")
	}
	cfg := omni.ReportConfig{Positive: *positive}
	var err error
	if cfg.Margins, err = parseFloats(*margins); err != nil {
		return fmt.Errorf("select report: --margins: %w", err)
	}
	if cfg.Thresholds, err = parseFloats(*thresholds); err != nil {
		return fmt.Errorf("select report: --thresholds: %w", err)
	}
	rep, err := omni.Quality(strings.Split(*scores, ","), cfg)
	if err != nil {
		return fmt.Errorf("select report: %w", err)
	}
	if rep.Truthful == 0 {
		fmt.Fprintln(stderr, "warning: no scored image carries a hidden truth; precision is undefined (use a labelled pool or --truth-from-path)")
	}
	if *png != "" {
		if err := omni.SaveQualityPlot(rep, *png); err != nil {
			return fmt.Errorf("select report: %w", err)
		}
	}
	if *asJSON {
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	}
	return rep.WriteText(stdout)
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func runSelectPlot(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("select plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	manifest := fs.String("manifest", "", "manifest written by fernb select (its .scores.jsonl and .centroids.json are read too)")
	ckpt := fs.String("model", "", "checkpoint the manifest was made with (for the scatter)")
	anchorFormat := fs.String("anchor-format", "", "labelled anchor set format (for the scatter)")
	anchorPath := fs.String("anchor", "", "labelled anchor set path")
	anchorSplit := fs.String("anchor-split", "train", "anchor split")
	anchorPerClass := fs.Int("anchor-per-class", 100, "anchor images per class drawn in the scatter")
	poolFormat := fs.String("pool-format", "pool", "pool format (to read the selected images)")
	poolPath := fs.String("pool", "", "pool path")
	dir := fs.String("dir", ".", "folder for the figures")
	perClass := fs.Int("per-class", 8, "selected images per class in the grid (and x10 in the scatter)")
	align := addAlignFlags(fs)
	ext := fs.String("ext", "png", "figure format: png or svg")
	positive := fs.String("positive", "", "judge right/wrong labels in the margin histogram against a binary truth (SMILEsmileD: happy)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *manifest == "" {
		fs.Usage()
		return errors.New("select plot: --manifest is required")
	}
	src := omni.FigureSources{Manifest: *manifest, AnchorSplit: *anchorSplit, AnchorPerClass: *anchorPerClass,
		PerClass: *perClass, Positive: *positive}
	if *poolPath != "" || *poolFormat == "synthetic" {
		pds, err := dataset.Open(*poolFormat, *poolPath, dataset.Options{})
		if err != nil {
			return fmt.Errorf("select plot: pool: %w", err)
		}
		defer pds.Close()
		src.Pool = pds
		if *anchorFormat != "" {
			ads, err := dataset.Open(*anchorFormat, *anchorPath, dataset.Options{})
			if err != nil {
				return fmt.Errorf("select plot: anchor: %w", err)
			}
			defer ads.Close()
			src.Anchor = ads
		}
		if *ckpt != "" {
			backend, err := fernb.NewBackend()
			if err != nil {
				return err
			}
			defer backend.Finalize()
			if src.Model, err = train.LoadModel(backend, *ckpt); err != nil {
				return fmt.Errorf("select plot: %w", err)
			}
			defer src.Model.Finalize()
		}
	}
	var pre dataset.Preprocess
	apply := align.apply
	if src.Model != nil {
		apply = func(pre *dataset.Preprocess) error {
			return align.applyModel(pre, src.Model.Meta.Normalization.Align, stderr)
		}
	}
	if err := apply(&pre); err != nil {
		return err
	}
	src.Align = pre.Align
	figs, err := omni.SelectionFigures(ctx, src)
	if err != nil {
		return fmt.Errorf("select plot: %w", err)
	}
	for _, why := range figs.Skipped {
		fmt.Fprintln(stderr, "skipped", why)
	}
	var written []string
	for _, f := range []struct {
		name string
		fig  *plot.Figure
	}{{"margins", figs.Margins}, {"grid", figs.Grid}, {"scatter", figs.Scatter}} {
		if f.fig == nil {
			continue
		}
		p := filepath.Join(*dir, f.name+"."+*ext)
		if err := f.fig.Save(p); err != nil {
			return fmt.Errorf("select plot: %w", err)
		}
		written = append(written, p)
	}
	return printWritten(stdout, written)
}

func printWritten(w io.Writer, paths []string) error {
	for _, p := range paths {
		if _, err := fmt.Fprintln(w, p); err != nil {
			return err
		}
	}
	return nil
}
