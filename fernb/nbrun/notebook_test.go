package nbrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RequireEnv makes missing Jupyter/GoNB a test failure instead of a skip (CI sets it).
const RequireEnv = "FERNB_REQUIRE_NOTEBOOKS"

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// newRunner returns a Runner in quick mode, or skips the test (fails it when
// FERNB_REQUIRE_NOTEBOOKS=1) when Jupyter or the Go tools are missing.
// FERNB_NOTEBOOK_OUT keeps the executed copies in that directory.
func newRunner(t *testing.T) *Runner {
	t.Helper()
	out := os.Getenv("FERNB_NOTEBOOK_OUT")
	if out == "" {
		out = t.TempDir()
	}
	r, err := NewRunner(context.Background(), Options{Root: repoRoot(t), OutDir: out, Quick: true, CellTimeout: 8 * time.Minute})
	var missing *MissingError
	if errors.As(err, &missing) {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%v\n(%s=1: notebooks must run here)", err, RequireEnv)
		}
		t.Skipf("skipping notebook execution: %v\n(set %s=1 to make this a failure)", err, RequireEnv)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func testContext(t *testing.T) context.Context {
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-10*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

func TestFindRoot(t *testing.T) {
	root := repoRoot(t)
	for _, p := range []string{"go.mod", "kernels/gonb-fernb/kernel.json", "kernels/gonb-fernb/launch.sh", "notebooks"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("repo root %s lacks %s: %v", root, p, err)
		}
	}
	if got, err := FindRoot(filepath.Join(root, "fernb", "nbrun")); err != nil || got != root {
		t.Errorf("FindRoot(fernb/nbrun) = %q, %v; want %q", got, err, root)
	}
	if _, err := FindRoot(t.TempDir()); err == nil {
		t.Error("FindRoot(temp dir) found a root, want an error")
	}
}

// The committed kernelspec template must be valid JSON that starts the
// launcher next to it, with GOEXPERIMENT=simd.
func TestKernelSpecTemplate(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "kernels", KernelName, "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Argv     []string          `json:"argv"`
		Env      map[string]string `json:"env"`
		Language string            `json:"language"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatalf("kernel.json: %v", err)
	}
	if len(spec.Argv) < 2 || spec.Argv[0] != "{resource_dir}/launch.sh" || spec.Argv[1] != "{connection_file}" {
		t.Errorf("argv = %q, want [{resource_dir}/launch.sh {connection_file}]", spec.Argv)
	}
	if spec.Env["GOEXPERIMENT"] != "simd" || spec.Env["GOTOOLCHAIN"] != "go1.27.3" || spec.Language != "go" {
		t.Errorf("env = %v, language %q; want GOEXPERIMENT=simd, GOTOOLCHAIN=go1.27.3, go", spec.Env, spec.Language)
	}
}

func TestWriteKernelSpec(t *testing.T) {
	root := repoRoot(t)
	dataDir := t.TempDir()
	path, err := WriteKernelSpec(root, dataDir, "/opt/go/bin", "--raw_error")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dataDir, "kernels", KernelName, "kernel.json"); path != want {
		t.Errorf("path = %s, want %s", path, want)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Argv     []string          `json:"argv"`
		Env      map[string]string `json:"env"`
		Metadata any               `json:"metadata"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(root, "kernels", KernelName, "launch.sh"), "{connection_file}", "--raw_error"}
	if strings.Join(spec.Argv, " ") != strings.Join(want, " ") {
		t.Errorf("argv = %q, want %q", spec.Argv, want)
	}
	if spec.Env["GOEXPERIMENT"] != "simd" || spec.Env["FERNB_GO_BIN"] != "/opt/go/bin" {
		t.Errorf("env = %v", spec.Env)
	}
	if spec.Metadata != nil {
		t.Errorf("template metadata copied into the installed spec: %v", spec.Metadata)
	}
}

// runLauncher runs kernels/gonb-fernb/launch.sh with a fake gonb that
// records its arguments and GOEXPERIMENT.
func runLauncher(t *testing.T, env ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	bin := t.TempDir()
	record := filepath.Join(bin, "record")
	fake := "#!/bin/sh\n{ echo \"GOEXPERIMENT=$GOEXPERIMENT\"; for a in \"$@\"; do echo \"$a\"; done; } > " + record + "\n"
	if err := os.WriteFile(filepath.Join(bin, "gonb"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(repoRoot(t), "kernels", KernelName, "launch.sh"), "/tmp/conn.json", "--raw_error")
	cmd.Env = append([]string{"PATH=" + filepath.Dir(goCmd) + ":/usr/bin:/bin", "HOME=" + os.Getenv("HOME"), "GOBIN=" + bin,
		"GOPATH=" + os.Getenv("GOPATH"), "GOCACHE=" + os.Getenv("GOCACHE"), "GOMODCACHE=" + os.Getenv("GOMODCACHE")}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), err
	}
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("fake gonb was not run: %v; launcher said: %s", err, out)
	}
	return string(got), nil
}

func TestLauncherPassesGoWorkAndSIMD(t *testing.T) {
	root := repoRoot(t)
	got, err := runLauncher(t)
	if err != nil {
		t.Fatalf("launch.sh: %v: %s", err, got)
	}
	want := strings.Join([]string{"GOEXPERIMENT=simd", "--kernel", "/tmp/conn.json", "--go_work=" + root, "--raw_error"}, "\n") + "\n"
	if got != want {
		t.Errorf("gonb started with\n%s\nwant\n%s", got, want)
	}
}

func TestLauncherRejectsWrongRoot(t *testing.T) {
	got, err := runLauncher(t, "FERNB_ROOT="+t.TempDir())
	if err == nil {
		t.Fatalf("launch.sh with FERNB_ROOT at an empty directory started gonb: %s", got)
	}
	if !strings.Contains(got, "not the fernb repository root") {
		t.Errorf("launch.sh error = %q, want it to name the wrong root", got)
	}
}

// Every committed notebook must declare the repo's kernel and carry no
// outputs (no real-data image may be committed).
func TestCommittedNotebooks(t *testing.T) {
	paths, err := List(filepath.Join(repoRoot(t), "notebooks"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no notebooks in notebooks/")
	}
	for _, p := range paths {
		if err := CheckCommitted(p); err != nil {
			t.Error(err)
		}
	}
}

func TestCheckCommittedRejectsOutputs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.ipynb")
	writeNotebook(t, p, `{"cell_type":"code","execution_count":3,"metadata":{},"outputs":[{"output_type":"stream","name":"stdout","text":["hi\n"]}],"source":["%%\n","fmt.Println(\"hi\")"]}`)
	if err := CheckCommitted(p); err == nil || !strings.Contains(err.Error(), "outputs") {
		t.Errorf("CheckCommitted(notebook with outputs) = %v, want an error about outputs", err)
	}
}

func writeNotebook(t *testing.T, path string, cells ...string) {
	t.Helper()
	doc := `{"cells":[` + strings.Join(cells, ",") + `],"metadata":{"kernelspec":{"display_name":"Go (fernb)","language":"go","name":"gonb-fernb"},"language_info":{"name":"go"}},"nbformat":4,"nbformat_minor":5}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

func codeCell(lines ...string) string {
	src, _ := json.Marshal(strings.Join(lines, "\n"))
	return `{"cell_type":"code","execution_count":null,"metadata":{},"outputs":[],"source":` + string(src) + `}`
}

func TestCellErrorFromOutputs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.ipynb")
	writeNotebook(t, p,
		`{"cell_type":"code","execution_count":1,"metadata":{},"outputs":[{"output_type":"stream","name":"stdout","text":"ok\n"}],"source":"%%\nfmt.Println(\"ok\")"}`,
		`{"cell_type":"code","execution_count":2,"metadata":{},"outputs":[{"output_type":"stream","name":"stderr","text":["panic: boom\n","\u001b[7m[[ Cell [2] Line 2 ]]\u001b[0m\n"]},{"output_type":"error","ename":"ERROR","evalue":"exit status 2","traceback":["exit status 2"]}],"source":["%%\n","panic(\"boom\")"]}`,
		`{"cell_type":"code","execution_count":3,"metadata":{},"outputs":[{"output_type":"error","ename":"ERROR","evalue":"x","traceback":["x"]}],"source":"%%"}`)
	nb, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ce := nb.firstError()
	if ce == nil {
		t.Fatal("no cell error found")
	}
	if ce.Cell != 1 || ce.Failed != 2 || ce.Source != "%%\npanic(\"boom\")" {
		t.Errorf("cell error = %+v", ce)
	}
	if !strings.Contains(ce.Text, "panic: boom") || !strings.Contains(ce.Text, "[[ Cell [2] Line 2 ]]") || strings.Contains(ce.Text, "\x1b") {
		t.Errorf("cell error text = %q, want the panic without colour codes", ce.Text)
	}
}

// SelectEnv picks notebooks for a developer's run (comma-separated names
// without .ipynb; shell patterns allowed, e.g. "00_*,table1_rafdb"). Unset,
// as in CI, every notebook runs.
const SelectEnv = "FERNB_NOTEBOOKS"

// selectNotebooks returns the paths whose names match spec (all when spec is
// empty) and the names left out; a pattern matching nothing is an error.
func selectNotebooks(paths []string, spec string) (sel, left []string, err error) {
	if strings.TrimSpace(spec) == "" {
		return paths, nil, nil
	}
	pats := strings.Split(spec, ",")
	used := make([]bool, len(pats))
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".ipynb")
		match := false
		for i, pat := range pats {
			if ok, err := filepath.Match(strings.TrimSpace(pat), name); err != nil {
				return nil, nil, fmt.Errorf("%s: bad pattern %q: %w", SelectEnv, pat, err)
			} else if ok {
				match, used[i] = true, true
			}
		}
		if match {
			sel = append(sel, p)
		} else {
			left = append(left, name)
		}
	}
	for i, u := range used {
		if !u {
			return nil, nil, fmt.Errorf("%s: %q matches no notebook", SelectEnv, pats[i])
		}
	}
	return sel, left, nil
}

func TestSelectNotebooks(t *testing.T) {
	paths := []string{"/n/00_quickstart.ipynb", "/n/01_data.ipynb", "/n/table1_rafdb.ipynb"}
	sel, left, err := selectNotebooks(paths, "00_*, table1_rafdb")
	if err != nil || len(sel) != 2 || sel[0] != paths[0] || sel[1] != paths[2] || strings.Join(left, ",") != "01_data" {
		t.Errorf("selectNotebooks = %q, %q, %v", sel, left, err)
	}
	if sel, _, err := selectNotebooks(paths, ""); err != nil || len(sel) != 3 {
		t.Errorf("empty selection = %q, %v; want all", sel, err)
	}
	if _, _, err := selectNotebooks(paths, "00_quickstart,nosuch"); err == nil {
		t.Error("a pattern matching nothing was accepted")
	}
}

// A failing cell must fail Execute with the cell's source and error text.
func TestExecuteReportsCellError(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the extra kernel run (the notebooks themselves still run)")
	}
	r := newRunner(t)
	ctx := testContext(t)
	p := filepath.Join(t.TempDir(), "broken.ipynb")
	writeNotebook(t, p,
		codeCell("%%", `fmt.Println("first cell runs")`),
		codeCell("%%", "undefinedThing()"))
	res, err := r.Execute(ctx, p)
	var ce *CellError
	if !errors.As(err, &ce) {
		t.Fatalf("Execute(broken notebook) = %v, %v; want a *CellError", res, err)
	}
	t.Logf("the error a failing notebook reports:\n%v", ce)
	if ce.Cell != 1 || !strings.Contains(ce.Source, "undefinedThing()") || !strings.Contains(ce.Text, "undefined: undefinedThing") {
		t.Errorf("cell error does not show the failing cell and the compiler's message:\n%v", ce)
	}
	nb, err := ReadFile(res.Output)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(nb.OutputText(), "first cell runs") {
		t.Errorf("executed copy lacks the first cell's output:\n%s", nb.OutputText())
	}
}

func TestExport(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping export (the notebooks themselves still run)")
	}
	r := newRunner(t)
	ctx := testContext(t)
	p := filepath.Join(t.TempDir(), "report.ipynb")
	writeNotebook(t, p, codeCell("%%", `fmt.Println("exported cell 7x7")`))
	out, err := r.Export(ctx, p, HTML)
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, ".html") || !strings.Contains(string(html), "exported cell 7x7") {
		t.Errorf("HTML export %s does not contain the cell's source", out)
	}
	pdf, err := r.Export(ctx, p, PDF)
	if _, lookErr := exec.LookPath("xelatex"); lookErr != nil {
		if !errors.Is(err, ErrNoLaTeX) {
			t.Errorf("PDF export without xelatex = %q, %v; want ErrNoLaTeX", pdf, err)
		}
	} else if err != nil {
		t.Errorf("PDF export: %v", err)
	}
	if _, err := r.Export(ctx, p, Format("docx")); err == nil {
		t.Error("Export to an unknown format succeeded")
	}
}

// With NoInput an export keeps the text and the outputs and leaves the
// code out: what a results section of a paper needs.
func TestExportNoInput(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping export")
	}
	newRunner(t) // skips when Jupyter is missing
	out := t.TempDir()
	r, err := NewRunner(context.Background(), Options{Root: repoRoot(t), OutDir: out, NoInput: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := filepath.Join(t.TempDir(), "section.ipynb")
	writeNotebook(t, p,
		`{"cell_type":"markdown","metadata":{},"source":"# Results heading 5x5"}`,
		`{"cell_type":"code","execution_count":1,"metadata":{},"outputs":[{"output_type":"stream","name":"stdout","text":"printed output 9x9\n"}],"source":"%%\nfmt.Println(\"source line 3x3\")"}`)
	html, err := r.Export(testContext(t), p, HTML)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Results heading 5x5", "printed output 9x9"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("--no-input export lost %q", want)
		}
	}
	if strings.Contains(string(b), "source line 3x3") {
		t.Error("--no-input export still shows the code")
	}
}

// LookupTools finds gonb and goimports where `go install` puts them even
// when that directory is not on PATH, and names what is missing.
func TestLookupTools(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("sh not installed")
	}
	jupyterDir, gobin := t.TempDir(), t.TempDir()
	script := func(dir, name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script(jupyterDir, "jupyter", `[ "$1 $2" = "nbconvert --version" ] && echo 6.5.3`)
	t.Setenv("PATH", filepath.Dir(goCmd)+string(os.PathListSeparator)+jupyterDir+string(os.PathListSeparator)+"/bin")
	t.Setenv("GOBIN", gobin)
	t.Setenv("GOPATH", t.TempDir()) // no $GOPATH/bin/gonb from this machine

	_, err = LookupTools(context.Background())
	var missing *MissingError
	if !errors.As(err, &missing) || strings.Join(missing.Missing, ",") != "gonb,goimports" {
		t.Fatalf("LookupTools without gonb and goimports = %v; want both named missing", err)
	}
	script(gobin, "gonb", "exit 0")
	script(gobin, "goimports", "exit 0")
	tools, err := LookupTools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tools.GoNB != filepath.Join(gobin, "gonb") || tools.GoImports != filepath.Join(gobin, "goimports") || tools.Jupyter != filepath.Join(jupyterDir, "jupyter") {
		t.Errorf("LookupTools = %+v", tools)
	}
	script(jupyterDir, "jupyter", "echo 'No module named nbconvert' >&2; exit 1")
	if _, err := LookupTools(context.Background()); !errors.As(err, &missing) || !strings.Contains(err.Error(), "No module named nbconvert") {
		t.Errorf("LookupTools with a broken nbconvert = %v; want it named missing with its error", err)
	}
}

// Executing into the notebook's own directory would overwrite the source.
func TestExecuteRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.ipynb")
	writeNotebook(t, p, codeCell("%%"))
	r := &Runner{opt: Options{OutDir: dir}}
	if _, err := r.Execute(context.Background(), p); err == nil || !strings.Contains(err.Error(), "overwrite") {
		t.Errorf("Execute into the notebook's directory = %v, want a refusal", err)
	}
}

// TestExecuteNotebooks runs every notebook in notebooks/ in quick mode, one
// at a time, and fails on any cell error, printing the failing cell. A
// notebook that cannot finish inside go test's -timeout fails with a message
// saying so (never a skip).
func TestExecuteNotebooks(t *testing.T) {
	paths, err := List(filepath.Join(repoRoot(t), "notebooks"))
	if err != nil {
		t.Fatal(err)
	}
	paths, left, err := selectNotebooks(paths, os.Getenv(SelectEnv))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Logf("%s=%q: not running %s", SelectEnv, os.Getenv(SelectEnv), strings.Join(left, ", "))
	}
	r := newRunner(t)
	ctx := testContext(t)
	deadline, hasDeadline := t.Deadline()
	var longest time.Duration
	took := []string{"none run yet"}
	timeoutHelp := fmt.Sprintf("run the notebooks with a larger limit, e.g. GOEXPERIMENT=simd go test -timeout 60m ./fernb/nbrun/ (.ci/run does), or pick some with %s=name,...", SelectEnv)
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".ipynb")
		t.Run(name, func(t *testing.T) {
			if hasDeadline {
				if left, need := time.Until(deadline), max(longest, 30*time.Second)+20*time.Second; left < need {
					t.Fatalf("not started: %v left of go test's -timeout, too little for a notebook (so far: %s); %s",
						left.Round(time.Second), strings.Join(took, ", "), timeoutHelp)
				}
			}
			res, err := r.Execute(ctx, p)
			if res != nil {
				if longest == 0 {
					took = nil
				}
				longest = max(longest, res.Duration, time.Nanosecond)
				took = append(took, fmt.Sprintf("%s %v", name, res.Duration.Round(time.Second)))
			}
			if err != nil {
				if ctx.Err() != nil {
					t.Fatalf("%s ran out of go test's -timeout (so far: %s); %s\n%v", name, strings.Join(took, ", "), timeoutHelp, err)
				}
				t.Fatal(err)
			}
			t.Logf("%s: %d code cells in %v; executed copy %s", name, res.Cells, res.Duration.Round(time.Second), res.Output)
			nb, err := ReadFile(res.Output)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range nb.Cells {
				if c.CellType == "code" && strings.TrimSpace(string(c.Source)) != "" && c.ExecutionCount == nil {
					t.Errorf("cell %d was not executed", i)
				}
			}
			if name == "00_quickstart" {
				if !nb.HasOutput("image/png") {
					t.Error("quickstart shows no inline PNG figure")
				}
				if text := nb.OutputText(); !strings.Contains(text, "backend:") {
					t.Errorf("quickstart does not print the backend; its output:\n%s", text)
				}
			}
		})
	}
}
