package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/bench"
	"github.com/fernb/fernb/fernb/models"
)

func init() {
	extraCommands = append(extraCommands, command{"bench",
		"time a model's training step and inference (images/s, FLOPs, fraction of peak); --vs-torch compares with PyTorch",
		runBench})
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("model", models.DefaultName, "model name: "+fmt.Sprint(models.Names()))
	input := fs.String("input", "48x48x1", "input size HxWxC")
	batch := fs.Int("batch", 64, "batch size")
	steps := fs.Int("steps", 20, "timed steps (training and inference each)")
	warmup := fs.Int("warmup", 3, "untimed warm-up steps (the first compiles)")
	width := fs.Float64("width", 1, "width multiplier")
	classes := fs.Int("classes", fernb.NumBasic, "number of classes")
	threads := fs.Int("threads", 0, "threads (sets GOMAXPROCS; PyTorch gets the same); 0 = GOMAXPROCS")
	vsTorch := fs.Bool("vs-torch", false, "also run the PyTorch peer (fernb/bench/torch_peer.py), alternating, and print Go/PyTorch ratios")
	rounds := fs.Int("rounds", 2, "with --vs-torch: Go/PyTorch rounds")
	noDot := fs.Bool("no-dot", false, "skip measuring the backend's matmul peak")
	cpuprofile := fs.String("cpuprofile", "", "write a pprof CPU profile of the Go run(s) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %v", fs.Args())
	}
	h, w, c, err := models.ParseInput(*input)
	if err != nil {
		return err
	}
	if *threads > 0 {
		runtime.GOMAXPROCS(*threads)
	}
	if !fernb.BuiltWithSIMD() {
		fmt.Fprintln(stderr, "warning:", fernb.SIMDWarning)
	}
	opts := bench.Options{
		Model: models.Config{Name: *name, Height: h, Width: w, Channels: c, NumClasses: *classes, WidthMult: *width},
		Batch: *batch, Steps: *steps, Warmup: *warmup, Threads: runtime.GOMAXPROCS(0), SkipDot: *noDot,
	}
	backend, err := fernb.NewBackend()
	if err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	enc := json.NewEncoder(stdout)
	runGo := func() (*bench.Result, error) { return bench.Run(ctx, backend, opts) }
	if !*vsTorch {
		r, err := runGo()
		if err != nil {
			return err
		}
		return enc.Encode(r)
	}
	cmp, err := bench.Compare(ctx, runGo, opts, *rounds,
		func(r *bench.Result) { enc.Encode(r) },
		func(p *bench.PeerResult) { enc.Encode(p) })
	if err != nil {
		return err
	}
	if !cmp.SameParams || !cmp.SameFLOPs {
		fmt.Fprintln(stderr, "warning: the PyTorch network's parameter or FLOP count differs from the Go one; the comparison is not like for like")
	}
	return enc.Encode(cmp)
}
