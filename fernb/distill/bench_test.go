package distill

import (
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/fernb/fernb/fernb"
)

// benchOuter times one outer iteration (θ0 draw, step graph, host Adam) of
// cfg at 48x48x1 with 7 classes and the default model (fer-cnn), after one
// untimed iteration that compiles the graphs, on the backend GOMLX_BACKEND
// selects (default: pure Go). Run with
//
//	GOEXPERIMENT=simd go test ./fernb/distill/ -run '^$' -bench Outer -benchtime 3x
func benchOuter(b *testing.B, cfg Config) {
	for l := range fernb.NumBasic {
		cfg.Classes = append(cfg.Classes, fernb.Label(l))
	}
	cfg = cfg.WithDefaults(48, 48, 1)
	real := bands(7*cfg.RealPerClass*2, 48, fernb.NumBasic, 1)
	backend, err := fernb.NewBackend() // GOMLX_BACKEND picks go, go:ops_sequential or xla
	if err != nil {
		b.Fatal(err)
	}
	eng, err := newEngine(backend, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer eng.finalize()
	byClass, _ := classIndex(real, cfg.Classes)
	mean, std := real.ChannelStats()
	st := initialState(cfg, real, byClass, mean, std)
	iter := func(i int) {
		x, y := sampleReal(real, byClass, cfg.RealPerClass, rand.New(rand.NewPCG(1, uint64(i))))
		theta, err := eng.drawParams(int64(i))
		if err != nil {
			b.Fatal(err)
		}
		r, err := eng.runStep(st.Syn, st.RawLR, x, y, eng.augmentation(i+1, 48, 48, 1, mean, std), theta)
		finalizeAll(theta)
		if err != nil {
			b.Fatal(err)
		}
		st.AdamSyn.step32(st.Syn, r.dSyn, cfg.ImageLR)
		if cfg.Method == DD {
			st.AdamLR.step64(st.RawLR, r.dRawLR, cfg.LRLR)
		}
	}
	iter(-1)
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := range b.N {
		iter(i)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/iter")
	// Process CPU time per iteration: on a shared machine the wall time
	// depends on the load, the CPU time much less (2 cores: a quiet
	// machine's wall time is about CPU time / 2 at best).
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/iter")
}

// BenchmarkDDOuterIteration: DD with the default configuration (T = 10
// steps x 1 epoch, 8 real images per class).
func BenchmarkDDOuterIteration(b *testing.B) {
	benchOuter(b, Config{Method: DD})
}

// BenchmarkDDOuterIterationT30 is DD with Wang et al.'s T = 10 steps x 3
// epochs.
func BenchmarkDDOuterIterationT30(b *testing.B) {
	benchOuter(b, Config{Method: DD, Epochs: 3})
}

// BenchmarkDMOuterIteration: DM with the default configuration (32 real
// images per class).
func BenchmarkDMOuterIteration(b *testing.B) {
	benchOuter(b, Config{Method: DM})
}

// BenchmarkDMOuterIterationDSA: DM with differentiable Siamese
// augmentation (host-side draws and index maps, one Gather per batch).
func BenchmarkDMOuterIterationDSA(b *testing.B) {
	benchOuter(b, Config{Method: DM, DSA: true})
}

// cpuSeconds is the user + system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
