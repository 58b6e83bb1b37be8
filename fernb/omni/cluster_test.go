package omni

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// envOf is a getenv over a fixed set of variables.
func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// slurmEnv is what Slurm sets in task id of an array min..max:step (plus
// the job id every job has).
func slurmEnv(id, lo, hi, step int, extra ...string) func(string) string {
	count := (hi-lo)/step + 1
	itoa := strconv.Itoa
	return envOf(append([]string{
		"SLURM_JOB_ID", "4242", "SLURM_ARRAY_JOB_ID", "4240",
		"SLURM_ARRAY_TASK_ID", itoa(id), "SLURM_ARRAY_TASK_MIN", itoa(lo), "SLURM_ARRAY_TASK_MAX", itoa(hi),
		"SLURM_ARRAY_TASK_STEP", itoa(step), "SLURM_ARRAY_TASK_COUNT", itoa(count),
	}, extra...)...)
}

func TestShardFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   func(string) string
		count int
		want  Shard
	}{
		{"slurm 0-7 first", slurmEnv(0, 0, 7, 1), 0, Shard{1, 8}},
		{"slurm 0-7 last", slurmEnv(7, 0, 7, 1), 0, Shard{8, 8}},
		{"slurm 1-8", slurmEnv(3, 1, 8, 1), 0, Shard{3, 8}},
		{"slurm 1-5:2", slurmEnv(5, 1, 5, 2), 0, Shard{3, 3}},
		{"slurm without max and step", envOf("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_COUNT", "4"), 0, Shard{3, 4}},
		{"slurm rerun of one task with a count", slurmEnv(3, 3, 3, 1), 8, Shard{4, 8}},
		{"slurm rerun with FERNB_SHARDS", slurmEnv(3, 3, 5, 2, "FERNB_SHARDS", "8"), 0, Shard{4, 8}},
		{"slurm full array with a count", slurmEnv(6, 0, 7, 1), 8, Shard{7, 8}},
		{"kubernetes with a count", envOf("JOB_COMPLETION_INDEX", "0"), 3, Shard{1, 3}},
		{"kubernetes with FERNB_SHARDS", envOf("JOB_COMPLETION_INDEX", "2", "FERNB_SHARDS", " 3 "), 0, Shard{3, 3}},
		{"kubernetes count and variable agree", envOf("JOB_COMPLETION_INDEX", "1", "FERNB_SHARDS", "3"), 3, Shard{2, 3}},
	} {
		got, desc, err := ShardFromEnv(tc.env, tc.count)
		if err != nil || got != tc.want || desc == "" {
			t.Errorf("%s: %v %q %v, want %v", tc.name, got, desc, err, tc.want)
		}
		if sh, _, err := ResolveShard("auto", tc.count, tc.env); err != nil || sh != got {
			t.Errorf("%s: ResolveShard(auto) = %v %v, want %v", tc.name, sh, err, got)
		}
	}
}

// Every task of an array gets a different shard, and together they are
// all shards of the array's count.
func TestSlurmArrayCoversAllShards(t *testing.T) {
	for _, arr := range [][3]int{{0, 7, 1}, {1, 8, 1}, {0, 14, 2}, {5, 17, 3}} {
		seen := map[Shard]bool{}
		n := (arr[1]-arr[0])/arr[2] + 1
		for id := arr[0]; id <= arr[1]; id += arr[2] {
			sh, _, err := ShardFromEnv(slurmEnv(id, arr[0], arr[1], arr[2]), 0)
			if err != nil || sh.N != n || seen[sh] {
				t.Fatalf("array %v task %d: %v %v (seen before: %v)", arr, id, sh, err, seen[sh])
			}
			seen[sh] = true
		}
		if len(seen) != n {
			t.Errorf("array %v: %d shards, want %d", arr, len(seen), n)
		}
	}
}

// A missing, malformed or inconsistent variable is an error that names it.
func TestShardFromEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   func(string) string
		count int
		want  []string // substrings of the error
	}{
		{"nothing", envOf(), 0, []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"}},
		{"slurm job, not an array", envOf("SLURM_JOB_ID", "7"), 0, []string{"SLURM_ARRAY_TASK_ID is not", "--array"}},
		{"slurm without min", envOf("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "4"), 0, []string{"SLURM_ARRAY_TASK_MIN is not set"}},
		{"slurm without count", envOf("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_MIN", "0"), 0, []string{"SLURM_ARRAY_TASK_COUNT is not set"}},
		{"slurm id not a number", envOf("SLURM_ARRAY_TASK_ID", "2a", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_COUNT", "4"), 0, []string{`SLURM_ARRAY_TASK_ID="2a"`}},
		{"slurm list array", envOf("SLURM_ARRAY_TASK_ID", "9", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_MAX", "9", "SLURM_ARRAY_TASK_STEP", "1", "SLURM_ARRAY_TASK_COUNT", "3"), 0, []string{"SLURM_ARRAY_TASK_COUNT=3", "SLURM_ARRAY_TASK_MAX=9"}},
		{"slurm id below min", envOf("SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_COUNT", "4"), 0, []string{"SLURM_ARRAY_TASK_ID=0"}},
		{"slurm id past count", envOf("SLURM_ARRAY_TASK_ID", "4", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_COUNT", "4"), 0, []string{"SLURM_ARRAY_TASK_ID=4"}},
		{"slurm id off step", slurmEnv(3, 0, 6, 2), 0, []string{"SLURM_ARRAY_TASK_ID=3", "steps of 2"}},
		{"slurm one-task array", slurmEnv(3, 3, 3, 1), 0, []string{"SLURM_ARRAY_TASK_COUNT=1", "FERNB_SHARDS"}},
		{"slurm id past a count", slurmEnv(8, 1, 8, 1), 8, []string{"SLURM_ARRAY_TASK_ID=8", "--array=0-7"}},
		{"slurm array larger than a count", slurmEnv(1, 0, 7, 1), 4, []string{"SLURM_ARRAY_TASK_COUNT=8"}},
		{"kubernetes without a count", envOf("JOB_COMPLETION_INDEX", "1"), 0, []string{"FERNB_SHARDS", "completions"}},
		{"kubernetes index past count", envOf("JOB_COMPLETION_INDEX", "3", "FERNB_SHARDS", "3"), 0, []string{"JOB_COMPLETION_INDEX=3", "completions"}},
		{"kubernetes negative index", envOf("JOB_COMPLETION_INDEX", "-1", "FERNB_SHARDS", "3"), 0, []string{"JOB_COMPLETION_INDEX=-1"}},
		{"bad FERNB_SHARDS", envOf("JOB_COMPLETION_INDEX", "1", "FERNB_SHARDS", "three"), 0, []string{`FERNB_SHARDS="three"`}},
		{"zero FERNB_SHARDS", envOf("JOB_COMPLETION_INDEX", "0", "FERNB_SHARDS", "0"), 0, []string{`FERNB_SHARDS="0"`}},
		{"count and variable disagree", envOf("JOB_COMPLETION_INDEX", "1", "FERNB_SHARDS", "3"), 4, []string{"4", "FERNB_SHARDS=3", "disagree"}},
		{"both schedulers", envOf("JOB_COMPLETION_INDEX", "1", "SLURM_ARRAY_TASK_ID", "1"), 3, []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"}},
	} {
		sh, _, err := ShardFromEnv(tc.env, tc.count)
		if err == nil {
			t.Errorf("%s: shard %v, want an error", tc.name, sh)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
}

func TestResolveShardExplicit(t *testing.T) {
	env := envOf("JOB_COMPLETION_INDEX", "1", "FERNB_SHARDS", "3") // ignored without auto
	if sh, desc, err := ResolveShard("2/4", 0, env); err != nil || sh != (Shard{2, 4}) || desc != "" {
		t.Errorf("ResolveShard(2/4) = %v %q %v", sh, desc, err)
	}
	if sh, _, err := ResolveShard("", 0, env); err != nil || !sh.Whole() {
		t.Errorf("ResolveShard(\"\") = %v %v, want the whole pool", sh, err)
	}
	if _, _, err := ResolveShard("2/4", 4, env); err == nil || !strings.Contains(err.Error(), "auto") {
		t.Errorf("ResolveShard(2/4) with a count: %v, want a refusal naming auto", err)
	}
}

// The first shard to save the centroids wins; later ones get the file's.
func TestShareCentroids(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vas.centroids.json")
	c := newClusters(3, 4, 0.1, 1)
	mine, err := anchorCentroids(c, &fakeEmbedder{c: c}, 5)
	if err != nil {
		t.Fatal(err)
	}
	other, err := anchorCentroids(newClusters(3, 4, 0.1, 2), &fakeEmbedder{c: newClusters(3, 4, 0.1, 2)}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if mine.Fingerprint() == other.Fingerprint() {
		t.Fatal("the two centroid sets of the test are equal")
	}
	got, err := ShareCentroids(path, mine, "m", "a")
	if err != nil || got.Fingerprint() != mine.Fingerprint() {
		t.Fatalf("first save: %v %v", got, err)
	}
	got, err = ShareCentroids(path, other, "m", "a")
	if err != nil || got.Fingerprint() != mine.Fingerprint() {
		t.Fatalf("second save returned %v (%v), want the first shard's centroids", got, err)
	}
	saved, m, a, err := LoadCentroids(path)
	if err != nil || m != "m" || a != "a" || !reflect.DeepEqual(saved.Vectors, mine.Vectors) {
		t.Errorf("file holds %v %q %q (%v), want the first shard's", saved, m, a, err)
	}
	if _, err := ShareCentroids(path, other, "another-model", "a"); err == nil || !strings.Contains(err.Error(), "another-model") {
		t.Errorf("a file of another model: %v, want an error naming it", err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("centroids file mode %v (%v), want 0644", fi.Mode(), err)
	}
}
