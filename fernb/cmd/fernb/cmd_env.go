package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/fernb/fernb/fernb"
)

func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	info := fernb.ReadEnv()
	if !info.SIMD {
		fmt.Fprintln(stderr, "warning:", fernb.SIMDWarning)
	}
	fmt.Fprint(stdout, info.String())
	return nil
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintln(stdout, "fernb", fernb.Version)
	return nil
}
