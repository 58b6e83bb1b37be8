package omni

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ShardsEnv names the variable that gives ShardFromEnv the number of
// shards. A Kubernetes Indexed Job tells each pod its index but not the
// Job's completions, so its manifest sets this beside completions; for
// Slurm it turns a resubmitted subset of an array into shards of the
// original array.
const ShardsEnv = "FERNB_SHARDS"

// Scheduler variables ShardFromEnv reads.
const (
	slurmTaskID    = "SLURM_ARRAY_TASK_ID"
	slurmTaskMin   = "SLURM_ARRAY_TASK_MIN"
	slurmTaskMax   = "SLURM_ARRAY_TASK_MAX"
	slurmTaskStep  = "SLURM_ARRAY_TASK_STEP"
	slurmTaskCount = "SLURM_ARRAY_TASK_COUNT"
	slurmJobID     = "SLURM_JOB_ID"
	k8sIndex       = "JOB_COMPLETION_INDEX"
)

// ResolveShard turns a shard spec into a Shard: "auto" reads it from the
// scheduler's environment (ShardFromEnv, with count as its shard count),
// anything else is ParseShard's "i/n" (or "" for the whole pool), which
// takes no count. The string says where an automatic shard came from ("" for
// an explicit one), for the log.
func ResolveShard(spec string, count int, getenv func(string) string) (Shard, string, error) {
	if strings.TrimSpace(spec) == "auto" {
		return ShardFromEnv(getenv, count)
	}
	if count != 0 {
		return Shard{}, "", fmt.Errorf("omni: a shard count (%d) is only read with shard \"auto\", not with shard %q", count, spec)
	}
	sh, err := ParseShard(spec)
	return sh, "", err
}

// ShardFromEnv returns the shard of the pool this process scores when it
// runs as one task of a job array, read from the scheduler's environment
// through getenv (os.Getenv), so that one job file serves every task.
//
// Slurm: shard (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) /
// SLURM_ARRAY_TASK_STEP + 1 of SLURM_ARRAY_TASK_COUNT, which numbers the
// tasks of any range (--array=0-7, 1-8, 0-14:2) from 1. The array must be a
// range: SLURM_ARRAY_TASK_MAX, when set, has to agree with the count. A
// one-task array is refused, because that is what resubmitting a single
// failed task (sbatch --array=3) looks like, and it would score the whole
// pool instead of shard 4.
//
// Kubernetes Indexed Job: shard JOB_COMPLETION_INDEX + 1 of count.
//
// count (a flag) or the variable ShardsEnv gives the number of shards; they
// must agree when both are set. Kubernetes needs it. Under Slurm it makes
// the array task IDs the 0-based shard numbers whatever the array's range,
// so that `sbatch --array=3,5` with FERNB_SHARDS=8 reruns shards 4 and 6
// of 8.
//
// A variable that is missing, not a number or inconsistent with the others
// is an error naming it. The returned string says where the shard came from.
func ShardFromEnv(getenv func(string) string, count int) (Shard, string, error) {
	if v := strings.TrimSpace(getenv(ShardsEnv)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Shard{}, "", fmt.Errorf("omni: %s=%q: want the number of shards, a positive integer", ShardsEnv, v)
		}
		if count != 0 && count != n {
			return Shard{}, "", fmt.Errorf("omni: shard count %d and %s=%d disagree", count, ShardsEnv, n)
		}
		count = n
	}
	if count < 0 {
		return Shard{}, "", fmt.Errorf("omni: shard count %d: want a positive integer", count)
	}
	_, slurm := lookup(getenv, slurmTaskID)
	_, k8s := lookup(getenv, k8sIndex)
	switch {
	case slurm && k8s:
		return Shard{}, "", fmt.Errorf("omni: both %s (Slurm) and %s (Kubernetes) are set; cannot tell which scheduler runs this process", slurmTaskID, k8sIndex)
	case k8s:
		return k8sShard(getenv, count)
	case slurm:
		return slurmShard(getenv, count)
	}
	if _, ok := lookup(getenv, slurmJobID); ok {
		return Shard{}, "", fmt.Errorf("omni: %s is set but %s is not: submit the job as an array (sbatch --array=0-7 ...)", slurmJobID, slurmTaskID)
	}
	return Shard{}, "", fmt.Errorf("omni: no shard in the environment: neither %s (Slurm job array) nor %s (Kubernetes Indexed Job) is set", slurmTaskID, k8sIndex)
}

func k8sShard(getenv func(string) string, count int) (Shard, string, error) {
	idx, err := envInt(getenv, k8sIndex, 0)
	if err != nil {
		return Shard{}, "", err
	}
	if count == 0 {
		return Shard{}, "", fmt.Errorf("omni: %s=%d is set but the number of shards is not: set %s to the Job's completions", k8sIndex, idx, ShardsEnv)
	}
	if idx >= count {
		return Shard{}, "", fmt.Errorf("omni: %s=%d is not below the shard count %d: the Job's completions and %s must be equal", k8sIndex, idx, count, ShardsEnv)
	}
	return Shard{I: idx + 1, N: count}, fmt.Sprintf("%s=%d of %d shards", k8sIndex, idx, count), nil
}

func slurmShard(getenv func(string) string, count int) (Shard, string, error) {
	id, err := envInt(getenv, slurmTaskID, 0)
	if err != nil {
		return Shard{}, "", err
	}
	if count > 0 {
		if id >= count {
			return Shard{}, "", fmt.Errorf("omni: %s=%d is not below the shard count %d: with a shard count, array task IDs are the shard numbers 0..%d (sbatch --array=0-%d)", slurmTaskID, id, count, count-1, count-1)
		}
		if n, ok := lookup(getenv, slurmTaskCount); ok {
			if c, err := strconv.Atoi(n); err == nil && c > count {
				return Shard{}, "", fmt.Errorf("omni: %s=%s exceeds the shard count %d", slurmTaskCount, n, count)
			}
		}
		return Shard{I: id + 1, N: count}, fmt.Sprintf("%s=%d of %d shards", slurmTaskID, id, count), nil
	}
	lo, err := envInt(getenv, slurmTaskMin, 0)
	if err != nil {
		return Shard{}, "", err
	}
	n, err := envInt(getenv, slurmTaskCount, 1)
	if err != nil {
		return Shard{}, "", err
	}
	step := 1
	if _, ok := lookup(getenv, slurmTaskStep); ok {
		if step, err = envInt(getenv, slurmTaskStep, 1); err != nil {
			return Shard{}, "", err
		}
	}
	if _, ok := lookup(getenv, slurmTaskMax); ok {
		hi, err := envInt(getenv, slurmTaskMax, lo)
		if err != nil {
			return Shard{}, "", err
		}
		if (hi-lo)%step != 0 || (hi-lo)/step+1 != n {
			return Shard{}, "", fmt.Errorf("omni: %s=%d does not match the range %s=%d to %s=%d in steps of %d: the array of shards must be a range such as --array=0-7", slurmTaskCount, n, slurmTaskMin, lo, slurmTaskMax, hi, step)
		}
	}
	if id < lo || (id-lo)%step != 0 || (id-lo)/step >= n {
		return Shard{}, "", fmt.Errorf("omni: %s=%d is not one of the %d tasks from %s=%d in steps of %d", slurmTaskID, id, n, slurmTaskMin, lo, step)
	}
	if n == 1 {
		return Shard{}, "", fmt.Errorf("omni: %s=1: a one-task array would score the whole pool; to rerun one task of a larger array, set %s to that array's size (its task IDs are then the shard numbers from 0)", slurmTaskCount, ShardsEnv)
	}
	desc := fmt.Sprintf("%s=%d of %s=%d", slurmTaskID, id, slurmTaskCount, n)
	if lo != 0 || step != 1 {
		desc += fmt.Sprintf(" (from %d in steps of %d)", lo, step)
	}
	return Shard{I: (id-lo)/step + 1, N: n}, desc, nil
}

// lookup returns the trimmed value of a variable and whether it is set and
// not empty (a scheduler never sets these to "").
func lookup(getenv func(string) string, name string) (string, bool) {
	v := strings.TrimSpace(getenv(name))
	return v, v != ""
}

// envInt reads an integer variable that must be set and at least lo.
func envInt(getenv func(string) string, name string, lo int) (int, error) {
	v, ok := lookup(getenv, name)
	if !ok {
		return 0, fmt.Errorf("omni: %s is not set", name)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("omni: %s=%q is not an integer", name, v)
	}
	if n < lo {
		return 0, fmt.Errorf("omni: %s=%d: want at least %d", name, n, lo)
	}
	return n, nil
}

// ShareCentroids saves c at path unless a file is already there, in which
// case it returns the centroids in that file. The shards of a run start
// together and each computes the centroids; they must all score against the
// same ones (Merge refuses shards whose centroids differ), and two
// processes, two machines' CPUs or two GPUs can round them differently.
// The first shard to finish creates the file (a hard link is created only
// if absent) and the others adopt it. On a file system without hard links
// the file is renamed into place, the last writer winning as SaveCentroids
// would; Merge then catches any disagreement.
//
// A file already there that records another model or anchor set is an
// error: the caller checks for a stale file before computing.
func ShareCentroids(path string, c *CentroidSet, model, anchor string) (*CentroidSet, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".share-*")
	if err != nil {
		return nil, fmt.Errorf("omni: save centroids: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := SaveCentroids(tmp.Name(), c, model, anchor); err != nil {
		return nil, err
	}
	err = os.Link(tmp.Name(), path)
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, fs.ErrExist):
		theirs, m, a, err := LoadCentroids(path)
		if err != nil {
			return nil, err
		}
		if m != model || a != anchor {
			return nil, fmt.Errorf("omni: %s holds centroids of model %q and anchor %q, not of %q and %q", path, m, a, model, anchor)
		}
		return theirs, nil
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("omni: save centroids: %w", err)
	}
	return c, nil
}
