//go:build !unix

package fernb

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("would block")

// flock does nothing where flock(2) is missing: LockDir then never refuses.
func flock(*os.File) error { return nil }

func funlock(*os.File) error { return nil }
