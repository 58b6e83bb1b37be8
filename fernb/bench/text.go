package bench

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints r for a person: the rates, the machine, and where the
// CPU samples went.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s, batch %d, %d threads, %s (simd %v), %d timed steps\n",
		r.Model, r.Input, r.Batch, r.Threads, r.Backend, r.GOEXPERIMENTSimd, r.Steps)
	fmt.Fprintf(&b, "machine: %s\n", r.Machine)
	phase := func(name string, ips, ms, gflops, frac float64, bd *Breakdown) {
		fmt.Fprintf(&b, "%-10s %8.1f img/s  %7.1f ms/batch  %6.1f GFLOP/s (%.0f%% of peak)\n", name+":", ips, ms, gflops, 100*frac)
		if bd != nil {
			fmt.Fprintf(&b, "           CPU samples: %s\n", bd)
		}
	}
	phase("training", r.TrainImagesPerS, r.TrainStepMillis, r.TrainGFLOPS, r.TrainPeakFraction, r.TrainProfile)
	phase("inference", r.InferImagesPerS, r.InferBatchMillis, r.InferGFLOPS, r.InferPeakFraction, r.InferProfile)
	fmt.Fprintf(&b, "peak: %.1f GFLOP/s (%s)", r.PeakGFLOPS, r.PeakMethod)
	if r.DotGFLOPS > 0 {
		fmt.Fprintf(&b, "; measured 1024^3 matmul %.1f GFLOP/s", r.DotGFLOPS)
	}
	b.WriteString("\n")
	if r.ProfileError != "" {
		fmt.Fprintf(&b, "no CPU breakdown: %s\n", r.ProfileError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText prints the comparison as a small table: medians over the
// rounds, their ratio and the target, then the Go side's GEMM share and the
// machine.
func (c *Comparison) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s, batch %d, %d threads, %d rounds (medians)\n", c.Model, c.Input, c.Batch, c.Threads, c.Rounds)
	fmt.Fprintf(&b, "machine: %s\n", c.Machine)
	fmt.Fprintf(&b, "%-10s %12s %14s %11s %7s\n", "", "Go img/s", "PyTorch img/s", "Go/PyTorch", "target")
	fmt.Fprintf(&b, "%-10s %12.1f %14.1f %11.3f %7.1f\n", "training", median(c.GoTrain), median(c.TorchTrain), c.TrainRatio, c.TrainTarget)
	fmt.Fprintf(&b, "%-10s %12.1f %14.1f %11.3f %7.1f\n", "inference", median(c.GoInfer), median(c.TorchInfer), c.InferRatio, c.InferTarget)
	if c.TrainGEMMShare > 0 {
		fmt.Fprintf(&b, "GEMM share of Go's CPU samples: training %.0f%%, inference %.0f%%\n", 100*c.TrainGEMMShare, 100*c.InferGEMMShare)
	}
	if !c.SameParams || !c.SameFLOPs {
		b.WriteString("warning: the PyTorch network's parameter or FLOP count differs from the Go one; the comparison is not like for like\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
