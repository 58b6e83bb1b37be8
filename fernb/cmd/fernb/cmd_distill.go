package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fernb/fernb/fernb/internal/atomicfile"

	"github.com/fernb/fernb/fernb/omni"

	"github.com/fernb/fernb/fernb/experiment"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/distill"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/train"
)

func init() {
	extraCommands = append(extraCommands, command{"distill",
		"dataset distillation (DD or DM) of a VAS or labelled set into a DAS; `distill check` (Fig. 7), `distill compare` (Fig. 5)", runDistill})
}

const distillUsage = `usage:
  fernb distill --method dd|dm --manifest MANIFEST --out DIR [--ipc 1] [flags]
  fernb distill --method dd|dm --format F --path PATH [--split S] --out DIR [flags]
      learns IPC synthetic images per class (and, for DD, the inner learning rates)
      from the VAS of MANIFEST (images read from the pool its header names, or
      --pool-format/--pool) or from a labelled data set; with neither, from the
      synthetic default (--format synthetic --path lab,n=700,seed=1). Writes DIR/das.json,
      DIR/images.f32 (raw little-endian float32 NHWC), DIR/png/, DIR/grid.png (Fig. 4),
      DIR/history.json, DIR/loss.png and DIR/snapshots/iter_N/. Run the same command
      again to resume an interrupted run (or to extend it with a larger --iterations).
  fernb distill check --run DIR [--epochs 30] [--plot P.png]
      the paper's Fig. 7: trains a small CNN on the run's snapshots split 5:1 and
      prints (and plots) its test accuracy per epoch.
  fernb distill compare --format F --path PATH [--val-format F --val PATH] [--vas MANIFEST] [--das DIR]
                        [--epochs 5] [--seeds 1] [--plot P.png] [--json OUT.json]
      trains baseline, +VAS and +DAS with the same recipe and prints per-epoch wall time
      (Fig. 5) and validation accuracy, mean and spread over seeds.
Run a subcommand with -h for all flags.`

func runDistill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return runDistillCheck(ctx, args[1:], stdout, stderr)
		case "compare":
			return runDistillCompare(ctx, args[1:], stdout, stderr)
		case "help":
			fmt.Fprintln(stderr, distillUsage)
			return nil
		}
	}
	return runDistillRun(ctx, args, stdout, stderr)
}

// distillData are the flags that name a labelled set or a VAS manifest.
type distillData struct {
	manifest, poolFormat, poolPath *string
	format, path, split            *string
	size, channels, perClass       *int
	align                          *alignFlags
}

func addDistillData(fs *flag.FlagSet) distillData {
	return distillData{
		manifest:   fs.String("manifest", "", "VAS manifest written by fernb select (comma-separated: several pools' manifests, concatenated)"),
		poolFormat: fs.String("pool-format", "", "override the pool format named in the manifest header"),
		poolPath:   fs.String("pool", "", "override the pool path named in the manifest header"),
		perClass:   fs.Int("vas-per-class", 0, "use only the N most confident VAS images of each class (0: all)"),
		format:     fs.String("format", "", "labelled data set format instead of a manifest: "+strings.Join(dataset.Formats(), ", ")),
		path:       fs.String("path", "", "labelled data set path (directory, archive, file or synthetic spec)"),
		split:      fs.String("split", "all", "split of the labelled data set"),
		size:       fs.Int("size", 48, "image height and width"),
		channels:   fs.Int("channels", 1, "1 (grayscale) or 3 (RGB)"),
		align:      addAlignFlags(fs),
	}
}

// load returns the labelled images and a description of where they came
// from.
func (d distillData) load(ctx context.Context, stderr io.Writer) (*dataset.Tensors, string, error) {
	pre := dataset.Preprocess{Height: *d.size, Width: *d.size, Channels: *d.channels}
	if err := d.align.apply(&pre); err != nil {
		return nil, "", err
	}
	if *d.manifest != "" {
		if *d.format != "" {
			return nil, "", errors.New("give either --manifest or --format/--path, not both")
		}
		t, missing, err := omni.LoadVASList(ctx, *d.manifest, omni.VASOptions{PoolFormat: *d.poolFormat, PoolPath: *d.poolPath,
			Preprocess: pre, PerClass: *d.perClass})
		if err != nil {
			return nil, "", err
		}
		if missing > 0 {
			fmt.Fprintf(stderr, "warning: %d manifest images were not found or could not be decoded\n", missing)
		}
		return t, "vas:" + *d.manifest, nil
	}
	format, path := *d.format, *d.path
	if format == "" {
		format = "synthetic"
		if path == "" {
			path = fmt.Sprintf("lab,n=700,seed=1,size=%d,channels=%d", *d.size, *d.channels)
		}
		fmt.Fprintf(stderr, "no --manifest or --format given: distilling the synthetic default %q\n", path)
	}
	t, report, err := dataset.LoadTensors(ctx, format, path, *d.split, pre, dataset.Options{})
	if report != nil && report.Skipped() > 0 {
		fmt.Fprint(stderr, report.String())
	}
	d.align.report(stderr, "distill", report)
	if err != nil {
		return nil, "", err
	}
	return t, fmt.Sprintf("%s:%s[%s]", format, path, *d.split), nil
}

func runDistillRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("distill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, distillUsage); fs.PrintDefaults() }
	data := addDistillData(fs)
	method := fs.String("method", "dd", "dd (Dataset Distillation, unrolled, second order) or dm (Distribution Matching, first order)")
	out := fs.String("out", "", "output directory (DAS, snapshots, history, resume checkpoint)")
	ipc := fs.Int("ipc", 1, "synthetic images per class")
	classes := fs.String("classes", "", "comma-separated classes to distil (default: every class present)")
	iters := fs.Int("iterations", 0, "outer iterations (default 100 for dd, 200 for dm)")
	steps := fs.Int("steps", 0, "dd: distill steps (default 10)")
	epochs := fs.Int("epochs", 0, "dd: distill epochs; the inner net takes steps x epochs SGD steps (default 1; the paper uses 3)")
	lr := fs.Float64("lr", 0, "dd: initial inner learning rate (default 0.02)")
	fixedLR := fs.Bool("fixed-lr", false, "dd: keep the inner learning rates fixed")
	imageLR := fs.Float64("image-lr", 0, "Adam step size on the images (default 0.01; larger steps turn DM's images to texture)")
	lrLR := fs.Float64("lr-lr", 0, "dd: Adam step size on the log learning rates (default 0.01)")
	realPer := fs.Int("real-per-class", 0, "real images per class per outer iteration (default 8 dd, 32 dm)")
	fixedInit := fs.Bool("fixed-init", false, "keep one network initialisation instead of a fresh one per outer iteration")
	init := fs.String("init", "", "start images from real (random real image of the class) or noise (default: noise for dd, real for dm)")
	dmBatch := fs.Bool("dm-batch-stats", false, "dm: normalise with batch statistics (DM's BN variant) instead of the fresh network's running statistics")
	dsa := fs.Bool("dsa", false, "dm: differentiable Siamese augmentation (DM's own setting): real and synthetic images pass through the same random shift, scale, rotation, flip, cut-out or colour change; training with the DAS then applies them too")
	modelName := fs.String("model", models.DefaultName, "inner network: "+strings.Join(models.Names(), ", "))
	width := fs.Float64("width", 1, "inner network width multiplier (e.g. 0.5 for a faster DD)")
	seed := fs.Int64("seed", 1, "random seed (images, θ0 draws, real batches)")
	snapEvery := fs.Int("snapshot-every", 0, "save a snapshot every N outer iterations (default iterations/10)")
	logEvery := fs.Int("log-every", 10, "print a progress line every N outer iterations")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("distill: unexpected arguments %q", fs.Args())
	}
	if *out == "" {
		fs.Usage()
		return errors.New("distill: --out is required")
	}
	m, err := distill.ParseMethod(*method)
	if err != nil {
		return err
	}
	cfg := distill.Config{Method: m, IPC: *ipc, Iterations: *iters, Steps: *steps, Epochs: *epochs, InitLR: *lr, FixedLR: *fixedLR,
		ImageLR: *imageLR, LRLR: *lrLR, RealPerClass: *realPer, FixedInit: *fixedInit, Init: distill.Init(*init),
		DMBatchStats: *dmBatch, DSA: *dsa, Seed: *seed, OutDir: *out, SnapshotEvery: *snapEvery,
		Model: models.Config{Name: *modelName, WidthMult: *width}}
	if *classes != "" {
		for _, s := range strings.Split(*classes, ",") {
			l, err := fernb.ParseLabel(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("distill: --classes: %w", err)
			}
			cfg.Classes = append(cfg.Classes, l)
		}
	}
	real, src, err := data.load(ctx, stderr)
	if err != nil {
		return fmt.Errorf("distill: %w", err)
	}
	cfg.Source = src
	backend, err := fernb.NewBackend()
	if err != nil {
		return err
	}
	defer backend.Finalize()
	fmt.Fprintf(stdout, "distilling %d images (%s) with %s on %s\n", real.N, src, strings.ToUpper(string(m)), backend.Name())
	res, err := distill.Run(ctx, backend, real, cfg, func(p distill.Progress) {
		switch {
		case p.Message != "":
			fmt.Fprintf(stderr, "%s\n", p.Message)
		case p.Iteration%max(*logEvery, 1) == 0 || p.Iteration == p.Iterations || p.Iteration == 1:
			s := p.Stats
			if m == distill.DD {
				fmt.Fprintf(stdout, "iter %d/%d  real loss %.4f after the unrolled steps (%.4f at θ0)  mean lr %.4g  %.2fs/iter  eta %s\n",
					p.Iteration, p.Iterations, s.Loss, s.Before, s.MeanLR, s.Seconds, p.ETA.Round(time.Second))
			} else {
				fmt.Fprintf(stdout, "iter %d/%d  matching loss %.5f  %.2fs/iter  eta %s\n",
					p.Iteration, p.Iterations, s.Loss, s.Seconds, p.ETA.Round(time.Second))
			}
		}
	})
	if err != nil {
		if res != nil && errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "interrupted: checkpoint saved in %s; run the same command to resume\n", *out)
		}
		return fmt.Errorf("distill: %w", err)
	}
	var secs []float64
	for _, h := range res.History[res.StartIteration:] {
		secs = append(secs, h.Seconds)
	}
	mean, sd := experiment.MeanStd(secs)
	fmt.Fprintf(stdout, "done: %d images (%d per class, classes %s) in %s\n", res.DAS.N, res.DAS.IPC, strings.Join(res.DAS.Classes, ","), *out)
	if len(secs) > 0 {
		fmt.Fprintf(stdout, "time per outer iteration: %.3f s ± %.3f over %d iterations\n", mean, sd, len(secs))
	}
	if len(res.DAS.LRs) > 0 {
		fmt.Fprintf(stdout, "learned learning rates: %s\n", distillFloats(res.DAS.LRs))
	}
	fmt.Fprintf(stdout, "grid: %s  loss curve: %s  snapshots: %d\n", filepath.Join(*out, distill.DASGrid),
		filepath.Join(*out, distill.LossPlot), len(res.Snapshots))
	return nil
}

func runDistillCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("distill check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, distillUsage); fs.PrintDefaults() }
	run := fs.String("run", "", "run directory of fernb distill (with snapshots/)")
	epochs := fs.Int("epochs", 30, "training epochs")
	lr := fs.Float64("lr", 0.01, "SGD learning rate")
	width := fs.Float64("width", 0.5, "width multiplier of the fer-cnn used")
	seed := fs.Int64("seed", 1, "split and training seed")
	plotPath := fs.String("plot", "", "write the accuracy curve here (default RUN/check.png)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *run == "" {
		fs.Usage()
		return errors.New("distill check: --run is required")
	}
	backend, err := fernb.NewBackend()
	if err != nil {
		return err
	}
	defer backend.Finalize()
	res, err := distill.SnapshotCheck(ctx, backend, *run, distill.CheckConfig{Model: models.Config{WidthMult: *width},
		Train: train.Config{Epochs: *epochs, LR: *lr}, Seed: *seed}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d snapshots: %d train / %d test images\nepoch  train_acc  test_acc\n", res.Snapshots, res.Train, res.Test)
	for _, h := range res.History {
		fmt.Fprintf(stdout, "%5d  %9.3f  %8.3f\n", h.Epoch, h.TrainAcc, h.ValAcc)
	}
	if *plotPath == "" {
		*plotPath = filepath.Join(*run, "check.png")
	}
	f, err := distill.CheckPlot(res, "")
	if err != nil {
		return err
	}
	if err := f.Save(*plotPath); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "plot: %s\n", *plotPath)
	return nil
}

func runDistillCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("distill compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, distillUsage); fs.PrintDefaults() }
	format := fs.String("format", "synthetic", "anchor (training) set format")
	path := fs.String("path", "lab,n=700,seed=1", "anchor set path")
	split := fs.String("split", "all", "anchor split")
	valFormat := fs.String("val-format", "", "validation set format (default: none)")
	valPath := fs.String("val", "", "validation set path (e.g. synthetic wild,n=300,seed=9)")
	valSplit := fs.String("val-split", "all", "validation split")
	vas := fs.String("vas", "", "VAS manifest (adds a +VAS arm)")
	das := fs.String("das", "", "DAS directory (adds a +DAS arm)")
	ratio := fs.Float64("vas-ratio", 0.25, "fraction of each batch drawn from the VAS")
	dasExtra := fs.Bool("das-extra", false, "add the DAS to the training set once instead of to every batch")
	dasAug := fs.Bool("das-augment", true, "with a DAS distilled with --dsa: apply DSA's transformations to its images in training")
	dpre := dataset.DefaultPreprocess()
	size := fs.Int("size", dpre.Height, "image size")
	channels := fs.Int("channels", dpre.Channels, "channels")
	epochs := fs.Int("epochs", 5, "epochs per arm")
	batch := fs.Int("batch", train.DefaultConfig().BatchSize, "batch size")
	lr := fs.Float64("lr", 0.01, "SGD learning rate")
	modelName := fs.String("model", models.DefaultName, "model")
	width := fs.Float64("width", 1, "width multiplier")
	seeds := fs.String("seeds", "1", "comma-separated seeds; accuracy is averaged over them")
	plotPath := fs.String("plot", "", "write the cost bars (Fig. 5) here")
	jsonPath := fs.String("json", "", "write every arm's rows here")
	align := addAlignFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	pre := dataset.Preprocess{Height: *size, Width: *size, Channels: *channels}
	if err := align.apply(&pre); err != nil {
		return err
	}
	loadSet := func(format, path, split string) (*dataset.Tensors, error) {
		ds, err := dataset.Open(format, path, dataset.Options{})
		if err != nil {
			return nil, err
		}
		defer ds.Close()
		items, err := ds.Split(split)
		if err != nil {
			return nil, err
		}
		t, err := ds.Load(ctx, items, pre)
		align.report(stderr, path, ds.Report)
		return t, err
	}
	anchor, err := loadSet(*format, *path, *split)
	if err != nil {
		return fmt.Errorf("distill compare: anchor: %w", err)
	}
	var val *dataset.Tensors
	if *valFormat != "" {
		if val, err = loadSet(*valFormat, *valPath, *valSplit); err != nil {
			return fmt.Errorf("distill compare: validation: %w", err)
		}
	}
	settings := []experiment.Setting{{Name: "baseline", Train: anchor}}
	if *vas != "" {
		tr, aux, err := distill.Aux(ctx, "vas:"+*vas, anchor, *batch, distill.AuxOptions{Ratio: *ratio, VAS: omni.VASOptions{Preprocess: pre}})
		if err != nil {
			return fmt.Errorf("distill compare: %w", err)
		}
		settings = append(settings, experiment.Setting{Name: "+VAS", Train: tr, Aux: aux})
	}
	if *das != "" {
		tr, aux, err := distill.Aux(ctx, "das:"+*das, anchor, *batch, distill.AuxOptions{DASExtra: *dasExtra, NoAugment: !*dasAug})
		if err != nil {
			return fmt.Errorf("distill compare: %w", err)
		}
		settings = append(settings, experiment.Setting{Name: "+DAS", Train: tr, Aux: aux})
	}
	backend, err := fernb.NewBackend()
	if err != nil {
		return err
	}
	defer backend.Finalize()
	var seedList []int64
	for _, s := range strings.Split(*seeds, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("distill compare: --seeds: %q is not an integer", s)
		}
		seedList = append(seedList, v)
	}
	mc := models.Config{Name: *modelName, Height: *size, Width: *size, Channels: *channels, WidthMult: *width}
	cmp, err := experiment.CompareSeeds(ctx, backend, mc, val, train.Config{Epochs: *epochs, BatchSize: *batch, LR: *lr}, settings, seedList,
		func(seed int64, rows []experiment.CostRow) {
			for _, r := range rows {
				fmt.Fprintf(stdout, "seed %d  %-8s  %.2f s/epoch  %d img/epoch  final val acc %.4f\n", seed, r.Name, r.MeanSeconds(), r.Images, r.Final)
			}
		})
	if err != nil {
		return fmt.Errorf("distill compare: %w", err)
	}
	var bars []experiment.CostRow
	fmt.Fprintf(stdout, "\narm       s/epoch (mean ± sd over epochs and seeds)  val acc mean ± sd over %d seeds\n", len(seedList))
	for _, a := range cmp.Arms {
		fmt.Fprintf(stdout, "%-8s  %.2f ± %.2f                              %.4f ± %.4f\n", a.Name, a.SecondsMean, a.SecondsStd, a.AccMean, a.AccStd)
		bars = append(bars, a.Merged)
	}
	if *plotPath != "" {
		f, err := experiment.CostBars(bars, "")
		if err != nil {
			return err
		}
		if err := f.Save(*plotPath); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "plot: %s\n", *plotPath)
	}
	if *jsonPath != "" {
		b, err := json.MarshalIndent(cmp.Runs, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(*jsonPath, b, atomicfile.Mode); err != nil {
			return err
		}
	}
	return nil
}

func distillFloats(x []float64) string {
	parts := make([]string, len(x))
	for i, v := range x {
		parts[i] = strconv.FormatFloat(v, 'g', 3, 64)
	}
	return strings.Join(parts, " ")
}
