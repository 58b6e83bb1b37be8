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

func init() {
	extraCommands = append(extraCommands, command{"data", "inspect data sets: `data stats --format F --path P [--split S]`", runData})
}

// runData dispatches `fernb data <sub>`.
func runData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(stderr, "usage: fernb data stats --format F --path P [--split S] [--verify=false] [--report] [--align]")
		fmt.Fprintln(stderr, "       fernb data align --format F --path P --out DIR [--split S] [--size N] [--channels C] [--align-* flags]")
		fmt.Fprintf(stderr, "formats: %s\n", strings.Join(dataset.Formats(), ", "))
		if len(args) == 0 {
			return errors.New("data: no subcommand given")
		}
		return nil
	}
	switch args[0] {
	case "stats":
		return runDataStats(ctx, args[1:], stdout, stderr)
	case "align":
		return runDataAlign(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("data: unknown subcommand %q (known: stats, align)", args[0])
}

// runDataStats prints one JSON object with the image count per class.
func runDataStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("data stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "", "data set format: "+strings.Join(dataset.Formats(), ", "))
	path := fs.String("path", "", "directory, .tar/.tar.gz/.zip archive, file (fer2013.csv, train.rec) or synthetic spec")
	split := fs.String("split", "", "split to count (train, test, ...); default all")
	verify := fs.Bool("verify", true, "decode every image so that corrupt ones are counted as skipped")
	report := fs.Bool("report", false, "print the load report (skipped files and why) to stderr")
	maxPixels := fs.Int64("max-pixels", dataset.DefaultMaxPixels, "reject images whose header claims more pixels")
	align := addAlignFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *format == "" || (*path == "" && *format != "synthetic") {
		fs.Usage()
		return errors.New("data stats: --format and --path are required")
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
	pre := dataset.Preprocess{MaxPixels: *maxPixels}
	if err := align.apply(&pre); err != nil {
		return err
	}
	st, err := ds.ComputeStats(ctx, items, *split, *verify, pre)
	if err != nil {
		return err
	}
	align.report(stderr, "data stats", ds.Report)
	if *report || ds.Report.Skipped() > 0 {
		fmt.Fprint(stderr, ds.Report.String())
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(b))
	return nil
}
