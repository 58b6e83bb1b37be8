package fernb

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestNewBackendDefaultIsGo(t *testing.T) {
	t.Setenv(BackendEnv, "")
	os.Unsetenv(BackendEnv)
	b, err := NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if !IsGoBackend(b) {
		t.Fatalf("default backend is %q, want the pure-Go backend", b.Name())
	}
}

func TestNewBackendSequentialGo(t *testing.T) {
	b, err := NewBackendWithConfig("go:ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if !IsGoBackend(b) {
		t.Fatalf("got %q", b.Name())
	}
}

// The XLA path, offline and without a plugin, must end in a clear error that
// says how to install the plugin, and must not try to download it.
func TestNewBackendXLAMissingPluginIsClear(t *testing.T) {
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	t.Setenv("FERNB_XLA_AUTOINSTALL", "")
	t.Setenv(BackendEnv, "xla:cuda")
	b, err := NewBackend()
	if err == nil {
		b.Finalize()
		t.Skip("an XLA CUDA plugin is installed on this machine; nothing to check")
	}
	if !errors.Is(err, ErrXLAUnavailable) {
		t.Fatalf("error does not wrap ErrXLAUnavailable: %v", err)
	}
	for _, want := range []string{"xla:cuda", "FERNB_XLA_AUTOINSTALL=1", "PJRT_PLUGIN_LIBRARY_PATH"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestNewBackendUnknown(t *testing.T) {
	if _, err := NewBackendWithConfig("tpu"); err == nil || !strings.Contains(err.Error(), "unknown backend") {
		t.Fatalf("got %v, want an unknown-backend error", err)
	}
}
