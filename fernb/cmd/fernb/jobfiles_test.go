package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The cluster job files live in docker/, beside the images they run.
const dockerDir = "../../../docker"

// sbatchScript is a Slurm batch script split the way sbatch reads it: the
// #SBATCH directives before the first command, the comments, and the rest.
type sbatchScript struct {
	Path       string
	Directives map[string]string // option name (without --) -> value ("" for a flag)
	Comments   []string
	Body       []string // command lines, from the first one on
}

// sbatchOptions are the sbatch long options the job files may use, with a
// check of the value ("" : a flag without one). sbatch ignores nothing it
// does not know: it refuses the script, so a misspelt option would only
// show on the cluster.
var sbatchOptions = map[string]*regexp.Regexp{
	"job-name":      regexp.MustCompile(`^[\w.-]+$`),
	"array":         regexp.MustCompile(`^\d+(-\d+(:\d+)?)?(%\d+)?$`),
	"cpus-per-task": regexp.MustCompile(`^[1-9]\d*$`),
	"mem":           regexp.MustCompile(`^[1-9]\d*[KMGT]?$`),
	"time":          regexp.MustCompile(`^(\d+-\d{1,2}(:\d\d){0,2}|\d+(:\d\d){0,2})$`),
	"requeue":       nil,
	"output":        regexp.MustCompile(`^[\w.%/-]+$`),
	"error":         regexp.MustCompile(`^[\w.%/-]+$`),
	"gres":          regexp.MustCompile(`^gpu(:[\w-]+)?:[1-9]\d*$`),
	"gpus":          regexp.MustCompile(`^([\w-]+:)?[1-9]\d*$`),
	"partition":     regexp.MustCompile(`^[\w,-]+$`),
	"account":       regexp.MustCompile(`^[\w-]+$`),
	"nodes":         regexp.MustCompile(`^[1-9]\d*$`),
	"ntasks":        regexp.MustCompile(`^[1-9]\d*$`),
}

// parseSbatch reads a batch script and checks its directives: known options
// with well-formed values, none twice, and no directive after the first
// command or spelt so that sbatch would silently skip it.
func parseSbatch(path string, src []byte) (*sbatchScript, error) {
	s := &sbatchScript{Path: path, Directives: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(src))
	// "# SBATCH", "#SBATCH--x" and "#sbatch" are comments to sbatch.
	loose := regexp.MustCompile(`^#\s*SBATCH|^#(?i:sbatch)`)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		switch {
		case n == 1:
			if line != "#!/bin/bash" {
				return nil, fmt.Errorf("%s:1: %q, want #!/bin/bash", path, line)
			}
		case strings.HasPrefix(line, "#SBATCH "):
			if len(s.Body) > 0 {
				return nil, fmt.Errorf("%s:%d: #SBATCH after the first command: sbatch ignores it", path, n)
			}
			opt := strings.TrimPrefix(line, "#SBATCH ")
			name, value, hasValue := strings.Cut(opt, "=")
			if !strings.HasPrefix(name, "--") || strings.ContainsAny(opt, " \t") {
				return nil, fmt.Errorf("%s:%d: directive %q, want --option=value or --flag", path, n, opt)
			}
			name = strings.TrimPrefix(name, "--")
			check, known := sbatchOptions[name]
			switch {
			case !known:
				return nil, fmt.Errorf("%s:%d: unknown sbatch option --%s", path, n, name)
			case check == nil && hasValue:
				return nil, fmt.Errorf("%s:%d: --%s takes no value", path, n, name)
			case check != nil && !check.MatchString(value):
				return nil, fmt.Errorf("%s:%d: --%s=%q is not a valid value (want %s)", path, n, name, value, check)
			}
			if _, dup := s.Directives[name]; dup {
				return nil, fmt.Errorf("%s:%d: --%s given twice", path, n, name)
			}
			s.Directives[name] = value
		case loose.MatchString(trim):
			return nil, fmt.Errorf("%s:%d: %q looks like a directive but sbatch reads only lines starting \"#SBATCH \"", path, n, line)
		case strings.HasPrefix(trim, "#"):
			if len(s.Body) == 0 {
				s.Comments = append(s.Comments, strings.TrimSpace(strings.TrimPrefix(trim, "#")))
			}
		case trim != "":
			s.Body = append(s.Body, line)
		}
	}
	if len(s.Body) == 0 {
		return nil, fmt.Errorf("%s: no commands", path)
	}
	return s, nil
}

// arrayTasks lists the task IDs of an --array value (a range lo-hi[:step]).
func arrayTasks(spec string) (ids []int, err error) {
	spec, _, _ = strings.Cut(spec, "%")
	lohi, stepS, hasStep := strings.Cut(spec, ":")
	loS, hiS, _ := strings.Cut(lohi, "-")
	lo, err1 := strconv.Atoi(loS)
	hi, err2 := strconv.Atoi(hiS)
	step := 1
	var err3 error
	if hasStep {
		step, err3 = strconv.Atoi(stepS)
	}
	if err1 != nil || err2 != nil || err3 != nil || hi < lo || step < 1 {
		return nil, fmt.Errorf("array %q: want a range lo-hi[:step]", spec)
	}
	for id := lo; id <= hi; id += step {
		ids = append(ids, id)
	}
	return ids, nil
}

// k8sJob is the part of a batch/v1 Job the job files use. Decoding with
// KnownFields refuses any other field, so a misspelt one (completionmode,
// restartPolicy at the wrong level) fails here and not on the cluster.
type k8sJob struct {
	APIVersion string      `yaml:"apiVersion"`
	Kind       string      `yaml:"kind"`
	Metadata   k8sMetadata `yaml:"metadata"`
	Spec       struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    *int   `yaml:"completions"`
		Parallelism    *int   `yaml:"parallelism"`
		BackoffLimit   *int   `yaml:"backoffLimit"`
		Template       struct {
			Metadata k8sMetadata `yaml:"metadata"`
			Spec     struct {
				SecurityContext struct {
					FSGroup *int `yaml:"fsGroup"`
				} `yaml:"securityContext"`
				RestartPolicy string         `yaml:"restartPolicy"`
				Containers    []k8sContainer `yaml:"containers"`
				Volumes       []struct {
					Name                  string `yaml:"name"`
					PersistentVolumeClaim struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sMetadata struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

// env returns the container's environment as a map.
func (c *k8sContainer) env() map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

// argv is the container's command line with Kubernetes' $(VAR) references
// expanded from env ($$ escapes a $; an unknown name stays as written).
func (c *k8sContainer) argv(env map[string]string) []string {
	ref := regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	var out []string
	for _, a := range append(append([]string{}, c.Command...), c.Args...) {
		out = append(out, ref.ReplaceAllStringFunc(a, func(m string) string {
			if m == "$$" {
				return "$"
			}
			if v, ok := env[m[2:len(m)-1]]; ok {
				return v
			}
			return m
		}))
	}
	return out
}

// parseJob decodes one Job strictly and checks what Kubernetes would refuse
// or what would make the pods fail: one container with an image and a
// command, a valid restart policy, mounts of declared volumes, and for an
// Indexed Job completions that FERNB_SHARDS repeats.
func parseJob(path string, src []byte) (*k8sJob, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	var j k8sJob
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s: more than one YAML document; want one Job per file", path)
	}
	spec := &j.Spec.Template.Spec
	switch {
	case j.APIVersion != "batch/v1" || j.Kind != "Job":
		return nil, fmt.Errorf("%s: %s %s, want a batch/v1 Job", path, j.APIVersion, j.Kind)
	case !regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`).MatchString(j.Metadata.Name):
		return nil, fmt.Errorf("%s: metadata.name %q is not a DNS label", path, j.Metadata.Name)
	case spec.RestartPolicy != "Never" && spec.RestartPolicy != "OnFailure":
		return nil, fmt.Errorf("%s: restartPolicy %q, want Never or OnFailure (a Job's pods)", path, spec.RestartPolicy)
	case len(spec.Containers) != 1:
		return nil, fmt.Errorf("%s: %d containers, want 1", path, len(spec.Containers))
	}
	c := &spec.Containers[0]
	if c.Name == "" || c.Image == "" || len(c.Command) == 0 {
		return nil, fmt.Errorf("%s: container needs a name, an image and a command", path)
	}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v.PersistentVolumeClaim.ClaimName != ""
	}
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] || !filepath.IsAbs(m.MountPath) {
			return nil, fmt.Errorf("%s: volume mount %q at %q: no such claim volume, or not an absolute path", path, m.Name, m.MountPath)
		}
	}
	switch j.Spec.CompletionMode {
	case "":
	case "Indexed":
		n := j.Spec.Completions
		if n == nil || *n < 1 {
			return nil, fmt.Errorf("%s: an Indexed Job needs completions", path)
		}
		if p := j.Spec.Parallelism; p != nil && (*p < 1 || *p > *n) {
			return nil, fmt.Errorf("%s: parallelism %d, want 1..completions (%d)", path, *p, *n)
		}
		if got := c.env()["FERNB_SHARDS"]; got != strconv.Itoa(*n) {
			return nil, fmt.Errorf("%s: FERNB_SHARDS=%q, want completions (%d): the shard count", path, got, *n)
		}
	default:
		return nil, fmt.Errorf("%s: completionMode %q, want Indexed", path, j.Spec.CompletionMode)
	}
	return &j, nil
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readJobFile(t *testing.T, name string) []byte {
	t.Helper()
	return readFile(t, filepath.Join(dockerDir, name))
}

func mustSbatch(t *testing.T, name string) *sbatchScript {
	t.Helper()
	s, err := parseSbatch(name, readJobFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustJob(t *testing.T, name string) *k8sJob {
	t.Helper()
	j, err := parseJob(name, readJobFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// documents reports whether a job file's comments give the command that
// submits it.
func documents(comments []string, submit string) bool {
	for _, c := range comments {
		if strings.Contains(c, submit) {
			return true
		}
	}
	return false
}

func yamlComments(src []byte) []string {
	var out []string
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, "#") {
			out = append(out, strings.TrimSpace(strings.TrimPrefix(l, "#")))
		}
	}
	return out
}

// TestJobFiles parses the cluster job files the way sbatch and kubectl
// would, so that a typo fails here, and checks that they agree with each
// other and with fernb.
func TestJobFiles(t *testing.T) {
	cpu, gpu, merge := mustSbatch(t, "select-cpu.sbatch"), mustSbatch(t, "select-gpu.sbatch"), mustSbatch(t, "select-merge.sbatch")
	for _, s := range []*sbatchScript{cpu, gpu, merge} {
		if out, err := exec.Command("bash", "-n", filepath.Join(dockerDir, s.Path)).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s.Path, err, out)
		}
		if s.Directives["job-name"] == "" || s.Directives["time"] == "" || s.Directives["output"] == "" {
			t.Errorf("%s: needs --job-name, --time and --output", s.Path)
		}
	}
	submit := "sbatch --dependency=afterok:$(sbatch --parsable docker/%s) docker/select-merge.sbatch"
	for _, s := range []*sbatchScript{cpu, gpu} {
		ids, err := arrayTasks(s.Directives["array"])
		if err != nil || len(ids) < 2 {
			t.Errorf("%s: --array=%q: %v %v, want a range of shards", s.Path, s.Directives["array"], ids, err)
		}
		if !strings.Contains(strings.Join(s.Body, "\n"), "select --shard auto") {
			t.Errorf("%s does not run fernb select --shard auto", s.Path)
		}
		if !documents(s.Comments, fmt.Sprintf(submit, s.Path)) || !documents(merge.Comments, fmt.Sprintf(submit, "select-cpu.sbatch")) {
			t.Errorf("%s (or the merge script) does not give its submit command %q", s.Path, fmt.Sprintf(submit, s.Path))
		}
	}
	if !strings.HasPrefix(gpu.Directives["gres"], "gpu") && gpu.Directives["gpus"] == "" {
		t.Errorf("%s requests no GPU", gpu.Path)
	}
	// The GPU script is the CPU one plus the backend: they must not drift.
	backend := "export GOMLX_BACKEND=xla:cuda"
	var rest []string
	for _, l := range gpu.Body {
		if l != backend {
			rest = append(rest, l)
		}
	}
	if len(rest) != len(gpu.Body)-1 || strings.Join(rest, "\n") != strings.Join(cpu.Body, "\n") {
		t.Errorf("%s should be %s's commands plus %q", gpu.Path, cpu.Path, backend)
	}
	if !strings.Contains(strings.Join(merge.Body, "\n"), "select merge --out \"$FERNB_OUT\"") {
		t.Errorf("%s does not run fernb select merge --out \"$FERNB_OUT\"", merge.Path)
	}

	sel, mrg := mustJob(t, "select-job.yaml"), mustJob(t, "select-merge-job.yaml")
	if sel.Spec.CompletionMode != "Indexed" {
		t.Errorf("select-job.yaml: completionMode %q, want Indexed", sel.Spec.CompletionMode)
	}
	sc, mc := &sel.Spec.Template.Spec.Containers[0], &mrg.Spec.Template.Spec.Containers[0]
	if argv := sc.argv(sc.env()); len(argv) < 4 || strings.Join(argv[:4], " ") != "fernb select --shard auto" {
		t.Errorf("select-job.yaml runs %q, want fernb select --shard auto ...", argv)
	}
	for _, name := range []string{"FERNB_OUT", "FERNB_SHARDS"} {
		if sc.env()[name] == "" || sc.env()[name] != mc.env()[name] {
			t.Errorf("%s differs between the Jobs: %q and %q", name, sc.env()[name], mc.env()[name])
		}
	}
	if sc.Image != mc.Image || fmt.Sprint(sc.VolumeMounts) != fmt.Sprint(mc.VolumeMounts) ||
		fmt.Sprint(sel.Spec.Template.Spec.Volumes) != fmt.Sprint(mrg.Spec.Template.Spec.Volumes) {
		t.Error("the scoring and merge Jobs use different images or volumes")
	}
	both := "kubectl apply -f docker/select-job.yaml -f docker/select-merge-job.yaml"
	for _, name := range []string{"select-job.yaml", "select-merge-job.yaml"} {
		if !documents(yamlComments(readJobFile(t, name)), both) {
			t.Errorf("%s does not give its submit command %q", name, both)
		}
	}
}

// The checks above catch the typos they are for.
func TestJobFileTyposFail(t *testing.T) {
	for _, tc := range []struct{ file, from, to string }{
		{"select-cpu.sbatch", "--cpus-per-task=2", "--cpus-per-taks=2"},
		{"select-cpu.sbatch", "--array=0-7", "--array=0..7"},
		{"select-cpu.sbatch", "--time=24:00:00", "--time=24h"},
		{"select-cpu.sbatch", "#SBATCH --mem=4G", "# SBATCH --mem=4G"},
		{"select-cpu.sbatch", "#SBATCH --requeue", "#SBATCH --requeue=yes"},
		{"select-gpu.sbatch", "--gres=gpu:1", "--gres=gpu1"},
		{"select-job.yaml", "completionMode: Indexed", "completionmode: Indexed"},
		{"select-job.yaml", "completions: 8", "completions: 4"},
		{"select-job.yaml", "restartPolicy: OnFailure", "restartPolicy: Always"},
		{"select-job.yaml", "mountPath: /data", "mountpath: /data"},
		{"select-job.yaml", "claimName: fernb-data", "claimname: fernb-data"},
		{"select-merge-job.yaml", "  backoffLimit: 2", "  backoffLimit: two"},
	} {
		src := string(readJobFile(t, tc.file))
		if strings.Count(src, tc.from) != 1 {
			t.Fatalf("%s: %q occurs %d times, want once", tc.file, tc.from, strings.Count(src, tc.from))
		}
		bad := []byte(strings.Replace(src, tc.from, tc.to, 1))
		var err error
		if strings.HasSuffix(tc.file, ".yaml") {
			_, err = parseJob(tc.file, bad)
		} else {
			_, err = parseSbatch(tc.file, bad)
		}
		if err == nil {
			t.Errorf("%s with %q for %q: accepted", tc.file, tc.to, tc.from)
		}
	}
}
