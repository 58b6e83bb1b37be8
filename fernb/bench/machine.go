package bench

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Machine names the processor a speed figure was measured on, so that
// every images/s number travels with it: the same code runs several times
// faster where the backend finds AVX-512 than where it falls back to AVX2
// or scalar loops.
type Machine struct {
	CPU         string   `json:"cpu"`  // /proc/cpuinfo "model name"; GOARCH elsewhere
	ISA         []string `json:"isa"`  // the SIMD flags the backend's kernels choose between
	Arch        string   `json:"arch"` // runtime.GOARCH
	LogicalCPUs int      `json:"logical_cpus"`
}

// String is the one-line form the text output prints.
func (m Machine) String() string {
	s := m.CPU + " (" + m.Arch + ", " + strconv.Itoa(m.LogicalCPUs) + " logical CPUs)"
	if len(m.ISA) > 0 {
		s += ", ISA: " + strings.Join(m.ISA, " ")
	}
	return s
}

// DescribeMachine reads the processor's model and SIMD flags from
// /proc/cpuinfo (Linux); elsewhere the CPU is only named by its
// architecture.
func DescribeMachine() Machine {
	m := Machine{CPU: runtime.GOARCH, Arch: runtime.GOARCH, LogicalCPUs: runtime.NumCPU()}
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return m
	}
	ci := parseCPUInfo(string(data))
	if ci.model != "" {
		m.CPU = ci.model
	}
	m.ISA = ci.isa()
	return m
}

// cpuInfo is what fernb uses of /proc/cpuinfo: the first processor's model,
// every processor's clock, and the union of their flags.
type cpuInfo struct {
	model string
	mhz   []float64
	flags map[string]bool
}

func parseCPUInfo(info string) cpuInfo {
	ci := cpuInfo{flags: map[string]bool{}}
	sc := bufio.NewScanner(strings.NewReader(info))
	sc.Buffer(nil, 1<<20) // a flags line can be several kB
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "cpu MHz":
			if v, err := strconv.ParseFloat(val, 64); err == nil {
				ci.mhz = append(ci.mhz, v)
			}
		case "flags", "Features": // x86, arm64
			for _, f := range strings.Fields(val) {
				ci.flags[f] = true
			}
		case "model name":
			if ci.model == "" {
				ci.model = val
			}
		}
	}
	return ci
}

// isa keeps the flags that decide which matmul and elementwise kernels run:
// x86's AVX family, FMA and AMX, arm64's ASIMD, SVE and SME; sorted.
func (ci cpuInfo) isa() []string {
	var out []string
	for f := range ci.flags {
		for _, p := range []string{"avx", "fma", "amx", "asimd", "sve", "sme"} {
			if strings.HasPrefix(f, p) {
				out = append(out, f)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}
