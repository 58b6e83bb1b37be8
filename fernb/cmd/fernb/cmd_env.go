package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/fernb/fernb/fernb"
)

// runEnv prints what decides speed and results: the backend in use, its
// description, GOMAXPROCS, the Go version with GOEXPERIMENT=simd, and the
// versions of the modules that compute. With -json it prints the same as the
// JSON object results files record.
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the environment as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fernb env [-json]\n\nPrints the compute backend (GOMLX_BACKEND; pure Go when unset), GOMAXPROCS and module versions.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("env: unexpected arguments %q", fs.Args())
	}
	info := fernb.ReadEnv()
	if !info.SIMD {
		fmt.Fprintln(stderr, "warning:", fernb.SIMDWarning)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(info); err != nil {
			return fmt.Errorf("env: writing JSON: %w", err)
		}
		return nil
	}
	fmt.Fprint(stdout, info.String())
	return nil
}

// runVersion prints fernb's version.
func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "fernb", fernb.Version)
	return nil
}
