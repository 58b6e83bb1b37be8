package fernb

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
)

// BackendEnv is the environment variable that selects the compute backend,
// shared with GoMLX: "go" (default), "go:ops_sequential", "xla:cpu",
// "xla:cuda".
const BackendEnv = compute.ConfigEnvVar

// DefaultBackendConfig is what NewBackend uses when GOMLX_BACKEND is unset:
// the pure-Go backend, which needs nothing installed and never touches the
// network.
const DefaultBackendConfig = gobackend.BackendName

// ErrXLAUnavailable is wrapped by NewBackend's error when XLA was asked for
// but cannot be used (built with -tags noxla, or its PJRT plugin is missing).
var ErrXLAUnavailable = errors.New("XLA backend unavailable")

// xlaInstallHelp tells a user how to get the XLA PJRT plugin; it is part of
// every ErrXLAUnavailable error.
const xlaInstallHelp = `to install it, on a machine with network access run once
    FERNB_XLA_AUTOINSTALL=1 GOMLX_BACKEND=xla:cuda fernb env     (or xla:cpu)
which lets go-xla's installer (github.com/gomlx/go-xla/installer) download the plugin,
or point PJRT_PLUGIN_LIBRARY_PATH at a folder holding pjrt_c_api_<name>_plugin.so;
docker/Dockerfile.cuda does this at image build time. Unset GOMLX_BACKEND to use the pure-Go backend`

// xlaNew is set by backend_xla.go when XLA is compiled in.
var xlaNew func(config string) (compute.Backend, error)

// NewBackend returns the compute backend selected by GOMLX_BACKEND, or the
// pure-Go backend when it is unset. It never downloads anything unless XLA was
// asked for and FERNB_XLA_AUTOINSTALL=1.
func NewBackend() (compute.Backend, error) {
	return NewBackendWithConfig(os.Getenv(BackendEnv))
}

// NewBackendWithConfig is NewBackend with an explicit configuration
// ("go", "xla:cuda", ...); an empty one means the pure-Go backend.
func NewBackendWithConfig(config string) (compute.Backend, error) {
	config = strings.TrimSpace(config)
	if config == "" {
		config = DefaultBackendConfig
	}
	name, opts, _ := strings.Cut(config, ":")
	switch name {
	case gobackend.BackendName:
		b, err := gobackend.New(opts)
		if err != nil {
			return nil, fmt.Errorf("fernb: pure-Go backend %q: %w", config, err)
		}
		return b, nil
	case "xla", "stablehlo", "cpu", "cuda":
		if xlaNew == nil {
			return nil, fmt.Errorf("fernb: %s=%q asks for XLA, but this binary was built with -tags noxla: %w; rebuild without that tag, then %s",
				BackendEnv, config, ErrXLAUnavailable, xlaInstallHelp)
		}
		if name == "cpu" || name == "cuda" { // shorthand: GOMLX_BACKEND=cuda
			opts, name = name, "xla"
		}
		b, err := xlaNew(opts)
		if err != nil {
			return nil, fmt.Errorf("fernb: %s=%q: %w: %v\n%s", BackendEnv, config, ErrXLAUnavailable, err, xlaInstallHelp)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("fernb: unknown backend %q in %s (want \"go\", \"go:ops_sequential\", \"xla:cpu\" or \"xla:cuda\")", config, BackendEnv)
	}
}

// MustBackend is NewBackend for notebooks and examples: it panics on error.
func MustBackend() compute.Backend {
	b, err := NewBackend()
	if err != nil {
		panic(err)
	}
	return b
}

// IsGoBackend reports whether b is the pure-Go backend, for which the nn
// package switches to its im2col formulations.
func IsGoBackend(b compute.Backend) bool {
	return b != nil && b.Name() == goBackendName()
}

// goBackendName is what the pure-Go backend's Name() returns ("Go Backend"),
// which differs from its configuration name "go". It is read off GoMLX's
// shared singleton once, on first use.
var goBackendName = sync.OnceValue(func() string { return gobackend.GetBackend().Name() })
