// Package nbrun runs the repository's GoNB notebooks headless and
// exports them to HTML or PDF, through `jupyter nbconvert` and the repo's
// kernel (kernels/gonb-fernb).
//
// It exists so that the notebooks are tested like code: the test of this
// package runs every notebooks/*.ipynb in quick mode (FERNB_QUICK=1) and
// fails on any cell error, and a `fernb export` command can turn a notebook
// into a report with the same machinery.
//
// A Runner writes its own copy of the kernelspec into a temporary Jupyter
// data directory and points JUPYTER_PATH there, so it needs neither
// kernels/install.sh nor a user-wide kernel; it needs `jupyter nbconvert`,
// and the Go tools installed by `go install tool` (gonb, goimports).
// Its counterpart inside a notebook is package nb, which shows figures and
// tables in GoNB; nbrun is the outside: it starts Jupyter and checks results.
package nbrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ModulePath is the module whose root holds kernels/ and notebooks/.
const ModulePath = "github.com/fernb/fernb"

// KernelName is the kernelspec name the notebooks declare in their metadata.
const KernelName = "gonb-fernb"

// QuickEnv is the environment variable notebooks read to select quick mode
// (small data, few epochs), as the tests and CI run them.
const QuickEnv = "FERNB_QUICK"

// Default timeouts. A cell's first run compiles the library and GoMLX into
// GoNB's program, which takes minutes on a cold build cache and 2 cores.
const (
	DefaultCellTimeout    = 15 * time.Minute
	DefaultStartupTimeout = 2 * time.Minute
)

// FindRoot walks up from dir to the root of the fernb module: the directory
// whose go.mod declares ModulePath.
func FindRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("notebook: finding repository root from %q: %w", dir, err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && modulePath(data) == ModulePath {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("notebook: no go.mod for module %s in %s or any parent", ModulePath, abs)
		}
	}
}

func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// List returns the notebooks in dir (*.ipynb, sorted by name).
func List(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.ipynb"))
	if err != nil {
		return nil, fmt.Errorf("notebook: listing %s: %w", dir, err)
	}
	return paths, nil // Glob sorts.
}

// Tools are the programs a Runner calls.
type Tools struct {
	Jupyter   string // jupyter, with nbconvert working
	GoNB      string // gonb, from `go install tool`
	GoImports string // goimports, which GoNB runs on every cell
	Go        string // the go command
}

// MissingError lists the programs that are not installed and how to get them.
type MissingError struct {
	Missing []string // e.g. "jupyter nbconvert", "gonb"
	Help    string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("notebook: %s not installed; %s", strings.Join(e.Missing, ", "), e.Help)
}

// LookupTools finds jupyter (with a working nbconvert), go, gonb and
// goimports. gonb and goimports are looked for on PATH and then where `go
// install` puts them ($GOBIN or $GOPATH/bin), as kernels/gonb-fernb/launch.sh
// does. When any is missing it returns the ones found and a *MissingError.
func LookupTools(ctx context.Context) (Tools, error) {
	var t Tools
	var missing []string
	if p, err := exec.LookPath("jupyter"); err == nil {
		if out, err := exec.CommandContext(ctx, p, "nbconvert", "--version").CombinedOutput(); err == nil {
			t.Jupyter = p
		} else {
			missing = append(missing, fmt.Sprintf("jupyter nbconvert (%s nbconvert --version: %v: %s)", p, err, strings.TrimSpace(lastLines(string(out), 2))))
		}
	} else {
		missing = append(missing, "jupyter nbconvert")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		missing = append(missing, "go")
	} else {
		t.Go = goCmd
	}
	binDirs := []string{}
	if t.Go != "" {
		if out, err := exec.CommandContext(ctx, t.Go, "env", "GOBIN", "GOPATH").Output(); err == nil {
			// One line per variable; GOBIN's is empty when unset.
			lines := strings.Split(strings.TrimRight(string(out), "\r\n"), "\n")
			if len(lines) >= 1 && strings.TrimSpace(lines[0]) != "" {
				binDirs = append(binDirs, strings.TrimSpace(lines[0]))
			}
			if len(lines) >= 2 && strings.TrimSpace(lines[1]) != "" {
				binDirs = append(binDirs, filepath.Join(filepath.SplitList(strings.TrimSpace(lines[1]))[0], "bin"))
			}
		}
	}
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, d := range binDirs {
			p := filepath.Join(d, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p
			}
		}
		return ""
	}
	if t.GoNB = find("gonb"); t.GoNB == "" {
		missing = append(missing, "gonb")
	}
	if t.GoImports = find("goimports"); t.GoImports == "" {
		missing = append(missing, "goimports")
	}
	if len(missing) > 0 {
		return t, &MissingError{Missing: missing,
			Help: "run kernels/install.sh (Debian: apt-get install jupyter-nbconvert jupyter-client; elsewhere: pip install -r requirements-dev.txt; Go tools: go install tool)"}
	}
	return t, nil
}

// WriteKernelSpec writes the gonb-fernb kernelspec into
// <dataDir>/kernels/gonb-fernb/kernel.json, from the template
// kernels/gonb-fernb/kernel.json of the repository at root, with the
// absolute path of its launch.sh (which passes --go_work=<root> to GoNB and
// sets GOEXPERIMENT=simd). extraArgs are appended to GoNB's flags (the
// Runner adds --raw_error, so errors are text in executed notebooks).
// goBin, when not empty, is recorded as FERNB_GO_BIN: the directory of the go
// command for Jupyter servers whose PATH lacks it. It returns the path of the
// file written.
func WriteKernelSpec(root, dataDir, goBin string, extraArgs ...string) (string, error) {
	tmplPath := filepath.Join(root, "kernels", KernelName, "kernel.json")
	data, err := os.ReadFile(tmplPath)
	if err != nil {
		return "", fmt.Errorf("notebook: reading kernelspec template: %w", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return "", fmt.Errorf("notebook: parsing kernelspec template %s: %w", tmplPath, err)
	}
	launcher, err := filepath.Abs(filepath.Join(root, "kernels", KernelName, "launch.sh"))
	if err != nil {
		return "", fmt.Errorf("notebook: kernel launcher path: %w", err)
	}
	if _, err := os.Stat(launcher); err != nil {
		return "", fmt.Errorf("notebook: kernel launcher: %w", err)
	}
	argv := []any{launcher, "{connection_file}"}
	for _, a := range extraArgs {
		argv = append(argv, a)
	}
	spec["argv"] = argv
	env, _ := spec["env"].(map[string]any)
	if env == nil {
		env = map[string]any{}
	}
	env["GOEXPERIMENT"] = "simd"
	if goBin != "" {
		env["FERNB_GO_BIN"] = goBin
	}
	spec["env"] = env
	delete(spec, "metadata")
	out, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("notebook: encoding kernelspec: %w", err)
	}
	dir := filepath.Join(dataDir, "kernels", KernelName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("notebook: creating kernelspec directory: %w", err)
	}
	path := filepath.Join(dir, "kernel.json")
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("notebook: writing kernelspec: %w", err)
	}
	return path, nil
}

// Options configure a Runner. The zero value of each field picks a default.
type Options struct {
	// Root is the repository root (default: FindRoot of the working directory).
	Root string
	// OutDir receives executed copies and exports (default: a temporary
	// directory removed by Close; the repo ignores notebooks/.executed/ for
	// callers that want to keep them).
	OutDir string
	// CellTimeout bounds each cell's run (default DefaultCellTimeout).
	CellTimeout time.Duration
	// StartupTimeout bounds the kernel's start (default DefaultStartupTimeout).
	StartupTimeout time.Duration
	// Quick sets FERNB_QUICK=1 for the kernel: small data, few epochs.
	Quick bool
	// NoInput leaves the code cells' source out of exports (nbconvert's
	// --no-input), so an exported table notebook reads as a results
	// section: headings, text, tables and figures.
	NoInput bool
	// Env is added to the environment of jupyter and the kernel ("K=V").
	Env []string
	// Log receives jupyter's and GoNB's log output (default: discarded; the
	// last lines are kept in errors anyway).
	Log io.Writer
}

// Runner executes and exports notebooks with the repo's kernel. Its methods
// may be called from several goroutines, but notebooks run one at a time:
// each kernel compiles and trains on all cores.
type Runner struct {
	mu      sync.Mutex // held while nbconvert runs
	opt     Options
	tools   Tools
	tmp     string // kernelspec, runtime files, default OutDir
	jupyter string // JUPYTER_PATH entry holding kernels/gonb-fernb
}

// NewRunner finds the tools and writes the kernelspec. Close removes its
// temporary files.
func NewRunner(ctx context.Context, opt Options) (*Runner, error) {
	if opt.Root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("notebook: %w", err)
		}
		if opt.Root, err = FindRoot(wd); err != nil {
			return nil, err
		}
	}
	if opt.CellTimeout <= 0 {
		opt.CellTimeout = DefaultCellTimeout
	}
	if opt.StartupTimeout <= 0 {
		opt.StartupTimeout = DefaultStartupTimeout
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	tools, err := LookupTools(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "fernb-notebook-")
	if err != nil {
		return nil, fmt.Errorf("notebook: %w", err)
	}
	r := &Runner{opt: opt, tools: tools, tmp: tmp, jupyter: filepath.Join(tmp, "jupyter")}
	if _, err := WriteKernelSpec(opt.Root, r.jupyter, filepath.Dir(tools.Go), "--raw_error"); err != nil {
		r.Close()
		return nil, err
	}
	if r.opt.OutDir == "" {
		r.opt.OutDir = filepath.Join(tmp, "out")
	}
	if err := os.MkdirAll(r.opt.OutDir, 0o755); err != nil {
		r.Close()
		return nil, fmt.Errorf("notebook: creating output directory: %w", err)
	}
	return r, nil
}

// OutDir is where executed copies and exports are written.
func (r *Runner) OutDir() string { return r.opt.OutDir }

// Tools are the programs the runner found.
func (r *Runner) Tools() Tools { return r.tools }

// Close removes the runner's temporary files, including the default OutDir.
func (r *Runner) Close() error {
	if r.tmp == "" {
		return nil
	}
	err := os.RemoveAll(r.tmp)
	r.tmp = ""
	return err
}

// Result describes one executed notebook.
type Result struct {
	Notebook string        // the source notebook
	Output   string        // the executed copy
	Duration time.Duration // wall time of nbconvert, kernel start included
	Cells    int           // code cells executed
}

// CellError reports the first cell of an executed notebook that failed. The
// executed copy (Output) holds every cell's outputs: execution continues past
// a failing cell so that the copy shows all failures at once.
type CellError struct {
	Notebook string
	Output   string // executed copy
	Cell     int    // index of the failing cell among all cells, from 0
	Source   string // the cell's code
	Text     string // the cell's stream and error outputs
	Failed   int    // number of failing cells in the notebook
}

func (e *CellError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "notebook %s: cell %d failed", e.Notebook, e.Cell)
	if e.Failed > 1 {
		fmt.Fprintf(&b, " (%d cells failed in all)", e.Failed)
	}
	fmt.Fprintf(&b, "; executed copy: %s\n--- cell %d source ---\n%s\n--- cell %d output ---\n%s", e.Output, e.Cell, strings.TrimRight(e.Source, "\n"), e.Cell, strings.TrimRight(e.Text, "\n"))
	return b.String()
}

// RunError reports nbconvert failing outside any cell (kernel did not start,
// a cell timed out, bad notebook file); Log holds the end of its output.
type RunError struct {
	Notebook string
	Err      error
	Log      string
}

func (e *RunError) Error() string {
	return fmt.Sprintf("notebook %s: jupyter nbconvert: %v\n--- last lines of its log ---\n%s", e.Notebook, e.Err, e.Log)
}

func (e *RunError) Unwrap() error { return e.Err }

// Execute runs the notebook at path with the repo's kernel and writes the
// executed copy to OutDir (same base name). It returns a *CellError when a
// cell fails and a *RunError when nbconvert itself fails.
func (r *Runner) Execute(ctx context.Context, path string) (*Result, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("notebook: %w", err)
	}
	name := filepath.Base(abs)
	out := filepath.Join(r.opt.OutDir, name)
	if absOut, err := filepath.Abs(out); err == nil && absOut == abs {
		return nil, fmt.Errorf("notebook: executing %s would overwrite it: choose an OutDir other than its directory", abs)
	}
	args := []string{"nbconvert", "--to", "notebook", "--execute", "--allow-errors",
		"--ExecutePreprocessor.kernel_name=" + KernelName,
		fmt.Sprintf("--ExecutePreprocessor.timeout=%d", int(r.opt.CellTimeout.Seconds())),
		fmt.Sprintf("--ExecutePreprocessor.startup_timeout=%d", int(r.opt.StartupTimeout.Seconds())),
		"--output-dir", r.opt.OutDir, "--output", strings.TrimSuffix(name, ".ipynb"),
		abs}
	start := time.Now()
	if err := r.nbconvert(ctx, abs, args); err != nil {
		return nil, err
	}
	res := &Result{Notebook: abs, Output: out, Duration: time.Since(start)}
	nb, err := ReadFile(out)
	if err != nil {
		return res, err
	}
	for _, c := range nb.Cells {
		if c.CellType == "code" {
			res.Cells++
		}
	}
	if ce := nb.firstError(); ce != nil {
		ce.Notebook, ce.Output = abs, out
		return res, ce
	}
	return res, nil
}

// nbconvert runs jupyter with the runner's environment, keeping the end of
// its log for errors.
func (r *Runner) nbconvert(ctx context.Context, nbPath string, args []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cmd := exec.CommandContext(ctx, r.tools.Jupyter, args...)
	cmd.Dir = filepath.Dir(nbPath)
	cmd.Env = append(os.Environ(),
		"JUPYTER_PATH="+r.jupyter,
		"JUPYTER_RUNTIME_DIR="+filepath.Join(r.tmp, "runtime"),
		// PATH for the kernel: launch.sh needs go; gonb and goimports are
		// found by launch.sh itself.
		"PATH="+filepath.Dir(r.tools.Go)+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
	if r.opt.Quick {
		cmd.Env = append(cmd.Env, QuickEnv+"=1")
	}
	cmd.Env = append(cmd.Env, r.opt.Env...)
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(r.opt.Log, &tail)
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return &RunError{Notebook: nbPath, Err: err, Log: lastLines(tail.String(), 40)}
	}
	return nil
}

// Format is an export format.
type Format string

const (
	HTML Format = "html"
	PDF  Format = "pdf" // needs LaTeX (xelatex)
)

// ErrNoLaTeX is returned by Export for PDF when xelatex is not installed.
var ErrNoLaTeX = errors.New("notebook: PDF export needs xelatex (Debian: apt-get install texlive-xetex texlive-fonts-recommended texlive-plain-generic); HTML export works without it")

// Export converts the notebook at path (typically an executed copy from
// Execute) to format, writing <OutDir>/<name>.<format>, without the code
// when Options.NoInput is set. It does not execute the notebook.
func (r *Runner) Export(ctx context.Context, path string, format Format) (string, error) {
	switch format {
	case HTML:
	case PDF:
		if _, err := exec.LookPath("xelatex"); err != nil {
			return "", ErrNoLaTeX
		}
	default:
		return "", fmt.Errorf("notebook: unknown export format %q (want %q or %q)", format, HTML, PDF)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("notebook: %w", err)
	}
	base := strings.TrimSuffix(filepath.Base(abs), ".ipynb")
	args := []string{"nbconvert", "--to", string(format), "--output-dir", r.opt.OutDir, "--output", base}
	if r.opt.NoInput {
		args = append(args, "--no-input")
	}
	args = append(args, abs)
	if err := r.nbconvert(ctx, abs, args); err != nil {
		return "", err
	}
	out := filepath.Join(r.opt.OutDir, base+"."+string(format))
	if _, err := os.Stat(out); err != nil {
		return "", fmt.Errorf("notebook: export of %s reported success but wrote nothing: %w", abs, err)
	}
	return out, nil
}

// tailBuffer keeps the last 64 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	const max = 64 << 10
	t.b = append(t.b, p...)
	if len(t.b) > max {
		t.b = append(t.b[:0], t.b[len(t.b)-max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ansi matches terminal colour codes GoNB puts in its error text.
func stripANSI(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < '@' || s[j] > '~') {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
