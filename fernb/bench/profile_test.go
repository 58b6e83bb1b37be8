package bench

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// synthetic builds a CPU profile whose samples have the given stacks
// (innermost first; a frame "a|b" is one location where a was inlined
// into b) and CPU nanoseconds.
func synthetic(stacks [][]string, nanos []int64) *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Period:     10_000_000,
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
	}
	funcs := map[string]*profile.Function{}
	fn := func(name string) *profile.Function {
		if f, ok := funcs[name]; ok {
			return f
		}
		f := &profile.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name}
		funcs[name] = f
		p.Function = append(p.Function, f)
		return f
	}
	for i, st := range stacks {
		s := &profile.Sample{Value: []int64{nanos[i] / p.Period, nanos[i]}}
		for _, frame := range st {
			loc := &profile.Location{ID: uint64(len(p.Location) + 1)}
			for _, name := range strings.Split(frame, "|") {
				loc.Line = append(loc.Line, profile.Line{Function: fn(name)})
			}
			p.Location = append(p.Location, loc)
			s.Location = append(s.Location, loc)
		}
		p.Sample = append(p.Sample, s)
	}
	return p
}

const (
	gb  = "github.com/gomlx/compute/internal/gobackend"
	ops = gb + "/ops"
)

func TestClassify(t *testing.T) {
	exec := gb + ".(*FunctionExecutable).executeNode"
	stacks := [][]string{
		// GEMM: the kernel itself, its packing's memmove, an inlined
		// SIMD store inside the kernel, the fused dense layer.
		{gb + "/dot/matmul/avx512.avx512LargeKernelFloat32Asm", gb + "/dot/matmul/avx512.avx512LargeMatrixSliceFloat32", exec},
		{"runtime.memmove", gb + "/dot/matmul.unsafePackLHS[go.shape.float32]", exec},
		{"simd/archsimd.Float32x16.Store|" + gb + "/dot/matmul/avx512.avx512SmallFloat32NonTransposedAsm", exec},
		{gb + "/fusedops/dense.execFusedDense[go.shape.float32]", exec},
		// Ops: named by their executor, whatever runs under it.
		{"runtime.memmove", gb + ".CopyFlat", ops + ".reshapeToShape", ops + ".execReshape", exec},
		{ops + ".execSliceGeneric[go.shape.float32]", exec},
		{ops + ".simdMulVVFloat32@simd512", ops + ".execMulSIMD", exec},
		{"math.cos", ops + ".execCosGeneric[go.shape.float32]", exec},
		// Outside any op: the innermost non-standard-library frame.
		{"runtime.memclrNoHeapPointers", ops + ".transpose2D[go.shape.float32].func1.1", gb + "/workerspool.(*Pool).run"},
		{"github.com/fernb/fernb/fernb/train.(*Trainer).Step.func1", "github.com/fernb/fernb/fernb/train.(*Trainer).Step"},
		// Only the runtime.
		{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker"},
	}
	ms := int64(1_000_000)
	nanos := []int64{300 * ms, 50 * ms, 40 * ms, 10 * ms, 200 * ms, 150 * ms, 90 * ms, 20 * ms, 60 * ms, 50 * ms, 30 * ms}
	b := Classify(synthetic(stacks, nanos))
	// total 1000 ms: GEMM 300+50+40+10.
	if b.GEMMShare != 0.4 || b.CPUSeconds != 1 || b.Samples != 100 {
		t.Errorf("GEMM share %v of %v CPU-s in %d samples, want 0.4 of 1 in 100", b.GEMMShare, b.CPUSeconds, b.Samples)
	}
	want := []Category{{"Reshape", 0.2}, {"Slice", 0.15}, {"Mul", 0.09}, {"ops.transpose2D", 0.06},
		{"train.(*Trainer).Step", 0.05}, {"Go runtime", 0.03}}
	if !reflect.DeepEqual(b.Top, want) {
		t.Errorf("top categories\n got %v\nwant %v", b.Top, want)
	}
	if s := b.String(); !strings.HasPrefix(s, "GEMM 40%, Reshape 20%, Slice 15%") || !strings.HasSuffix(s, "(100 samples)") {
		t.Errorf("String() = %q", s)
	}

	// A profile without CPU time has no shares (and no division by zero).
	if b := Classify(synthetic(nil, nil)); b.GEMMShare != 0 || len(b.Top) != 0 || !strings.HasPrefix(b.String(), "no samples") {
		t.Errorf("empty profile: %+v, %q", b, b)
	}
}

func TestPackageOf(t *testing.T) {
	for fn, want := range map[string]string{
		"runtime.memmove":                             "runtime",
		"simd/archsimd.Float32x16.Store":              "simd/archsimd",
		ops + ".execSliceGeneric[go.shape.float32]":   ops,
		ops + ".f[github.com/gomlx/compute/dtypes.T]": ops, // type arguments name other packages
		"github.com/a/b.(*T).M.func1":                 "github.com/a/b",
	} {
		if got := packageOf(fn); got != want {
			t.Errorf("packageOf(%q) = %q, want %q", fn, got, want)
		}
	}
}

// TestProfileCPU profiles a busy loop: the profile parses, and a second
// profiler cannot start inside the first (the error is returned apart from
// the phase's own).
func TestProfileCPU(t *testing.T) {
	var inner error
	raw, p, profErr, err := profileCPU(func() error {
		_, _, inner, _ = profileCPU(func() error { return nil })
		x := 0.0
		for i := range 20_000_000 {
			x += float64(i % 7)
		}
		if x == 0 {
			t.Log(x)
		}
		return nil
	})
	if profErr != nil || err != nil {
		t.Fatal(profErr, err)
	}
	if inner == nil {
		t.Error("a nested profile started")
	}
	if p2, err := profile.Parse(bytes.NewReader(raw)); err != nil || len(p2.Sample) != len(p.Sample) {
		t.Errorf("raw profile: %v", err)
	}
	if !slices.ContainsFunc(p.SampleType, func(v *profile.ValueType) bool { return v.Type == "cpu" }) {
		t.Errorf("sample types %v", p.SampleType)
	}
}
