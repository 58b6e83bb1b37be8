package bench

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/train"
	"github.com/gomlx/compute"
	"github.com/google/pprof/profile"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := fernb.NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunSmall(t *testing.T) {
	opts := Options{Model: models.Config{Height: 16, Width: 16, WidthMult: 0.25}, Batch: 8, Steps: 2, Warmup: 1, SkipDot: true}
	r, err := Run(context.Background(), testBackend(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	net, _ := models.New(opts.Model)
	if r.FLOPsPerImage != net.FLOPs || r.Params != net.NumParams() || r.Input != "16x16x1" || r.Model != "fer-cnn" {
		t.Errorf("result %+v", r)
	}
	if r.TrainImagesPerS <= 0 || r.InferImagesPerS <= 0 || r.TrainGFLOPS <= 0 {
		t.Errorf("rates: %+v", r)
	}
	// train GFLOP/s = 3 x forward FLOPs x images/s.
	want := 3 * float64(r.FLOPsPerImage) * r.TrainImagesPerS / 1e9
	if d := r.TrainGFLOPS - want; d > 0.01*want+1e-3 || d < -0.01*want-1e-3 {
		t.Errorf("train GFLOP/s %v, want %v", r.TrainGFLOPS, want)
	}
	if r.Machine.Arch == "" || r.Machine.CPU == "" {
		t.Errorf("machine %+v", r.Machine)
	}
	// Both timed phases were profiled (no other profile runs under a plain
	// go test), and the profiles parse.
	if r.ProfileError != "" || r.TrainProfile == nil || r.InferProfile == nil {
		t.Fatalf("profiles: train %v, infer %v, error %q", r.TrainProfile, r.InferProfile, r.ProfileError)
	}
	for _, raw := range [][]byte{r.TrainPprof, r.InferPprof} {
		if _, err := profile.Parse(bytes.NewReader(raw)); err != nil {
			t.Error(err)
		}
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fer-cnn 16x16x1, batch 8", "machine: " + r.Machine.String(), "training:", "inference:", "CPU samples: "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}

	opts.NoProfile = true
	if r, err = Run(context.Background(), testBackend(t), opts); err != nil {
		t.Fatal(err)
	}
	if r.TrainProfile != nil || r.InferProfile != nil || r.TrainPprof != nil {
		t.Errorf("NoProfile run has profiles")
	}
}

func TestPeakFromCPUInfo(t *testing.T) {
	info := "processor\t: 0\nmodel name\t: Test CPU\ncpu MHz\t\t: 2000.000\nflags\t\t: fpu sse avx avx2 fma\n\n" +
		"processor\t: 1\ncpu MHz\t\t: 2500.000\nflags\t\t: fpu sse avx avx2 fma\n"
	p := peakFromCPUInfo(info, 2)
	if p.GFLOPS != 2*2500*32/1000.0 || !strings.Contains(p.Method, "AVX2") {
		t.Errorf("peak %+v", p)
	}
	p = peakFromCPUInfo("cpu MHz : 1000\nflags : sse avx512f avx2 fma\n", 1)
	if p.GFLOPS != 64 {
		t.Errorf("AVX-512 peak %+v", p)
	}
	if p := peakFromCPUInfo("nothing", 2); p.GFLOPS != 0 || !strings.HasPrefix(p.Method, "unknown") {
		t.Errorf("empty cpuinfo: %+v", p)
	}
}

func TestDotGFLOPS(t *testing.T) {
	g, err := DotGFLOPS(testBackend(t), 128)
	if err != nil {
		t.Fatal(err)
	}
	if g <= 0 {
		t.Errorf("dot GFLOP/s = %v", g)
	}
}

// TestPeerBuildsTheSameNetworks runs the PyTorch peer on every model at a
// small size and checks that its parameter and FLOP counts equal the Go
// models': the comparison is like for like. Skipped where PyTorch is not
// installed (apt-get install python3-torch).
func TestPeerBuildsTheSameNetworks(t *testing.T) {
	if err := exec.Command(python(), "-c", "import torch").Run(); err != nil {
		t.Skipf("PyTorch not available to %s: %v", python(), err)
	}
	cfgs := []models.Config{
		{Name: "fer-cnn"},
		{Name: "fer-cnn", Height: 40, Width: 40, Channels: 3, NumClasses: 8, WidthMult: 0.5},
		{Name: "vgg-face", Height: 48, Width: 48, WidthMult: 1.0 / 16},
		{Name: "resnet18", Height: 32, Width: 32, Channels: 3, WidthMult: 1.0 / 16},
		{Name: "resnet34", Height: 112, Width: 112, Channels: 1, WidthMult: 1.0 / 32},
	}
	peers, err := PeerCounts(context.Background(), cfgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, cfg := range cfgs {
		net, err := models.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := peers[i]
		if p.Params != net.NumParams() || p.FLOPsPerImage != net.FLOPs {
			t.Errorf("%s %dx%dx%d: PyTorch %d params %d FLOPs, Go %d params %d FLOPs", net.Config.Name,
				net.Config.Height, net.Config.Width, net.Config.Channels, p.Params, p.FLOPsPerImage, net.NumParams(), net.FLOPs)
		}
	}
	if testing.Short() {
		return // the timed peer run below only checks that its JSON line is read
	}
	p, err := Peer(context.Background(), Options{Model: models.Config{Height: 16, Width: 16, WidthMult: 0.25},
		Batch: 4, Steps: 1, Warmup: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p.TrainImagesPerS <= 0 || p.InferImagesPerS <= 0 || p.Batch != 4 || p.Threads != 1 || p.Input != "16x16x1" {
		t.Errorf("peer run %+v", p)
	}
}

// The testing.B benchmarks time the default model (48x48x1 FER CNN) at
// batch 64, the issue-3 setting:
//
//	GOEXPERIMENT=simd go test -run=^$ -bench=. -benchtime=10x ./fernb/bench/
func benchSetup(b *testing.B) (*train.Trainer, []float32, []int32) {
	b.Helper()
	net, err := models.New(models.Config{})
	if err != nil {
		b.Fatal(err)
	}
	tr, err := train.NewTrainer(testBackend(b), net, train.Config{BatchSize: 64, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 64*48*48)
	for i := range x {
		x[i] = r.Float32()
	}
	y := make([]int32, 64)
	for i := range y {
		y[i] = int32(i % 7)
	}
	if _, _, err := tr.Step(x, y, nil); err != nil { // compile outside the timer
		b.Fatal(err)
	}
	return tr, x, y
}

func BenchmarkTrainStep(b *testing.B) {
	tr, x, y := benchSetup(b)
	defer tr.Finalize()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := tr.Step(x, y, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkInference(b *testing.B) {
	tr, x, _ := benchSetup(b)
	defer tr.Finalize()
	m := tr.Model
	sink := func(_, _ int, _, _ []float32) error { return nil }
	if err := m.Infer(context.Background(), x, 64, 64, sink); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.Infer(context.Background(), x, 64, 64, sink); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
}

// TestSummarize checks the comparison's medians and ratios on hand-made
// rounds, including the matmul-rate ceiling: 40 GFLOP/s over a 100 MFLOP
// forward is 400 images/s of inference and 133.3 of training.
func TestSummarize(t *testing.T) {
	g := func(train, infer, dot float64) *Result {
		return &Result{Model: "fer-cnn", Input: "48x48x1", Params: 10, FLOPsPerImage: 100e6,
			TrainImagesPerS: train, InferImagesPerS: infer, TrainImagesPerCPUS: train / 2, InferImagesPerCPUS: infer / 2, DotGFLOPS: dot,
			TrainProfile: &Breakdown{GEMMShare: train / 100}, InferProfile: &Breakdown{GEMMShare: infer / 1000},
			Machine: Machine{CPU: "Test CPU", Arch: "amd64", LogicalCPUs: 2}}
	}
	p := func(train, infer float64) *PeerResult {
		return &PeerResult{Params: 10, FLOPsPerImage: 100e6, TrainImagesPerS: train, InferImagesPerS: infer,
			TrainImagesPerCPUS: train, InferImagesPerCPUS: infer}
	}
	opts := Options{Batch: 64, Threads: 2}
	c := summarize(opts, []*Result{g(50, 200, 40), g(70, 100, 40), g(60, 150, 40)},
		[]*PeerResult{p(100, 400), p(200, 300), p(300, 500)})
	checks := []struct {
		name      string
		got, want float64
	}{
		{"train ratio", c.TrainRatio, 0.3},         // 60 / 200
		{"infer ratio", c.InferRatio, 0.375},       // 150 / 400
		{"train ratio cpu", c.TrainRatioCPU, 0.15}, // 30 / 200
		{"infer ratio cpu", c.InferRatioCPU, 0.188},
		{"train ceiling", c.TrainRatioAtDot, 0.667}, // 133.3 / 200
		{"infer ceiling", c.InferRatioAtDot, 1},     // 400 / 400
		{"train GEMM share", c.TrainGEMMShare, 0.6}, // median of 0.5, 0.7, 0.6
		{"infer GEMM share", c.InferGEMMShare, 0.15},
	}
	for _, k := range checks {
		if k.got != k.want {
			t.Errorf("%s = %v, want %v", k.name, k.got, k.want)
		}
	}
	if c.Rounds != 3 || !c.SameParams || !c.SameFLOPs || c.Model != "fer-cnn" || c.Machine.CPU != "Test CPU" {
		t.Errorf("comparison %+v", c)
	}
	var text strings.Builder
	if err := c.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"machine: Test CPU", "training           60.0          200.0       0.300     2.0",
		"GEMM share of Go's CPU samples: training 60%, inference 15%"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}

	// Without a measured matmul there is no ceiling, and a count mismatch shows.
	q := p(100, 100)
	q.Params = 11
	c = summarize(opts, []*Result{g(50, 50, 0)}, []*PeerResult{q})
	if c.TrainRatioAtDot != 0 || c.InferRatioAtDot != 0 || c.SameParams || !c.SameFLOPs {
		t.Errorf("no-dot comparison %+v", c)
	}
}
