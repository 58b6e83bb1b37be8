package fernb

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// SIMDWarning is printed (by `fernb env`, the benchmarks and the notebooks)
// when the running binary was built without GOEXPERIMENT=simd: the pure-Go
// backend's matrix multiply then runs scalar, many times slower.
const SIMDWarning = "this binary was built without GOEXPERIMENT=simd: the pure-Go backend's matrix multiply runs ~10x slower; rebuild with GOEXPERIMENT=simd"

// Env describes the running process: what `fernb env` prints and what every
// results file records.
type Env struct {
	Backend            string            `json:"backend"`
	BackendDescription string            `json:"backend_description"`
	GOMAXPROCS         int               `json:"gomaxprocs"`
	NumCPU             int               `json:"num_cpu"`
	GoVersion          string            `json:"go_version"`
	SIMD               bool              `json:"simd"`
	Modules            map[string]string `json:"modules"`
	BackendError       string            `json:"backend_error,omitempty"`
}

// trackedModules are the dependencies whose versions decide results.
var trackedModules = []string{"github.com/gomlx/gomlx", "github.com/gomlx/compute", "github.com/gomlx/go-xla", "gonum.org/v1/plot", "github.com/janpfeifer/gonb"}

// ReadEnv inspects the build and opens the selected backend to describe it.
func ReadEnv() Env {
	e := Env{GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), SIMD: BuiltWithSIMD(), Modules: map[string]string{}}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			for _, m := range trackedModules {
				if d.Path == m {
					e.Modules[m] = d.Version
				}
			}
		}
	}
	cfg := os.Getenv(BackendEnv)
	if cfg == "" {
		cfg = DefaultBackendConfig
	}
	e.Backend = cfg
	b, err := NewBackend()
	if err != nil {
		e.BackendError = err.Error()
	} else {
		e.BackendDescription = b.Description()
		b.Finalize()
	}
	return e
}

// BuiltWithSIMD reports whether the binary was built with GOEXPERIMENT=simd.
func BuiltWithSIMD() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOEXPERIMENT" && strings.Contains(s.Value, "simd") {
				return true
			}
		}
	}
	return false
}

// String formats e as aligned "key: value" lines.
func (e Env) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fernb:        %s\n", Version)
	fmt.Fprintf(&b, "backend:      %s\n", e.Backend)
	if e.BackendError != "" {
		fmt.Fprintf(&b, "backend error: %s\n", e.BackendError)
	} else {
		fmt.Fprintf(&b, "description:  %s\n", e.BackendDescription)
	}
	fmt.Fprintf(&b, "GOMAXPROCS:   %d (of %d CPUs)\n", e.GOMAXPROCS, e.NumCPU)
	fmt.Fprintf(&b, "go:           %s (GOEXPERIMENT=simd: %v)\n", e.GoVersion, e.SIMD)
	for _, m := range trackedModules {
		if v, ok := e.Modules[m]; ok {
			fmt.Fprintf(&b, "module:       %s %s\n", m, v)
		}
	}
	return b.String()
}
