package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fernb/fernb/fernb/omni"
)

// buildFernb builds the fernb command into dir, as a user would.
func buildFernb(t *testing.T, dir string) string {
	t.Helper()
	// The toolchain that built this test, else the go on PATH.
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		if goCmd, err = exec.LookPath("go"); err != nil {
			t.Fatal("no go command to build fernb with")
		}
	}
	bin := filepath.Join(dir, "fernb")
	cmd := exec.Command(goCmd, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build fernb: %v\n%s", err, out)
	}
	return bin
}

// writePNGPool writes n small grey PNG faces (generated, seeded) and one
// corrupt file into a folder pool.
func writePNGPool(t *testing.T, dir string, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 17))
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 24, 24))
		a, b := r.Float64()*4, r.Float64()*4
		for y := range 24 {
			for x := range 24 {
				v := 128 + 60*float64(x-12)/12*a/4 + 60*float64(y-12)/12*b/4 + 20*r.NormFloat64()
				img.SetGray(x, y, color.Gray{uint8(min(255, max(0, v)))})
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("face-%04d.png", i)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "face-0005x.png"), []byte("not a PNG"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// schedulerFree is the test's environment without any scheduler or fernb
// variable (the test itself may run inside a Slurm job), with dir first on
// PATH so that the job files' `fernb` is the one just built.
func schedulerFree(binDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "SLURM_") || strings.HasPrefix(name, "FERNB_") || name == "JOB_COMPLETION_INDEX" || name == "PATH" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// slurmTaskEnv is what Slurm sets in the batch script of array task id of
// job 9000 submitted with --array=spec (a range) from script's directives.
func slurmTaskEnv(t *testing.T, script *sbatchScript, spec string, id int) []string {
	t.Helper()
	ids, err := arrayTasks(spec)
	if err != nil {
		t.Fatal(err)
	}
	step := 1
	if len(ids) > 1 {
		step = ids[1] - ids[0]
	}
	pos := -1
	for k, v := range ids {
		if v == id {
			pos = k
		}
	}
	if pos < 0 {
		t.Fatalf("task %d is not in --array=%s", id, spec)
	}
	return []string{
		"SLURM_JOB_ID=" + strconv.Itoa(9001+pos),
		"SLURM_ARRAY_JOB_ID=9000",
		"SLURM_ARRAY_TASK_ID=" + strconv.Itoa(id),
		"SLURM_ARRAY_TASK_MIN=" + strconv.Itoa(ids[0]),
		"SLURM_ARRAY_TASK_MAX=" + strconv.Itoa(ids[len(ids)-1]),
		"SLURM_ARRAY_TASK_STEP=" + strconv.Itoa(step),
		"SLURM_ARRAY_TASK_COUNT=" + strconv.Itoa(len(ids)),
		"SLURM_JOB_NAME=" + script.Directives["job-name"],
		"SLURM_CPUS_PER_TASK=" + script.Directives["cpus-per-task"],
		"SLURM_JOB_NUM_NODES=1",
		"SLURM_NTASKS=1",
	}
}

// proc is one started job process and its output.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  bytes.Buffer
}

func start(t *testing.T, name, dir string, env, argv []string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(lookPathIn(t, env, argv[0]), argv[1:]...)}
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// lookPathIn finds a command on env's PATH, as the pod's or task's shell
// would (exec.Command searches the test's own PATH).
func lookPathIn(t *testing.T, env []string, name string) string {
	t.Helper()
	if strings.Contains(name, "/") {
		return name
	}
	for _, kv := range env {
		if path, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range filepath.SplitList(path) {
				if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
					return filepath.Join(dir, name)
				}
			}
		}
	}
	t.Fatalf("%s is not on the PATH", name)
	return ""
}

func (p *proc) wait(t *testing.T) string {
	t.Helper()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("%s: %v\n%s", p.name, err, p.out.String())
	}
	return p.out.String()
}

// TestClusterShardsMatchUnsharded runs pool scoring as a cluster would: the
// real fernb binary, started by docker/'s job files as separate processes
// with the variables Slurm (an array task) or Kubernetes (an Indexed Job
// pod) sets. One Slurm task is killed half-way and rerun, as a requeued
// task is; the merge jobs then join the shards, and the merged manifests
// must equal an unsharded run's byte for byte.
func TestClusterShardsMatchUnsharded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds fernb and runs it as separate processes")
	}
	root := t.TempDir()
	binDir := filepath.Join(root, "bin")
	pool := filepath.Join(root, "pool")
	for _, d := range []string{binDir, pool} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildFernb(t, binDir)
	const poolSize = 360
	writePNGPool(t, pool, poolSize)
	model := filepath.Join(root, "model")
	if _, stderr, err := runCLI(t, "train", "--path", "lab,n=70,seed=1", "--input", "24x24x1", "--width", "0.25", "--epochs", "1",
		"--batch", "16", "--quiet", "--out", model); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	base := schedulerFree(binDir)
	// What an edited job file would say, given as the variables the job
	// files read (the YAML's are replaced the same way below).
	data := map[string]string{
		"FERNB_MODEL": model, "FERNB_ANCHOR_FORMAT": "synthetic", "FERNB_ANCHOR": "lab,n=70,seed=1", "FERNB_ANCHOR_SPLIT": "lab",
		"FERNB_POOL_FORMAT": "pool", "FERNB_POOL": pool, "FERNB_MARGIN": "0",
	}
	withData := func(env []string, out string) []string {
		env = append([]string{}, env...)
		for k, v := range data {
			env = append(env, k+"="+v)
		}
		return append(env, "FERNB_OUT="+out)
	}

	// The manifest of one process scoring the whole pool. Only runs with
	// the same batch size are comparable to the last bit (omni's doc).
	unsharded := func(name string, flags ...string) []byte {
		out := filepath.Join(root, name, "vas.jsonl")
		os.MkdirAll(filepath.Dir(out), 0o755)
		start(t, name, root, base, append([]string{bin, "select", "--model", model, "--anchor-format", "synthetic", "--anchor", data["FERNB_ANCHOR"], "--anchor-split", "lab",
			"--pool-format", "pool", "--pool", pool, "--margin", "0", "--out", out}, flags...)).wait(t)
		h, _, err := omni.ReadManifest(out)
		if err != nil {
			t.Fatal(err)
		}
		if h.Scored != poolSize || h.Corrupt != 1 || h.Selected != poolSize {
			t.Fatalf("%s: scored %d corrupt %d selected %d, want %d, 1 and %d (margin 0 keeps all)", name, h.Scored, h.Corrupt, h.Selected, poolSize, poolSize)
		}
		return readFile(t, out)
	}

	t.Run("slurm", func(t *testing.T) {
		script := mustSbatch(t, "select-cpu.sbatch")
		scriptPath, err := filepath.Abs(filepath.Join(dockerDir, script.Path))
		if err != nil {
			t.Fatal(err)
		}
		mergePath, _ := filepath.Abs(filepath.Join(dockerDir, "select-merge.sbatch"))
		out := filepath.Join(root, "slurm", "vas.jsonl")
		os.MkdirAll(filepath.Dir(out), 0o755)
		// sbatch --array=1-5:2 overrides the script's range: three tasks,
		// numbered from 1 in steps of 2. Small batches with a checkpoint
		// after each give the kill below a half-done shard to hit.
		const array, victim = "1-5:2", 3
		env := append(withData(base, out), "FERNB_SELECT_FLAGS=--batch 2 --checkpoint-every 1")
		want := unsharded("unsharded-batch2", "--batch", "2")
		tasks := map[int]*proc{}
		for _, id := range []int{1, 3, 5} {
			tasks[id] = start(t, fmt.Sprintf("slurm task %d", id), root, append(append([]string{}, env...), slurmTaskEnv(t, script, array, id)...), []string{"bash", scriptPath})
		}
		// Kill task 3 (shard 2/3) with SIGKILL, as a lost node would,
		// once it has checkpointed half of its shard.
		scores := omni.ScoresPath(omni.ShardPath(out, omni.Shard{I: 2, N: 3}))
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if st, err := omni.ScoreStatus(scores); err == nil && st.Consumed >= poolSize/3/2 {
				if st.Done {
					t.Fatalf("shard 2/3 finished before it could be killed (%+v)", st)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("shard 2/3 checkpointed nothing in 2 minutes\n%s", tasks[victim].out.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
		tasks[victim].cmd.Process.Kill()
		tasks[victim].cmd.Wait()
		st, err := omni.ScoreStatus(scores)
		t.Logf("killed task %d after %d of its %d images", victim, st.Consumed, poolSize/3)
		if err != nil || st.Done || st.Consumed >= poolSize/3 {
			t.Fatalf("killed shard: %+v %v, want a part of its %d images", st, err, poolSize/3)
		}
		killed := time.Now()
		for _, id := range []int{1, 5} {
			tasks[id].wait(t)
		}
		t.Logf("the other tasks finished %v after the kill", time.Since(killed).Round(time.Millisecond))
		if _, err := os.Stat(omni.ShardPath(out, omni.Shard{I: 2, N: 3})); err == nil {
			t.Fatal("the killed shard left a manifest")
		}
		rerun := start(t, "slurm task 3, rerun", root, append(append([]string{}, env...), slurmTaskEnv(t, script, array, victim)...), []string{"bash", scriptPath}).wait(t)
		if !strings.Contains(rerun, fmt.Sprintf("resuming: %d images of shard 2/3", st.Consumed)) {
			t.Errorf("the rerun did not resume the killed shard after its %d images:\n%s", st.Consumed, rerun)
		}
		if !strings.Contains(rerun, "SLURM_ARRAY_TASK_ID=3") {
			t.Errorf("the rerun does not say where its shard came from:\n%s", rerun)
		}
		start(t, "slurm merge", root, append(base, "FERNB_OUT="+out, "SLURM_JOB_ID=9010"), []string{"bash", mergePath}).wait(t)
		if got := readFile(t, out); !bytes.Equal(got, want) {
			t.Errorf("merged Slurm shards differ from the unsharded manifest (%d and %d bytes)", len(got), len(want))
		}
	})

	t.Run("kubernetes", func(t *testing.T) {
		sel, mrg := mustJob(t, "select-job.yaml"), mustJob(t, "select-merge-job.yaml")
		out := filepath.Join(root, "k8s", "vas.jsonl")
		os.MkdirAll(filepath.Dir(out), 0o755)
		const shards = 2
		want := unsharded("unsharded")
		// The container's environment from the YAML, with the data paths
		// and the shard count (completions) of this test.
		podEnv := func(c *k8sContainer) map[string]string {
			env := c.env()
			for k, v := range data {
				if _, ok := env[k]; !ok && c == &sel.Spec.Template.Spec.Containers[0] {
					t.Fatalf("select-job.yaml does not set %s", k)
				}
				env[k] = v
			}
			env["FERNB_OUT"], env["FERNB_SHARDS"] = out, strconv.Itoa(shards)
			return env
		}
		osEnv := func(m map[string]string) []string {
			env := append([]string{}, base...)
			for k, v := range m {
				env = append(env, k+"="+v)
			}
			return env
		}
		sc := &sel.Spec.Template.Spec.Containers[0]
		var pods []*proc
		for idx := range shards {
			env := podEnv(sc)
			env["JOB_COMPLETION_INDEX"] = strconv.Itoa(idx)
			pods = append(pods, start(t, fmt.Sprintf("pod %d", idx), root, osEnv(env), sc.argv(env)))
		}
		for _, p := range pods {
			p.wait(t)
		}
		mc := &mrg.Spec.Template.Spec.Containers[0]
		env := podEnv(mc)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		merge := exec.CommandContext(ctx, mc.argv(env)[0], mc.argv(env)[1:]...)
		merge.Dir, merge.Env = root, osEnv(env)
		if b, err := merge.CombinedOutput(); err != nil {
			t.Fatalf("merge Job: %v\n%s", err, b)
		}
		if got := readFile(t, out); !bytes.Equal(got, want) {
			t.Errorf("merged Kubernetes shards differ from the unsharded manifest (%d and %d bytes)", len(got), len(want))
		}
	})
}
