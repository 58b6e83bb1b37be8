package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fernb/fernb/fernb/omni"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/distill"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/train"
)

func init() {
	extraCommands = append(extraCommands, command{"train",
		"train a model on a data set (paper recipe by default), checkpointing every epoch and every few minutes; re-run to resume",
		runTrain})
}

// floatList is a flag holding comma-separated numbers (--mean 0.5,0.5,0.5).
type floatList []float32

func (f *floatList) String() string { return fmt.Sprint([]float32(*f)) }
func (f *floatList) Set(s string) error {
	*f = nil
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return fmt.Errorf("bad number %q", p)
		}
		*f = append(*f, float32(v))
	}
	return nil
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "synthetic", "data set format: "+strings.Join(dataset.Formats(), ", "))
	path := fs.String("path", "lab,n=1400,seed=1", "data set directory, archive or file (for synthetic: a spec)")
	split := fs.String("split", "", `training split; "" = "train" where the data set has one, else every item ("all")`)
	valSplit := fs.String("val-split", "", `validation split (e.g. "test" = FER-2013 PublicTest); "" holds out --val-frac of the training items`)
	valFrac := fs.Float64("val-frac", 0.1, "with no --val-split: fraction of each class held out for validation (0: none)")
	out := fs.String("out", "", "checkpoint directory (required; an existing run there resumes)")
	name := fs.String("model", models.DefaultName, "model: "+strings.Join(models.Names(), ", "))
	input := fs.String("input", "", "input size HxWxC (default: the model's, 48x48x1 for fer-cnn)")
	width := fs.Float64("width", 1, "width multiplier")
	dropout := fs.Float64("dropout", 0, "dropout before the classifier")
	classes := fs.String("classes", "basic7", `label order: "basic7" (angry..neutral), "all8" (adds contempt) or a comma list of names`)
	d := train.DefaultConfig()
	epochs := fs.Int("epochs", d.Epochs, "epochs")
	batch := fs.Int("batch", d.BatchSize, "batch size")
	lr := fs.Float64("lr", d.LR, "learning rate")
	momentum := fs.Float64("momentum", d.Momentum, "SGD momentum")
	wd := fs.Float64("wd", 0, "weight decay")
	nesterov := fs.Bool("nesterov", false, "Nesterov momentum")
	decayEvery := fs.Int("decay-every", d.DecayEvery, "multiply the learning rate by --decay-factor every N epochs (-1: never)")
	decayFactor := fs.Float64("decay-factor", d.DecayFactor, "learning-rate decay factor")
	noFlip := fs.Bool("no-flip", false, "disable random horizontal flips")
	crop := fs.Int("crop", 0, "random shift of up to N pixels each way (pad-and-crop, edges repeated); 0: none")
	rotate := fs.Float64("rotate", 0, "random rotation of up to N degrees; 0: none")
	scale := fs.Float64("scale", 0, "random zoom by a factor in [1-S, 1+S]; 0: none")
	erase := fs.Float64("erase", 0, "probability of random erasing (a rectangle of 2-33% of the image set to 0); 0: none")
	smoothing := fs.Float64("label-smoothing", 0, "label smoothing of the loss's target; 0: none")
	schedule := fs.String("schedule", string(train.ScheduleStep), `learning-rate schedule: "step" (--decay-every, --decay-factor) or "cosine" (to --min-lr over the run, after --warmup epochs)`)
	warmup := fs.Int("warmup", 0, "with --schedule cosine: epochs of linear warm-up")
	minLR := fs.Float64("min-lr", 0, "with --schedule cosine: the final learning rate")
	balance := fs.String("balance", string(train.BalanceNone), `class balance: "none", "weights" (loss weighted by inverse class frequency) or "sample" (class-first sampling)`)
	seed := fs.Int64("seed", 1, "seed (weights, shuffling, flips)")
	var mean, std floatList
	fs.Var(&mean, "mean", "per-channel mean subtracted after scaling to [0,1] (e.g. 0.5)")
	fs.Var(&std, "std", "per-channel std divided by after the mean")
	cache := fs.String("cache", "", "directory caching decoded images between runs")
	auxFormat := fs.String("aux-format", "", "auxiliary samples' format (e.g. folder of selected or distilled images); see --aux-path")
	auxPath := fs.String("aux-path", "", "auxiliary samples (every labelled item is used)")
	auxMode := fs.String("aux-mode", "mix", `how auxiliary samples enter batches: "mix" (--aux-per-batch of each batch) or "append" (all of them added to every batch)`)
	auxPerBatch := fs.Int("aux-per-batch", 16, "with --aux-mode mix: auxiliary images per batch")
	auxWeight := fs.Float64("aux-weight", 1, "loss weight of auxiliary images")
	auxSpec := fs.String("aux", "", "auxiliary samples: vas:MANIFEST[,MANIFEST...] (pool images selected by fernb select, mixed into every batch) or das:DIR (images distilled by fernb distill, appended to every batch)")
	auxRatio := fs.Float64("aux-ratio", 0.25, "with --aux vas:...: fraction of each batch drawn from the VAS")
	dasExtra := fs.Bool("das-extra", false, "with --aux das:...: add the distilled images to the training set once instead of to every batch")
	dasAug := fs.Bool("das-augment", true, "with --aux das:DIR of a DAS distilled with --dsa: apply DSA's transformations to its images in training (false: as they are)")
	initDir := fs.String("init", "", "checkpoint directory whose weights start this run (fine-tuning; branching variants off one primitive learner); model, input, width, classes and normalisation then come from it")
	ckptEvery := fs.Duration("checkpoint-every", train.DefaultCheckpointEvery, "inside an epoch, save a checkpoint (with the batch position) this often, so a killed run loses at most this much work (negative: only at epoch ends)")
	quiet := fs.Bool("quiet", false, "no per-step progress on stderr")
	align := addAlignFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("train: unexpected arguments %v", fs.Args())
	}
	if *out == "" {
		return errors.New("train: --out DIR is required (the checkpoint directory)")
	}
	var initMeta *train.Meta
	if *initDir != "" {
		m, err := train.ReadMeta(*initDir)
		if err != nil {
			return fmt.Errorf("train: --init: %w", err)
		}
		initMeta = m
		var clash []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "model", "input", "width", "classes", "mean", "std":
				clash = append(clash, "--"+f.Name)
			}
		})
		if len(clash) > 0 {
			return fmt.Errorf("train: --init takes the model, input, classes and normalisation from %s; drop %s", *initDir, strings.Join(clash, ", "))
		}
	}
	mcfg := models.Config{Name: *name, WidthMult: *width, Dropout: *dropout}
	if initMeta != nil {
		mcfg = initMeta.Model
		mcfg.Dropout = *dropout
	}
	if *input != "" {
		h, w, c, err := models.ParseInput(*input)
		if err != nil {
			return err
		}
		mcfg.Height, mcfg.Width, mcfg.Channels = h, w, c
	}
	mcfg, err := models.WithDefaults(mcfg)
	if err != nil {
		return err
	}
	var labels []fernb.Label
	if initMeta != nil {
		labels, err = initMeta.LabelOrder()
	} else {
		labels, err = parseClasses(*classes)
	}
	if err != nil {
		return err
	}
	mcfg.NumClasses = len(labels)
	net, err := models.New(mcfg)
	if err != nil {
		return err
	}

	pre := dataset.Preprocess{Height: mcfg.Height, Width: mcfg.Width, Channels: mcfg.Channels, Mean: mean, Std: std, CacheDir: *cache}
	if initMeta != nil {
		if pre, err = initMeta.Preprocess(); err != nil {
			return err
		}
		pre.CacheDir = *cache
	}
	if err := align.apply(&pre); err != nil {
		return err
	}
	trainSet, valSet, note, err := loadTrainVal(ctx, *format, *path, *split, *valSplit, *valFrac, uint64(*seed), pre)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(stderr, note)
	}
	var aux *train.Aux
	if *auxPath != "" {
		if *auxFormat == "" {
			return errors.New("train: --aux-path needs --aux-format")
		}
		set, err := loadAll(ctx, *auxFormat, *auxPath, pre, stderr)
		if err != nil {
			return err
		}
		aux = &train.Aux{Set: set, Mode: train.AuxMode(*auxMode), PerBatch: *auxPerBatch, Weight: *auxWeight}
		fmt.Fprintf(stderr, "auxiliary samples: %d images from %s (%s)\n", set.N, *auxPath, *auxMode)
	}
	if *auxSpec != "" {
		if aux != nil {
			return errors.New("train: give --aux or --aux-path, not both")
		}
		trainSet, aux, err = distill.Aux(ctx, *auxSpec, trainSet, *batch, distill.AuxOptions{
			Ratio: *auxRatio, DASExtra: *dasExtra, NoAugment: !*dasAug, Weight: *auxWeight, VAS: omni.VASOptions{Preprocess: pre}})
		if err != nil {
			return fmt.Errorf("train: --aux %s: %w", *auxSpec, err)
		}
		if aux != nil {
			how := string(aux.Mode)
			if aux.Augment != nil {
				how += ", under DSA augmentation"
			}
			fmt.Fprintf(stderr, "auxiliary samples: %d images from %s (%s)\n", aux.Set.N, *auxSpec, how)
		} else {
			fmt.Fprintf(stderr, "auxiliary samples: distilled images added once; %d training images\n", trainSet.N)
		}
	}
	cfg := train.Config{Aux: aux, Epochs: *epochs, BatchSize: *batch, LR: *lr, Momentum: *momentum, WeightDecay: *wd, Nesterov: *nesterov,
		DecayEvery: *decayEvery, DecayFactor: *decayFactor, NoFlip: *noFlip, Seed: *seed, Labels: labels,
		Crop: *crop, Rotate: *rotate, Scale: *scale, Erase: *erase, LabelSmoothing: *smoothing,
		Schedule: train.Schedule(*schedule), WarmupEpochs: *warmup, MinLR: *minLR, Balance: train.Balance(*balance),
		CheckpointDir: *out, CheckpointEvery: *ckptEvery, Normalization: train.NormalizationOf(pre), Init: *initDir}
	backend, err := fernb.NewBackend()
	if err != nil {
		return err
	}
	if !fernb.BuiltWithSIMD() {
		fmt.Fprintln(stderr, "warning:", fernb.SIMDWarning)
	}
	fmt.Fprintf(stderr, "training %s (%d params) on %d images, validating on %d; checkpoints in %s\n",
		mcfg.Name, net.NumParams(), trainSet.N, valSet.Len(), *out)
	last := time.Time{}
	res, err := train.Fit(ctx, backend, net, trainSet, valSet, cfg, func(p train.Progress) {
		switch {
		case p.Stage == "checkpoint" || p.Stage == "resume":
			fmt.Fprintf(stderr, "\r%s\n", p.Message)
		case p.Stage == "train" && !*quiet && (time.Since(last) > time.Second || p.Step == p.Steps):
			last = time.Now()
			fmt.Fprintf(stderr, "\repoch %d/%d step %d/%d  loss %.4f  acc %.4f  lr %.2g  ETA %s   ",
				p.Epoch, p.Epochs, p.Step, p.Steps, p.Loss, p.Acc, p.LR, p.ETA.Round(time.Second))
		}
	})
	if err != nil {
		return err
	}
	summary := struct {
		Checkpoint string             `json:"checkpoint"`
		Model      models.Config      `json:"model"`
		Params     int                `json:"params"`
		Train      int                `json:"train_images"`
		Val        int                `json:"val_images"`
		Skipped    int                `json:"skipped_labels"`
		Resumed    bool               `json:"resumed"`
		History    []train.EpochStats `json:"history"`
	}{*out, mcfg, net.NumParams(), trainSet.N, valSet.Len(), res.Skipped, res.Resumed, res.History}
	return json.NewEncoder(stdout).Encode(summary)
}

// parseClasses turns --classes into a label order.
func parseClasses(s string) ([]fernb.Label, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "basic7", "7":
		return train.DefaultLabels(fernb.NumBasic), nil
	case "all8", "8":
		return train.DefaultLabels(fernb.NumLabels), nil
	}
	var out []fernb.Label
	for _, n := range strings.Split(s, ",") {
		l, err := fernb.ParseLabel(n)
		if err != nil {
			return nil, fmt.Errorf("--classes: %w", err)
		}
		out = append(out, l)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("--classes %q: need at least two classes", s)
	}
	return out, nil
}

// loadTrainVal opens a data set and decodes its training and validation
// images. With no validation split, valFrac of each class of the training
// split is held out (stratified, from seed).
func loadTrainVal(ctx context.Context, format, path, split, valSplit string, valFrac float64, seed uint64,
	pre dataset.Preprocess) (trainSet, valSet *dataset.Tensors, note string, err error) {
	ds, err := dataset.Open(format, path, dataset.Options{})
	if err != nil {
		return nil, nil, "", err
	}
	defer ds.Close()
	if split == "" {
		split = "all"
		for _, s := range ds.Splits() {
			if s == "train" {
				split = "train"
			}
		}
	}
	items, err := ds.Split(split)
	if err != nil {
		return nil, nil, "", err
	}
	var valItems []dataset.Item
	switch {
	case valSplit != "":
		if valItems, err = ds.Split(valSplit); err != nil {
			return nil, nil, "", err
		}
	case valFrac > 0:
		tr, va := dataset.StratifiedSplit(items, valFrac, seed)
		items, valItems = dataset.Select(items, tr), dataset.Select(items, va)
	}
	if trainSet, err = ds.Load(ctx, items, pre); err != nil {
		return nil, nil, "", fmt.Errorf("train: loading %s: %w", path, err)
	}
	if len(valItems) > 0 {
		if valSet, err = ds.Load(ctx, valItems, pre); err != nil {
			return nil, nil, "", fmt.Errorf("train: loading %s: %w", path, err)
		}
	}
	if n := ds.Report.Skipped(); n > 0 {
		note = fmt.Sprintf("data: %d item(s) skipped: %s", n, ds.Report.String())
	}
	note = strings.TrimSpace(note + "\n" + ds.Report.AlignSummary())
	return trainSet, valSet, note, nil
}

// loadAll decodes every item of a data set (auxiliary samples).
func loadAll(ctx context.Context, format, path string, pre dataset.Preprocess, stderr io.Writer) (*dataset.Tensors, error) {
	ds, err := dataset.Open(format, path, dataset.Options{})
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	t, err := ds.Load(ctx, ds.Items, pre)
	if err != nil {
		return nil, fmt.Errorf("train: loading %s: %w", path, err)
	}
	if n := ds.Report.Skipped(); n > 0 {
		fmt.Fprintf(stderr, "aux: %d item(s) skipped: %s", n, ds.Report.String())
	}
	return t, nil
}
