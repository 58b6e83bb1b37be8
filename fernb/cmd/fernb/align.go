package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/face"
)

// alignFlags are the face-alignment flags of every command that reads
// images, registered by one function so that they are spelled, defaulted
// and documented the same everywhere.
type alignFlags struct {
	on, rotate                  *bool
	margin, minQuality, minFace *float64
	pick, noFace, cascade       *string
	aligner                     *face.Aligner
	fs                          *flag.FlagSet
}

func addAlignFlags(fs *flag.FlagSet) *alignFlags {
	d := face.DefaultOptions()
	return &alignFlags{
		fs:         fs,
		on:         fs.Bool("align", false, "detect the face in every image and crop it square before anything else (for data not already cropped: whole photographs, lab pictures)"),
		margin:     fs.Float64("align-margin", d.Margin, "with --align: widen the face square by this fraction of its side on every side"),
		rotate:     fs.Bool("align-rotate", d.Rotate, "with --align: rotate so that the pupils are level"),
		pick:       fs.String("align-pick", string(d.Pick), "with --align: face kept when there are several: largest or confident"),
		noFace:     fs.String("align-noface", string(d.NoFace), "with --align: images without a face are skipped (skip) or kept as their central square (centre); both are listed"),
		minQuality: fs.Float64("align-min-quality", d.MinQuality, "with --align: lowest detection score accepted"),
		minFace:    fs.Float64("align-min-face", d.MinFace, "with --align: smallest face searched for, as a fraction of the image's shorter side"),
		cascade:    fs.String("cascade", "", "with --align: directory of pigo's facefinder and puploc cascades (default: the pigo module in the Go module cache)"),
	}
}

// apply sets pre.Align as the flags ask (nothing without --align). The
// cascades are loaded once per command.
func (a *alignFlags) apply(pre *dataset.Preprocess) error {
	if !*a.on {
		return nil
	}
	if a.aligner == nil {
		opt := face.DefaultOptions()
		opt.Margin, opt.Rotate, opt.MinQuality, opt.MinFace = *a.margin, *a.rotate, *a.minQuality, *a.minFace
		opt.Pick, opt.NoFace, opt.CascadeDir = face.Pick(*a.pick), face.NoFacePolicy(*a.noFace), *a.cascade
		al, err := face.New(opt)
		if err != nil {
			return fmt.Errorf("--align: %w", err)
		}
		a.aligner = al
	}
	pre.Align = a.aligner
	return nil
}

// applyModel is apply for a command that runs a trained model: when --align
// is not given at all, it aligns as the model's training did (recorded in
// its checkpoint, nil when training did not align), since a model trained on
// aligned faces misreads whole pictures; an explicit --align or
// --align=false wins, with a warning when it differs from training.
func (a *alignFlags) applyModel(pre *dataset.Preprocess, trained *face.Options, stderr io.Writer) error {
	explicit := false
	a.fs.Visit(func(f *flag.Flag) {
		if f.Name == "align" {
			explicit = true
		}
	})
	if !explicit && trained != nil {
		opt := *trained
		opt.CascadeDir = *a.cascade
		al, err := face.New(opt)
		if err != nil {
			return fmt.Errorf("aligning as the model was trained: %w (pass --cascade DIR, or --align=false to read the images as they are)", err)
		}
		a.aligner = al
		*a.on = true
		fmt.Fprintln(stderr, "the model was trained on aligned faces: aligning the same way (--align=false not to)")
		pre.Align = al
		return nil
	}
	if err := a.apply(pre); err != nil {
		return err
	}
	switch {
	case pre.Align != nil && trained == nil:
		fmt.Fprintln(stderr, "warning: --align, but the model was trained on images that were not aligned")
	case pre.Align == nil && trained != nil:
		fmt.Fprintln(stderr, "warning: --align=false, but the model was trained on aligned faces")
	case pre.Align != nil && !sameAlignment(pre.Align.Options(), *trained):
		fmt.Fprintf(stderr, "warning: aligning with other settings than training did (trained with %+v)\n", *trained)
	}
	return nil
}

// sameAlignment compares two settings but for the cascade directory.
func sameAlignment(a, b face.Options) bool {
	a.CascadeDir, b.CascadeDir = "", ""
	return a == b
}

// report prints what alignment found in a data set (nothing without
// --align), so that images kept as centre crops never pass silently.
func (a *alignFlags) report(w io.Writer, what string, rep *dataset.Report) {
	if rep == nil || !*a.on {
		return
	}
	if s := rep.AlignSummary(); s != "" {
		fmt.Fprintf(w, "%s: %s", what, s)
	}
}
