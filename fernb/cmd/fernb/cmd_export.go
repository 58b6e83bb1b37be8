package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fernb/fernb/fernb/internal/atomicfile"

	"github.com/fernb/fernb/fernb/experiment"
	"github.com/fernb/fernb/fernb/nbrun"
)

func init() {
	extraCommands = append(extraCommands, command{"export",
		"execute notebooks headless and export them to HTML (and PDF with LaTeX), with the results JSON and SVG figures", runExport})
}

const exportUsage = `usage:
  fernb export [--out DIR] [--format html,pdf] [--quick] [--no-execute] [--no-input] [--results DIR] NOTEBOOK.ipynb ...
      executes each notebook with the repository's GoNB kernel (unless --no-execute:
      then the notebooks must already be executed copies), exports it to each format
      (PDF needs xelatex; it is skipped with a note when LaTeX is missing), and copies
      the results (results.json, results.md, report.md) and the figures (SVG, PDF and PNG)
      of --results next to the exports. With no notebook it exports every notebook
      in notebooks/. --no-input leaves the code out, so a table notebook reads as
      a results section (headings, text, tables, figures).`

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, exportUsage); fs.PrintDefaults() }
	out := fs.String("out", "out/export", "output directory (executed copies, exports, results, figures)")
	formats := fs.String("format", "html,pdf", "comma-separated formats: html, pdf")
	quick := fs.Bool("quick", false, "execute in quick mode (FERNB_QUICK=1: tiny data, few epochs)")
	noExec := fs.Bool("no-execute", false, "export the notebooks as given (already executed) instead of executing them")
	noInput := fs.Bool("no-input", false, "leave the code out of the exports (nbconvert --no-input): text, tables and figures only")
	results := fs.String("results", "", "results directory whose JSON and figures go next to the exports (default: results/quick with --quick, else results)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var fmts []nbrun.Format
	for _, f := range strings.Split(*formats, ",") {
		switch nbrun.Format(strings.TrimSpace(f)) {
		case nbrun.HTML:
			fmts = append(fmts, nbrun.HTML)
		case nbrun.PDF:
			fmts = append(fmts, nbrun.PDF)
		default:
			return fmt.Errorf("export: unknown format %q (want html or pdf)", f)
		}
	}
	root, err := nbrun.FindRoot(".")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	paths := fs.Args()
	if len(paths) == 0 {
		if paths, err = nbrun.List(filepath.Join(root, "notebooks")); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	absOut, err := filepath.Abs(*out)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	r, err := nbrun.NewRunner(ctx, nbrun.Options{Root: root, OutDir: absOut, Quick: *quick, NoInput: *noInput, Log: io.Discard})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer r.Close()
	var failed []string
	for _, p := range paths {
		src := p
		if !*noExec {
			fmt.Fprintf(stderr, "export: executing %s ...\n", p)
			res, err := r.Execute(ctx, p)
			var cellErr *nbrun.CellError
			switch {
			case errors.As(err, &cellErr):
				// The executed copy shows the failure; export it anyway.
				fmt.Fprintf(stderr, "export: %s: %v\n", p, err)
				failed = append(failed, p)
				src = cellErr.Output
			case err != nil:
				return fmt.Errorf("export: %w", err)
			default:
				fmt.Fprintf(stderr, "export: executed %s in %s\n", p, res.Duration.Round(1e9))
				src = res.Output
			}
		}
		for _, f := range fmts {
			dst, err := r.Export(ctx, src, f)
			if errors.Is(err, nbrun.ErrNoLaTeX) {
				fmt.Fprintf(stderr, "export: %s: PDF skipped: %v\n", p, err)
				continue
			}
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			fmt.Fprintln(stdout, dst)
		}
	}
	resDir := *results
	if resDir == "" {
		resDir = experiment.QuickCacheDir(map[bool]string{true: "quick", false: ""}[*quick])
	}
	n, err := copyResults(resDir, absOut)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stdout, "%d results files and figures copied from %s to %s\n", n, resDir, absOut)
	if len(failed) > 0 {
		return fmt.Errorf("export: %d notebook(s) had failing cells (exported with the errors shown): %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// copyResults copies the results files of dir and of its sub-directories
// (tables) and their figures (SVG, PDF, PNG) into out/results, keeping the
// relative paths; caches stay behind.
func copyResults(dir, out string) (int, error) {
	if _, err := os.Stat(dir); err != nil {
		return 0, nil
	}
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == "cache" || strings.HasPrefix(rel, "cache"+string(filepath.Separator)) {
				return filepath.SkipDir
			}
			return nil
		}
		base := d.Name()
		inFigures := filepath.Base(filepath.Dir(p)) == "figures"
		keep := base == "results.json" || base == "results.md" || base == "report.md" ||
			inFigures && (strings.HasSuffix(base, ".svg") || strings.HasSuffix(base, ".pdf") || strings.HasSuffix(base, ".png"))
		if !keep {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(out, "results", rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		n++
		return atomicfile.WriteFile(dst, b, atomicfile.Mode)
	})
	return n, err
}
