// Package bench measures how fast fernb trains and runs its models, and
// compares that with PyTorch on the same machine.
//
// Run times a model's real training step (train.Trainer, the one Fit uses:
// forward, backward and SGD-momentum update in one compiled graph) and its
// inference (train.Model.Infer) on a random batch, after warm-up steps that
// absorb compilation. It reports images per second, the forward FLOPs per
// image that models computed from the layer shapes (a training step is
// counted as 3x forward), the FLOP/s that makes, and the fraction of the
// machine's peak FP32 FLOP/s, estimated two ways:
//
//   - theoretical: threads x clock (MHz from /proc/cpuinfo) x FP32
//     FLOP/cycle/core from the SIMD flags (AVX-512: 64, AVX2+FMA: 32, AVX: 16,
//     SSE: 8), which assumes two FMA (or add+mul) units per core as on
//     Intel since Haswell and AMD since Zen 2; this is the peak_gflops the
//     fractions divide by;
//   - measured: the FLOP/s of one large matrix product (1024^3) on the same
//     backend, i.e. the best the backend's matmul kernel reaches here
//     (dot_gflops), as a practical ceiling.
//
// Peer runs fernb/bench/torch_peer.py, which builds the same network in
// PyTorch with the same batch, input and threads and prints the same JSON;
// Compare runs the two alternately, so that a noisy shared machine hurts
// both sides alike, and reports the Go/PyTorch ratios, together with the
// ratios fernb would reach if its whole step ran at dot_gflops: when a
// target lies above that ceiling, no change to the network code can reach
// it on this backend; only a faster matmul or convolution kernel can.
//
// Run also profiles its timed training steps and inference batches (the
// CPU profiler at 100 Hz, into memory) and reports where the samples went
// (Breakdown): the share spent in matrix multiplication, the target the
// layer formulations in fernb/nn are written for, and the largest other
// categories, each named after the backend op that spent it. Every result
// names its machine (Machine: /proc/cpuinfo's model name and SIMD flags),
// because the backend picks its kernels by ISA.
//
// This directory's README.md holds the Performance figures, the commands
// that produce them (performance.sh) and the before/after timing of the
// distillation outer iterations (distill_outer.sh).
package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/train"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Options says what to benchmark.
type Options struct {
	Model   models.Config
	Batch   int // default 64
	Steps   int // timed steps for training and for inference; default 20
	Warmup  int // untimed steps first (compilation, caches); default 3
	Threads int // reported thread count; 0 = GOMAXPROCS
	// SkipDot skips the measured-matmul peak (saves its timing run).
	SkipDot bool
	// NoProfile skips the CPU profiles of the timed phases (and so the
	// Breakdowns); the profiler's 100 Hz signals cost about 1% of the time.
	NoProfile bool
}

// Result is one benchmark run; its JSON is the line `fernb bench` prints
// (torch_peer.py prints the same keys).
type Result struct {
	Framework         string  `json:"framework"` // "fernb-go"
	Backend           string  `json:"backend"`
	Model             string  `json:"model"`
	Input             string  `json:"input"`
	Batch             int     `json:"batch"`
	Threads           int     `json:"threads"`
	Steps             int     `json:"steps"`
	Warmup            int     `json:"warmup"`
	Params            int     `json:"params"`
	FLOPsPerImage     int64   `json:"flops_per_image"`
	TrainImagesPerS   float64 `json:"train_images_per_s"`
	InferImagesPerS   float64 `json:"infer_images_per_s"`
	TrainGFLOPS       float64 `json:"train_gflops"`
	InferGFLOPS       float64 `json:"infer_gflops"`
	PeakGFLOPS        float64 `json:"peak_gflops"`
	PeakMethod        string  `json:"peak_method"`
	TrainPeakFraction float64 `json:"train_peak_fraction"`
	InferPeakFraction float64 `json:"infer_peak_fraction"`
	DotGFLOPS         float64 `json:"dot_gflops,omitempty"`
	TrainDotFraction  float64 `json:"train_dot_fraction,omitempty"`
	InferDotFraction  float64 `json:"infer_dot_fraction,omitempty"`
	CompileSeconds    float64 `json:"compile_seconds"`
	GOEXPERIMENTSimd  bool    `json:"simd"`
	TrainStepMillis   float64 `json:"train_step_ms"`
	InferBatchMillis  float64 `json:"infer_batch_ms"`
	// TrainImagesPerCPUS and InferImagesPerCPUS divide the images by the
	// process's CPU time (user+system) instead of wall time: less sensitive
	// to other processes on a shared machine, though spin-waiting worker
	// pools count as work.
	TrainImagesPerCPUS float64 `json:"train_images_per_cpu_s"`
	InferImagesPerCPUS float64 `json:"infer_images_per_cpu_s"`
	// Machine is the processor the numbers were measured on.
	Machine Machine `json:"machine"`
	// TrainProfile and InferProfile are the breakdowns of the CPU profiles
	// taken during the timed training steps and inference batches; nil
	// with NoProfile or when the profiler could not start (ProfileError).
	TrainProfile *Breakdown `json:"train_profile,omitempty"`
	InferProfile *Breakdown `json:"infer_profile,omitempty"`
	ProfileError string     `json:"profile_error,omitempty"`
	// TrainPprof and InferPprof are those profiles as `go tool pprof`
	// reads them.
	TrainPprof, InferPprof []byte `json:"-"`
}

func (o Options) withDefaults() Options {
	if o.Batch == 0 {
		o.Batch = 64
	}
	if o.Steps == 0 {
		o.Steps = 20
	}
	if o.Warmup == 0 {
		o.Warmup = 3
	}
	if o.Threads == 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	return o
}

// Run benchmarks training and inference of one model on backend.
func Run(ctx context.Context, backend compute.Backend, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	if opts.Batch < 1 || opts.Steps < 1 || opts.Warmup < 0 {
		return nil, fmt.Errorf("bench: batch %d, steps %d, warmup %d: want batch, steps >= 1", opts.Batch, opts.Steps, opts.Warmup)
	}
	net, err := models.New(opts.Model)
	if err != nil {
		return nil, err
	}
	c := net.Config
	r := &Result{Framework: "fernb-go", Backend: backend.Name(), Model: c.Name,
		Input: fmt.Sprintf("%dx%dx%d", c.Height, c.Width, c.Channels), Batch: opts.Batch, Threads: opts.Threads,
		Steps: opts.Steps, Warmup: opts.Warmup, Params: net.NumParams(), FLOPsPerImage: net.FLOPs,
		GOEXPERIMENTSimd: fernb.BuiltWithSIMD(), Machine: DescribeMachine()}

	// Random batch (fixed seed): speed does not depend on the values.
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, opts.Batch*c.Height*c.Width*c.Channels)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]int32, opts.Batch)
	for i := range y {
		y[i] = int32(rng.IntN(c.NumClasses))
	}

	tr, err := train.NewTrainer(backend, net, train.Config{BatchSize: opts.Batch, Seed: 1})
	if err != nil {
		return nil, err
	}
	defer tr.Finalize()
	t0 := time.Now()
	for i := 0; i < max(opts.Warmup, 1); i++ {
		if _, _, err := tr.Step(x, y, nil); err != nil {
			return nil, fmt.Errorf("bench: training step: %w", err)
		}
		if i == 0 {
			r.CompileSeconds = time.Since(t0).Seconds()
		}
	}
	var trainS, trainCPU float64
	r.TrainProfile, r.TrainPprof, err = r.profiled(opts, func() error {
		t0, c0 := time.Now(), cpuTime()
		for i := 0; i < opts.Steps; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, _, err := tr.Step(x, y, nil); err != nil {
				return fmt.Errorf("bench: training step: %w", err)
			}
		}
		trainS, trainCPU = time.Since(t0).Seconds(), cpuTime()-c0
		return nil
	})
	if err != nil {
		return nil, err
	}

	m := tr.Model
	defer m.Finalize()
	sink := func(_, _ int, logits, _ []float32) error { return nil }
	for i := 0; i < max(opts.Warmup, 1); i++ {
		if err := m.Infer(ctx, x, opts.Batch, opts.Batch, sink); err != nil {
			return nil, fmt.Errorf("bench: inference: %w", err)
		}
	}
	var inferS, inferCPU float64
	r.InferProfile, r.InferPprof, err = r.profiled(opts, func() error {
		t0, c0 := time.Now(), cpuTime()
		for i := 0; i < opts.Steps; i++ {
			if err := m.Infer(ctx, x, opts.Batch, opts.Batch, sink); err != nil {
				return fmt.Errorf("bench: inference: %w", err)
			}
		}
		inferS, inferCPU = time.Since(t0).Seconds(), cpuTime()-c0
		return nil
	})
	if err != nil {
		return nil, err
	}

	images := float64(opts.Batch * opts.Steps)
	r.TrainImagesPerS = round(images/trainS, 2)
	r.InferImagesPerS = round(images/inferS, 2)
	r.TrainImagesPerCPUS = round(images/trainCPU, 2)
	r.InferImagesPerCPUS = round(images/inferCPU, 2)
	r.TrainStepMillis = round(1000*trainS/float64(opts.Steps), 2)
	r.InferBatchMillis = round(1000*inferS/float64(opts.Steps), 2)
	r.TrainGFLOPS = round(3*float64(net.FLOPs)*images/trainS/1e9, 3)
	r.InferGFLOPS = round(float64(net.FLOPs)*images/inferS/1e9, 3)
	peak := TheoreticalPeak(opts.Threads)
	r.PeakGFLOPS, r.PeakMethod = round(peak.GFLOPS, 1), peak.Method
	if peak.GFLOPS > 0 {
		r.TrainPeakFraction = round(r.TrainGFLOPS/peak.GFLOPS, 4)
		r.InferPeakFraction = round(r.InferGFLOPS/peak.GFLOPS, 4)
	}
	if !opts.SkipDot {
		dot, err := DotGFLOPS(backend, 1024)
		if err != nil {
			return nil, err
		}
		r.DotGFLOPS = round(dot, 2)
		r.TrainDotFraction = round(r.TrainGFLOPS/dot, 4)
		r.InferDotFraction = round(r.InferGFLOPS/dot, 4)
	}
	return r, nil
}

// profiled runs a timed phase, under the CPU profiler unless
// opts.NoProfile, and returns the phase's Breakdown and raw profile. A
// profiler that cannot start is noted in r.ProfileError, not fatal: the
// timing is still valid.
func (r *Result) profiled(opts Options, phase func() error) (*Breakdown, []byte, error) {
	if opts.NoProfile {
		return nil, nil, phase()
	}
	raw, p, profErr, err := profileCPU(phase)
	if profErr != nil {
		r.ProfileError = profErr.Error()
		return nil, nil, err
	}
	return Classify(p), raw, err
}

func round(v float64, digits int) float64 {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	out, _ := strconv.ParseFloat(s, 64)
	return out
}

// Peak is an estimate of a machine's FP32 FLOP/s.
type Peak struct {
	GFLOPS float64
	Method string
}

// TheoreticalPeak estimates peak FP32 FLOP/s for threads cores from
// /proc/cpuinfo (see the package doc for the formula and its assumption).
func TheoreticalPeak(threads int) Peak {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return Peak{Method: "unknown: " + err.Error()}
	}
	return peakFromCPUInfo(string(data), threads)
}

func peakFromCPUInfo(info string, threads int) Peak {
	ci := parseCPUInfo(info)
	mhz, flags, model := ci.mhz, ci.flags, ci.model
	if len(mhz) == 0 {
		return Peak{Method: "unknown: no cpu MHz in /proc/cpuinfo"}
	}
	sort.Float64s(mhz)
	clock := mhz[len(mhz)-1]
	perCycle, isa := 8.0, "SSE: 2 units x 4 lanes"
	switch {
	case flags["avx512f"]:
		perCycle, isa = 64, "AVX-512: 2 FMA units x 16 lanes x 2"
	case flags["avx2"] && flags["fma"]:
		perCycle, isa = 32, "AVX2+FMA: 2 FMA units x 8 lanes x 2"
	case flags["avx"]:
		perCycle, isa = 16, "AVX: add+mul units x 8 lanes"
	}
	g := float64(threads) * clock * perCycle / 1000
	return Peak{GFLOPS: g, Method: fmt.Sprintf("theoretical: %d threads x %.0f MHz x %.0f FLOP/cycle (%s), %s, /proc/cpuinfo",
		threads, clock, perCycle, isa, model)}
}

// DotGFLOPS measures the FLOP/s of an n x n by n x n float32 matrix
// product on backend (best of 3 after a warm-up).
func DotGFLOPS(backend compute.Backend, n int) (float64, error) {
	exec, err := graph.NewExec(backend, func(a, b *graph.Node) *graph.Node { return graph.Dot(a, b).Product() })
	if err != nil {
		return 0, err
	}
	defer exec.Finalize()
	a := tensors.FromShape(shapes.Make(dtypes.Float32, n, n))
	tensors.MustMutableFlatData(a, func(f []float32) {
		for i := range f {
			f[i] = float32(i%7) * 0.1
		}
	})
	best := 0.0
	for i := 0; i < 4; i++ {
		t0 := time.Now()
		out, err := exec.Exec(a, a)
		if err != nil {
			return 0, fmt.Errorf("bench: dot: %w", err)
		}
		tensors.MustConstFlatData(out[0], func([]float32) {})
		s := time.Since(t0).Seconds()
		out[0].FinalizeAll()
		if i > 0 {
			best = max(best, 2*float64(n)*float64(n)*float64(n)/s/1e9)
		}
	}
	return best, nil
}

// cpuTime returns the process's user+system CPU seconds so far.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
