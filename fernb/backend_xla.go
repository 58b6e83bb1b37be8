//go:build !noxla

package fernb

import (
	"os"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/compute/xla"
)

// XLA is compiled in by default but never downloads its plugin on its own:
// fernb must run offline. FERNB_XLA_AUTOINSTALL=1 restores go-xla's
// auto-install.
func init() {
	if os.Getenv("FERNB_XLA_AUTOINSTALL") != "1" {
		xla.EnableAutoInstall(false)
	}
	xlaNew = func(config string) (compute.Backend, error) { return xla.New(config) }
}
