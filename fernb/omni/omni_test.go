package omni

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb"
)

func TestCentroidsAndSimilarities(t *testing.T) {
	f := Features{Data: []float32{1, 0, 3, 0, 0, 2, 5, 5}, N: 4, Dim: 2}
	c, err := Centroids(f, []fernb.Label{fernb.Sad, fernb.Sad, fernb.Angry, fernb.Unlabelled})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Classes, []fernb.Label{fernb.Angry, fernb.Sad}) || !reflect.DeepEqual(c.Counts, []int{1, 2}) {
		t.Fatalf("classes %v counts %v", c.Classes, c.Counts)
	}
	if !reflect.DeepEqual(c.Vectors, [][]float32{{0, 2}, {2, 0}}) {
		t.Fatalf("centroids %v, want [[0 2] [2 0]]", c.Vectors)
	}
	s := c.Similarities([]float32{1, 1}, nil)
	if math.Abs(float64(s[0])-math.Sqrt(0.5)) > 1e-6 || math.Abs(float64(s[1])-math.Sqrt(0.5)) > 1e-6 {
		t.Fatalf("similarities of (1,1): %v, want both 1/sqrt(2)", s)
	}
	s = c.Similarities([]float32{0, -3}, s)
	if s[0] != -1 || s[1] != 0 {
		t.Fatalf("similarities of (0,-3): %v, want [-1 0]", s)
	}
	if s := c.Similarities([]float32{0, 0}, nil); s[0] != 0 || s[1] != 0 {
		t.Fatalf("zero vector: %v, want zeros", s)
	}
	if _, err := Centroids(f, []fernb.Label{0, 0, 0, 0}); !errors.Is(err, ErrTooFewClasses) {
		t.Fatalf("one class: err %v, want ErrTooFewClasses", err)
	}
	if _, err := Centroids(f, []fernb.Label{0}); err == nil {
		t.Fatal("label count mismatch accepted")
	}
}

func TestCosineMarginRule(t *testing.T) {
	cols := Columns{Sims: []fernb.Label{fernb.Angry, fernb.Happy, fernb.Sad}}
	s := &Score{Sims: []float32{0.5, 0.75, -0.25}}
	for _, tc := range []struct {
		m    float64
		keep bool
	}{{0, true}, {0.25, true}, {0.2500001, false}, {1, false}} {
		d := Rule{Kind: Cosine, Margin: tc.m}.Decide(s, cols)
		if d.Label != fernb.Happy || d.Margin != 0.25 || d.Sim != 0.75 || d.Selected != tc.keep {
			t.Errorf("margin %g: %+v, want happy, margin 0.25, sim 0.75, selected %v", tc.m, d, tc.keep)
		}
	}
}

func TestSoftmaxRule(t *testing.T) {
	cols := Columns{Sims: []fernb.Label{fernb.Angry, fernb.Happy}, Probs: []fernb.Label{fernb.Angry, fernb.Happy, fernb.Sad}}
	scores := []Score{
		{Index: 0, Sims: []float32{0.9, 0.1}, Probs: []float32{0.1, 0.2, 0.7}},   // softmax: sad 0.7; cosine: angry
		{Index: 1, Sims: []float32{0.2, 0.3}, Probs: []float32{0.05, 0.9, 0.05}}, // happy 0.9
		{Index: 2, Sims: []float32{0.5, 0.4}, Probs: []float32{0.5, 0.4, 0.1}},   // angry 0.5
		{Index: 3, Sims: []float32{0.1, 0.6}, Probs: []float32{0.1, 0.8, 0.1}},   // happy 0.8
	}
	got, err := Select(scores, cols, Selection{Rule: Rule{Kind: Softmax, Threshold: 0.7}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		idx   int64
		label fernb.Label
		prob  float32
	}{{0, fernb.Sad, 0.7}, {1, fernb.Happy, 0.9}, {3, fernb.Happy, 0.8}}
	if len(got) != len(want) {
		t.Fatalf("kept %d, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Index != w.idx || got[i].Label != w.label || got[i].Prob != w.prob {
			t.Errorf("entry %d: %+v, want index %d %s p=%g", i, got[i], w.idx, w.label, w.prob)
		}
	}
	// Sad has no centroid: its similarity is 0; happy's is its centroid's.
	if got[0].Sim != 0 || got[1].Sim != 0.3 {
		t.Errorf("sims to own centroid: %g %g, want 0 0.3", got[0].Sim, got[1].Sim)
	}
	// Ranked by probability within a class.
	RankByConfidence(got, Softmax)
	if got[0].Index != 1 || got[1].Index != 3 || got[2].Index != 0 {
		t.Errorf("ranked order %d %d %d, want 1 3 0 (happy by p, then sad)", got[0].Index, got[1].Index, got[2].Index)
	}
	// Cap 1 keeps the most probable happy.
	capped, _ := Select(scores, cols, Selection{Rule: Rule{Kind: Softmax, Threshold: 0.7}, Cap: 1})
	if len(capped) != 2 || capped[0].Index != 0 || capped[1].Index != 1 {
		t.Errorf("cap 1: %+v, want indices 0 (sad) and 1 (best happy)", capped)
	}
	if _, err := Select(scores, cols, Selection{Rule: Rule{Kind: Softmax, Threshold: 1.5}}); err == nil {
		t.Error("threshold 1.5 accepted")
	}
}

// The paper's claim, on data where it must hold: the further a pool image is
// from the second-nearest centroid compared with the nearest, the likelier
// its pseudo-label is right, so precision rises with the margin while the
// number kept falls.
func TestCosinePrecisionRisesWithMargin(t *testing.T) {
	c := newClusters(5, 16, 2.2, 7)
	e := &fakeEmbedder{c: c, scale: 4}
	cent, err := anchorCentroids(c, e, 40)
	if err != nil {
		t.Fatal(err)
	}
	n := 3000
	x := make([]float32, n*c.Dim)
	truth := make([]fernb.Label, n)
	for i := range n {
		truth[i] = c.sample(2, int64(i), x[i*c.Dim:(i+1)*c.Dim])
	}
	f, p, err := Extract(context.Background(), e, x, n, 100)
	if err != nil {
		t.Fatal(err)
	}
	scores, err := ScoreFeatures(cent, f, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range scores {
		scores[i].Truth = truth[i].String()
	}
	margins := []float64{0, 0.05, 0.1, 0.15, 0.2, 0.3}
	rep := QualityOf(scores, Columns{Sims: cent.Classes, Probs: e.ProbClasses()}, ReportConfig{Margins: margins})
	var buf bytes.Buffer
	rep.WriteText(&buf)
	t.Logf("\n%s", buf.String())
	if rep.Cosine[0].Selected != int64(n) {
		t.Fatalf("margin 0 kept %d of %d; it must keep every image", rep.Cosine[0].Selected, n)
	}
	first, last := rep.Cosine[0], rep.Cosine[len(margins)-1]
	if first.Precision > 0.85 {
		t.Fatalf("fixture too easy: precision %.3f at margin 0", first.Precision)
	}
	if last.Precision < first.Precision+0.1 {
		t.Errorf("precision at margin %.2f is %.3f, at 0 %.3f: want a rise of at least 0.1", last.Param, last.Precision, first.Precision)
	}
	for i := 1; i < len(rep.Cosine); i++ {
		a, b := rep.Cosine[i-1], rep.Cosine[i]
		if b.Precision < a.Precision {
			t.Errorf("precision falls from %.4f (m=%.2f) to %.4f (m=%.2f)", a.Precision, a.Param, b.Precision, b.Param)
		}
		if b.Selected > a.Selected {
			t.Errorf("kept count rises from %d to %d with the margin", a.Selected, b.Selected)
		}
	}
	if last.Selected < 100 {
		t.Errorf("margin %.2f keeps only %d images; fixture too hard to say anything", last.Param, last.Selected)
	}
	// The softmax sweep is computed on the same scores.
	if len(rep.Softmax) == 0 || rep.Softmax[0].Selected == 0 {
		t.Errorf("no softmax sweep: %+v", rep.Softmax)
	}
}

func testRunConfig(c *clusters, e Embedder, t testing.TB, out string) RunConfig {
	cent, err := anchorCentroids(c, e, 30)
	if err != nil {
		t.Fatal(err)
	}
	return RunConfig{
		ScoreConfig: ScoreConfig{Centroids: cent, Model: "fake-identity", Anchor: "generated:anchor", BatchSize: 16, CheckpointEvery: 3},
		Selection:   Selection{Rule: Rule{Kind: Cosine, Margin: 0.1}},
		Out:         out,
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A run cancelled half-way, and also a run "killed" between checkpoints
// (rows on disk past its last committed state), resume to the same bytes as
// an uninterrupted run, without scoring an image twice in the graceful case.
func TestResumeAfterCancelIsIdentical(t *testing.T) {
	c := newClusters(4, 8, 1.5, 3)
	const n = 1000
	corrupt := map[int64]bool{17: true, 500: true}
	dir := t.TempDir()

	ref := &fakeEmbedder{c: c, scale: 4}
	cfg := testRunConfig(c, ref, t, filepath.Join(dir, "ref", "vas.jsonl"))
	os.MkdirAll(filepath.Dir(cfg.Out), 0o755)
	h, err := Run(context.Background(), c.pool(n, corrupt), ref, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h.Scored != n-2 || h.Corrupt != 2 {
		t.Fatalf("scored %d corrupt %d, want %d and 2", h.Scored, h.Corrupt, n-2)
	}
	wantManifest, wantScores := readFile(t, cfg.Out), readFile(t, ScoresPath(cfg.Out))

	// Cancelled after 30 of 63 batches.
	ctx, cancel := context.WithCancel(context.Background())
	e := &fakeEmbedder{c: c, scale: 4, cancelAt: 30, cancel: cancel}
	cfg.Out = filepath.Join(dir, "cut", "vas.jsonl")
	os.MkdirAll(filepath.Dir(cfg.Out), 0o755)
	var snapshot []byte // a state file from an earlier checkpoint
	cfg.Progress = func(p ScoreProgress) {
		if snapshot == nil && p.Consumed >= 16*12 {
			snapshot, _ = os.ReadFile(statePath(ScoresPath(cfg.Out)))
		}
	}
	_, err = Run(ctx, c.pool(n, corrupt), e, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: err %v, want context.Canceled", err)
	}
	if _, err := os.Stat(cfg.Out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a cancelled run left a manifest at %s (err %v)", cfg.Out, err)
	}
	st, err := ScoreStatus(ScoresPath(cfg.Out))
	if err != nil || st.Done || st.Consumed == 0 || st.Consumed >= n {
		t.Fatalf("state after cancel: %+v, %v; want part-way", st, err)
	}
	firstImages := e.images.Load()
	cfg.Progress = nil

	e2 := &fakeEmbedder{c: c, scale: 4}
	if _, err := Run(context.Background(), c.pool(n, corrupt), e2, cfg); err != nil {
		t.Fatal(err)
	}
	if got := firstImages + e2.images.Load(); got != n-2 {
		t.Errorf("the two runs embedded %d images in all, want %d (none twice)", got, n-2)
	}
	if !bytes.Equal(readFile(t, cfg.Out), wantManifest) {
		t.Error("resumed manifest differs from the uninterrupted one")
	}
	if !bytes.Equal(readFile(t, ScoresPath(cfg.Out)), wantScores) {
		t.Error("resumed scores file differs from the uninterrupted one")
	}

	// A kill: the scores file holds rows the last state does not cover,
	// plus a torn line. Roll the state back to the earlier checkpoint.
	if snapshot == nil {
		t.Fatal("no earlier checkpoint seen")
	}
	cfg.Out = filepath.Join(dir, "kill", "vas.jsonl")
	os.MkdirAll(filepath.Dir(cfg.Out), 0o755)
	ctx, cancel = context.WithCancel(context.Background())
	e3 := &fakeEmbedder{c: c, scale: 4, cancelAt: 40, cancel: cancel}
	if _, err := Run(ctx, c.pool(n, corrupt), e3, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	scores := ScoresPath(cfg.Out)
	os.WriteFile(statePath(scores), snapshot, 0o644)
	fh, _ := os.OpenFile(scores, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString(`{"index":99999,"ref":"torn`)
	fh.Close()
	e4 := &fakeEmbedder{c: c, scale: 4}
	if _, err := Run(context.Background(), c.pool(n, corrupt), e4, cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, cfg.Out), wantManifest) || !bytes.Equal(readFile(t, scores), wantScores) {
		t.Error("after a simulated kill, the resumed run differs from the uninterrupted one")
	}
	// Running a finished run again does no work and changes nothing.
	e5 := &fakeEmbedder{c: c, scale: 4}
	if _, err := Run(context.Background(), c.pool(n, corrupt), e5, cfg); err != nil || e5.images.Load() != 0 {
		t.Errorf("rerun of a finished run: err %v, embedded %d", err, e5.images.Load())
	}
	// A resume against other centroids is refused.
	cfg2 := cfg
	cent2 := *cfg.Centroids
	cent2.Vectors = slices.Clone(cent2.Vectors)
	cent2.Vectors[0] = make([]float32, c.Dim)
	cent2.Vectors[0][0] = 1
	cent2.norms = nil
	cfg2.Centroids = &cent2
	if _, err := Run(context.Background(), c.pool(n, corrupt), e5, cfg2); err == nil || !strings.Contains(err.Error(), "another run") {
		t.Errorf("resume with other centroids: err %v, want a refusal", err)
	}
}

// The shards of a pool, merged, give the same bytes as one unsharded run,
// with the cap applied over the whole pool at merge time.
func TestShardMergeEqualsUnsharded(t *testing.T) {
	c := newClusters(4, 8, 1.5, 5)
	const n = 700
	dir := t.TempDir()
	e := &fakeEmbedder{c: c, scale: 4}
	cfg := testRunConfig(c, e, t, filepath.Join(dir, "whole.jsonl"))
	cfg.Selection.Cap = 40
	if _, err := Run(context.Background(), c.pool(n, nil), e, cfg); err != nil {
		t.Fatal(err)
	}
	want := readFile(t, cfg.Out)

	cfg.Out = filepath.Join(dir, "vas.jsonl")
	var shards []string
	for i := 1; i <= 3; i++ {
		cfg.Shard = Shard{I: i, N: 3}
		h, err := Run(context.Background(), c.pool(n, nil), e, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if h.Shard != cfg.Shard.String() {
			t.Fatalf("shard header %q", h.Shard)
		}
		shards = append(shards, ShardPath(cfg.Out, cfg.Shard))
	}
	if shards[1] != filepath.Join(dir, "vas.shard-2-of-3.jsonl") {
		t.Fatalf("shard path %s", shards[1])
	}
	if c1, c2 := CentroidsPath(shards[1]), CentroidsPath(cfg.Out); c1 != c2 || c1 != filepath.Join(dir, "vas.centroids.json") {
		t.Errorf("centroid paths %s, %s", c1, c2)
	}
	h, err := Merge(cfg.Out, []string{shards[2], shards[0], shards[1]})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, cfg.Out); !bytes.Equal(got, want) {
		t.Errorf("merged manifest differs from the unsharded one:\n%.400s\nvs\n%.400s", got, want)
	}
	if h.Scored != n {
		t.Errorf("merged header scored %d, want %d", h.Scored, n)
	}
	for l, k := range h.Counts {
		if k > 40 {
			t.Errorf("class %s has %d > cap 40", l, k)
		}
	}
	if _, err := Merge(filepath.Join(dir, "bad.jsonl"), shards[:2]); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("merge with a shard missing: %v", err)
	}
	if _, err := Merge(filepath.Join(dir, "bad.jsonl"), []string{shards[0], shards[0], shards[1]}); err == nil {
		t.Error("merge with a duplicate shard accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Error("failed merges left a manifest")
	}
}

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.jsonl")
	h := Header{Model: "ckpt/fer-cnn", Anchor: "fer2013:train", Pool: "pool:/data/utk.tar", Classes: []string{"angry", "happy"},
		ProbClasses: []string{"angry", "happy", "sad"}, Centroids: "abc", FeatureDim: 2, Scored: 10, Corrupt: 1,
		Selection: &Selection{Rule: Rule{Kind: Cosine, Margin: 0.2}, Cap: 5}}
	entries := []Entry{
		{Index: 3, Ref: "a/b c.jpg", Label: fernb.Happy, Margin: 0.25, Sim: 0.75, Prob: 0.5, Sims: []float32{0.5, 0.75}, Probs: []float32{0.25, 0.5, 0.25}, Truth: "happy"},
		{Index: 7, Ref: "rec:7", Label: fernb.Angry, Margin: 1e-7, Sim: -0.1, Sims: []float32{-0.1, -0.1000001}},
	}
	if err := WriteManifest(p, h, entries); err != nil {
		t.Fatal(err)
	}
	gh, got, err := ReadManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range entries {
		entries[i].Name = entries[i].Label.String()
	}
	if !reflect.DeepEqual(got, entries) {
		t.Errorf("entries:\n got %+v\nwant %+v", got, entries)
	}
	h.Format, h.Selected, h.Counts = ManifestFormat, 2, map[string]int64{"happy": 1, "angry": 1}
	if !reflect.DeepEqual(*gh, h) {
		t.Errorf("header:\n got %+v\nwant %+v", *gh, h)
	}
	// A bad row stops with file and line.
	b := readFile(t, p)
	lines := strings.SplitAfter(string(b), "\n")
	bad := lines[0] + lines[1] + strings.Replace(lines[2], `"angry"`, `"grumpy"`, 1)
	os.WriteFile(p, []byte(bad), 0o644)
	if _, _, err := ReadManifest(p); err == nil || !strings.Contains(err.Error(), p+":3") {
		t.Errorf("bad label: err %v, want it to name %s:3", err, p)
	}
	os.WriteFile(p, []byte(lines[0]+lines[2]+lines[1]), 0o644)
	if _, _, err := ReadManifest(p); err == nil || !strings.Contains(err.Error(), "increasing") {
		t.Errorf("out-of-order rows: err %v", err)
	}
	os.WriteFile(p, []byte(`{"format":"something-else"}`+"\n"), 0o644)
	if _, _, err := ReadManifest(p); err == nil || !strings.Contains(err.Error(), ":1") {
		t.Errorf("wrong format: err %v", err)
	}
}

// A manifest write that fails half-way leaves neither a partial file nor a
// temporary, and an existing manifest is untouched.
func TestAtomicWriteLeavesNoPartialManifest(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vas.jsonl")
	old := []byte("the previous manifest\n")
	os.WriteFile(p, old, 0o644)
	i := 0
	boom := errors.New("disk on fire")
	err := writeManifestStream(p, Header{Format: ManifestFormat}, func() (Entry, error) {
		i++
		if i == 50 {
			return Entry{}, boom
		}
		return Entry{Index: int64(i), Label: fernb.Happy, Sims: []float32{1}}, nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want the writer's error", err)
	}
	if got := readFile(t, p); !bytes.Equal(got, old) {
		t.Errorf("a failed write changed the manifest to %q", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("files left behind: %v", names)
	}
	// Same through Merge of an unreadable input.
	if _, err := Merge(filepath.Join(dir, "m.jsonl"), []string{p}); err == nil {
		t.Error("merge of a non-manifest accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "m.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Error("failed merge left a manifest")
	}
}

// The streaming selection (cap, balance) from a scores file equals the
// in-memory Select on the same scores, and the cap keeps the most confident.
func TestStreamingSelectionMatchesInMemory(t *testing.T) {
	c := newClusters(4, 8, 1.8, 11)
	const n = 500
	dir := t.TempDir()
	e := &fakeEmbedder{c: c, scale: 4}
	for _, sel := range []Selection{
		{Rule: Rule{Kind: Cosine, Margin: 0.05}},
		{Rule: Rule{Kind: Cosine, Margin: 0.05}, Cap: 25},
		{Rule: Rule{Kind: Cosine, Margin: 0.05}, Balance: true},
		{Rule: Rule{Kind: Softmax, Threshold: 0.6}, Cap: 30, Balance: true},
		{Rule: Rule{Kind: Cosine, Margin: 0.05}, Total: 37},
		{Rule: Rule{Kind: Softmax}, Cap: 30, Total: 61},
	} {
		cfg := testRunConfig(c, e, t, filepath.Join(dir, "vas.jsonl"))
		cfg.Selection = sel
		h, err := Run(context.Background(), c.pool(n, nil), e, cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := ReadManifest(cfg.Out)
		if err != nil {
			t.Fatal(err)
		}
		sh, scores, err := ReadScores(ScoresPath(cfg.Out))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := sh.Columns()
		want, err := Select(scores, cols, sel)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			want[i].Name = want[i].Label.String()
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: streamed %d entries, in memory %d; differ", sel, len(got), len(want))
		}
		if int(h.Selected) != len(got) {
			t.Errorf("%+v: header says %d selected, file has %d", sel, h.Selected, len(got))
		}
		counts := map[fernb.Label]int{}
		for _, e := range got {
			counts[e.Label]++
		}
		if sel.Cap > 0 {
			for l, k := range counts {
				if k > sel.Cap {
					t.Errorf("%+v: %s has %d", sel, l, k)
				}
			}
		}
		if sel.Balance {
			var ks []int
			for _, k := range counts {
				ks = append(ks, k)
			}
			if slices.Min(ks) != slices.Max(ks) {
				t.Errorf("%+v: unbalanced counts %v", sel, counts)
			}
		}
		if sel.Total > 0 {
			if len(got) != sel.Total {
				t.Errorf("%+v: kept %d, want exactly %d", sel, len(got), sel.Total)
			}
			// Every image the rule and cap kept but Total dropped is less
			// confident than every image kept, whatever the classes.
			capped, _ := Select(scores, cols, Selection{Rule: sel.Rule, Cap: sel.Cap})
			kept := map[int64]bool{}
			for _, e := range got {
				kept[e.Index] = true
			}
			for _, d := range capped {
				for _, k := range got {
					if !kept[d.Index] && moreConfident(sel.Kind, &d, &k) < 0 {
						t.Fatalf("%+v: dropped %d is more confident than kept %d", sel, d.Index, k.Index)
					}
				}
			}
		}
		if sel.Cap > 0 && sel.Kind == Cosine {
			// Every dropped image of a capped class is less confident than
			// every kept one.
			all, _ := Select(scores, cols, Selection{Rule: sel.Rule})
			kept := map[int64]bool{}
			minKept := map[fernb.Label]float32{}
			for _, e := range got {
				kept[e.Index] = true
				if m, ok := minKept[e.Label]; !ok || e.Margin < m {
					minKept[e.Label] = e.Margin
				}
			}
			for _, e := range all {
				if !kept[e.Index] && e.Margin > minKept[e.Label] {
					t.Errorf("dropped %d (margin %g) above kept minimum %g of %s", e.Index, e.Margin, minKept[e.Label], e.Label)
				}
			}
		}
		os.Remove(cfg.Out)
	}
}

func TestShardsPartitionThePool(t *testing.T) {
	seen := map[int64]int{}
	for i := 1; i <= 4; i++ {
		sh, err := ParseShard(strings.Repeat(" ", 0) + string(rune('0'+i)) + "/4")
		if err != nil {
			t.Fatal(err)
		}
		for k := range int64(103) {
			if sh.Holds(k) {
				seen[k]++
			}
		}
	}
	for k := range int64(103) {
		if seen[k] != 1 {
			t.Fatalf("index %d is in %d shards", k, seen[k])
		}
	}
	for _, bad := range []string{"0/4", "5/4", "1/0", "a/b", "1/4x", "1"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

func TestSmileAgreementReport(t *testing.T) {
	// Truth "happy" vs "non-smile": pseudo-label happy is right on smiles,
	// wrong on non-smiles; any other label is right on non-smiles.
	cols := Columns{Sims: []fernb.Label{fernb.Happy, fernb.Neutral}}
	scores := []Score{
		{Index: 0, Sims: []float32{0.9, 0.1}, Truth: "happy"},     // TP at m<=0.8
		{Index: 1, Sims: []float32{0.6, 0.5}, Truth: "non-smile"}, // FP at m<=0.1
		{Index: 2, Sims: []float32{0.1, 0.7}, Truth: "non-smile"}, // TN at m<=0.6
		{Index: 3, Sims: []float32{0.2, 0.5}, Truth: "happiness"}, // FN at m<=0.3
		{Index: 4, Sims: []float32{0.2, 0.5}},                     // unknown truth
	}
	r := QualityOf(scores, cols, ReportConfig{Margins: []float64{0, 0.2, 0.5}, Positive: "happy"})
	b0, b1, b2 := r.Cosine[0].Binary, r.Cosine[1].Binary, r.Cosine[2].Binary
	if *b0 != (Binary{TP: 1, FP: 1, FN: 1, TN: 1, Agreement: 0.5, Precision: 0.5, Recall: 0.5}) {
		t.Errorf("m=0: %+v", *b0)
	}
	if b1.TP != 1 || b1.FP != 0 || b1.FN != 1 || b1.TN != 1 || math.Abs(float64(b1.Agreement)-2.0/3) > 1e-9 || b1.Precision != 1 {
		t.Errorf("m=0.2: %+v", *b1)
	}
	if b2.TP != 1 || b2.TN != 1 || b2.FN != 0 || b2.Agreement != 1 {
		t.Errorf("m=0.5: %+v", *b2)
	}
	if r.Cosine[0].Selected != 5 || r.Cosine[0].Known != 4 || r.Truthful != 4 {
		t.Errorf("counts: %+v, truthful %d", r.Cosine[0], r.Truthful)
	}
	// Binary mode: neutral on a non-smile is right, neutral on a smile wrong.
	if n := r.Cosine[0].Classes[1]; n.Label != "neutral" || n.Count != 3 || n.Known != 2 || n.Correct != 1 || r.Cosine[0].Correct != 2 {
		t.Errorf("binary per-class counts: %+v (overall correct %d)", n, r.Cosine[0].Correct)
	}
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil || !strings.Contains(buf.String(), "happy-agree%") {
		t.Errorf("text report: %v\n%s", err, buf.String())
	}
	_ = io.Discard
}
