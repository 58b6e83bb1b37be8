package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

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
	noProfile := fs.Bool("no-profile", false, "skip the CPU profiles of the timed phases (no GEMM share)")
	cpuprofile := fs.String("cpuprofile", "", "write the CPU profile of the (last round's) timed training steps to this file, the inference's to its name with .infer before the extension")
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
		NoProfile: *noProfile,
	}
	backend, err := fernb.NewBackend()
	if err != nil {
		return err
	}
	if *cpuprofile != "" && *noProfile {
		return fmt.Errorf("bench: --cpuprofile needs the profiles that --no-profile skips")
	}
	// JSON lines on stdout for scripts, the same results as text on stderr
	// for the person watching.
	enc := json.NewEncoder(stdout)
	var last *bench.Result
	runGo := func() (*bench.Result, error) {
		r, err := bench.Run(ctx, backend, opts)
		if err != nil {
			return nil, err
		}
		last = r
		r.WriteText(stderr)
		return r, enc.Encode(r)
	}
	if !*vsTorch {
		if _, err := runGo(); err != nil {
			return err
		}
		return writeProfiles(*cpuprofile, last)
	}
	cmp, err := bench.Compare(ctx, runGo, opts, *rounds, func(*bench.Result) {},
		func(p *bench.PeerResult) {
			fmt.Fprintf(stderr, "PyTorch %s: training %.1f img/s, inference %.1f img/s\n", p.Version, p.TrainImagesPerS, p.InferImagesPerS)
			enc.Encode(p)
		})
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr)
	cmp.WriteText(stderr)
	if err := enc.Encode(cmp); err != nil {
		return err
	}
	return writeProfiles(*cpuprofile, last)
}

// writeProfiles writes r's training profile to path and its inference
// profile next to it (cpu.prof, cpu.infer.prof); nothing when path is "".
func writeProfiles(path string, r *bench.Result) error {
	if path == "" {
		return nil
	}
	if r.TrainPprof == nil {
		return fmt.Errorf("bench: no CPU profile to write to %s: %s", path, r.ProfileError)
	}
	ext := filepath.Ext(path)
	inferPath := strings.TrimSuffix(path, ext) + ".infer" + ext
	if err := os.WriteFile(path, r.TrainPprof, 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(inferPath, r.InferPprof, 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}
