package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/train"
)

func init() {
	extraCommands = append(extraCommands, command{"eval",
		"evaluate a checkpoint on a data set: accuracy, per-class accuracy, confusion matrix (one JSON line)",
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
	*train.Evaluation
	// SkippedImages counts images the loader could not read (corrupt,
	// missing, too large); they are listed on stderr.
	SkippedImages int `json:"skipped_images,omitempty"`
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
	align := addAlignFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("eval: unexpected arguments %v", fs.Args())
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
		Format: *format, Path: *path, Split: *split, Evaluation: ev, SkippedImages: skipped,
	})
}
