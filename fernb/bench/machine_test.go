package bench

import (
	"reflect"
	"testing"
)

func TestParseCPUInfo(t *testing.T) {
	x86 := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B14\ncpu MHz\t\t: 2600.000\n" +
		"flags\t\t: fpu sse sse2 ssse3 fma sse4_2 avx f16c avx2 avx512f avx512bw avx512_bf16 amx_tile bmi2\n\n" +
		"processor\t: 1\nmodel name\t: AMD EPYC 9B14\ncpu MHz\t\t: 2400.000\nflags\t\t: fpu avx avx512vl\n"
	ci := parseCPUInfo(x86)
	if ci.model != "AMD EPYC 9B14" || !reflect.DeepEqual(ci.mhz, []float64{2600, 2400}) {
		t.Errorf("model %q, MHz %v", ci.model, ci.mhz)
	}
	if got, want := ci.isa(), []string{"amx_tile", "avx", "avx2", "avx512_bf16", "avx512bw", "avx512f", "avx512vl", "fma"}; !reflect.DeepEqual(got, want) {
		t.Errorf("x86 ISA %v, want %v", got, want)
	}
	// arm64 names its flags Features and has no model name.
	arm := "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes asimdhp sve sve2 bf16\nCPU part\t: 0xd4f\n"
	ci = parseCPUInfo(arm)
	if got, want := ci.isa(), []string{"asimd", "asimdhp", "sve", "sve2"}; ci.model != "" || !reflect.DeepEqual(got, want) {
		t.Errorf("arm64: model %q ISA %v, want none and %v", ci.model, got, want)
	}
}

func TestMachineString(t *testing.T) {
	m := Machine{CPU: "AMD EPYC", ISA: []string{"avx2", "fma"}, Arch: "amd64", LogicalCPUs: 2}
	if s := m.String(); s != "AMD EPYC (amd64, 2 logical CPUs), ISA: avx2 fma" {
		t.Errorf("String() = %q", s)
	}
	if d := DescribeMachine(); d.CPU == "" || d.Arch == "" || d.LogicalCPUs < 1 {
		t.Errorf("DescribeMachine() = %+v", d)
	}
}
