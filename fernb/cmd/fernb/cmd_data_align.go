package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/fernb/fernb/fernb/dataset"
)

// runDataAlign writes the aligned face crops of a data set to a folder,
// with a report, and prints the counts as one JSON line.
func runDataAlign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("data align", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "", "data set format: "+strings.Join(dataset.Formats(), ", "))
	path := fs.String("path", "", "directory, .tar/.tar.gz/.zip archive, file or synthetic spec")
	split := fs.String("split", "", "split to align (train, test, ...); default all")
	out := fs.String("out", "", "folder for the crops (mirrors the data set's paths, as PNG) and align-report.txt (required)")
	size := fs.Int("size", 96, "side of the written crops in pixels")
	channels := fs.Int("channels", 3, "1 (grayscale) or 3 (RGB)")
	align := addAlignFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *format == "" || (*path == "" && *format != "synthetic") || *out == "" {
		fs.Usage()
		return errors.New("data align: --format, --path and --out are required")
	}
	*align.on = true // aligning is what this command does
	pre := dataset.Preprocess{Height: *size, Width: *size, Channels: *channels}
	if err := align.apply(&pre); err != nil {
		return err
	}
	ds, err := dataset.Open(*format, *path, dataset.Options{})
	if err != nil {
		return err
	}
	defer ds.Close()
	items, err := ds.Split(*split)
	if err != nil {
		return err
	}
	n, err := ds.ExportAligned(ctx, items, pre, *out)
	if err != nil {
		return fmt.Errorf("data align: %w", err)
	}
	align.report(stderr, "data align", ds.Report)
	return json.NewEncoder(stdout).Encode(n)
}
