package omni

import (
	"container/heap"
	"context"
	"fmt"
	"io"

	"github.com/fernb/fernb/fernb"
)

// entryIter streams manifest rows in pool order.
type entryIter interface {
	Next() (Entry, error)
	Close() error
}

// scoresSelector turns a scores file into the entries a rule keeps.
type scoresSelector struct {
	r    *ScoresReader
	cols Columns
	sel  Selection
}

func (s *scoresSelector) Next() (Entry, error) {
	for {
		sc, err := s.r.Next()
		if err != nil {
			return Entry{}, err
		}
		if d := s.sel.Decide(&sc, s.cols); d.Selected {
			return entryOf(&sc, d), nil
		}
	}
}

func (s *scoresSelector) Close() error { return s.r.Close() }

// mergeIter merges manifests (each in pool order) into pool order.
type mergeIter struct {
	rs    []*ManifestReader
	heads []*Entry
	last  int64
}

func openMerge(paths []string) (*mergeIter, error) {
	m := &mergeIter{last: -1}
	for _, p := range paths {
		r, err := OpenManifest(p)
		if err != nil {
			m.Close()
			return nil, err
		}
		m.rs = append(m.rs, r)
		m.heads = append(m.heads, nil)
		if err := m.advance(len(m.rs) - 1); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

func (m *mergeIter) advance(i int) error {
	e, err := m.rs[i].Next()
	if err == io.EOF {
		m.heads[i] = nil
		return nil
	}
	if err != nil {
		return err
	}
	m.heads[i] = &e
	return nil
}

func (m *mergeIter) Next() (Entry, error) {
	best := -1
	for i, h := range m.heads {
		if h != nil && (best < 0 || h.Index < m.heads[best].Index) {
			best = i
		}
	}
	if best < 0 {
		return Entry{}, io.EOF
	}
	e := *m.heads[best]
	if e.Index == m.last {
		return Entry{}, fmt.Errorf("omni: merge: pool index %d (%s) appears in two inputs; were the shards of different splits?", e.Index, e.Ref)
	}
	m.last = e.Index
	if err := m.advance(best); err != nil {
		return Entry{}, err
	}
	return e, nil
}

func (m *mergeIter) Close() error {
	for _, r := range m.rs {
		r.Close()
	}
	return nil
}

// leastFirst is a heap of one class's kept entries with the least confident
// on top, so that keeping the best `target` is push, then pop when over.
type leastFirst struct {
	kind RuleKind
	es   []Entry
}

func (h *leastFirst) Len() int           { return len(h.es) }
func (h *leastFirst) Less(i, j int) bool { return moreConfident(h.kind, &h.es[i], &h.es[j]) > 0 }
func (h *leastFirst) Swap(i, j int)      { h.es[i], h.es[j] = h.es[j], h.es[i] }
func (h *leastFirst) Push(x any)         { h.es = append(h.es, x.(Entry)) }
func (h *leastFirst) Pop() any {
	e := h.es[len(h.es)-1]
	h.es = h.es[:len(h.es)-1]
	return e
}

// writeSelected writes the entries open() streams to path, applying the cap,
// balancing and total when limit is set. It reads the stream up to three times
// (counts, the best per class, the write), so memory stays at the number of
// images kept per class, never the pool's size.
func writeSelected(path string, h Header, open func() (entryIter, error), sel Selection, limit bool) (*Header, error) {
	counts := map[fernb.Label]int64{}
	if err := forEach(open, func(e *Entry) { counts[e.Label]++ }); err != nil {
		return nil, err
	}
	var keep map[int64]bool
	// No class can place more than Total images among the Total kept, so
	// Total bounds each class's heap too: with only --total set, memory is
	// classes x Total, not every selected image.
	bound := sel.perClassTarget(counts)
	if sel.Total > 0 && (bound < 0 || int64(sel.Total) < bound) {
		bound = int64(sel.Total)
	}
	if limit && bound >= 0 {
		heaps := map[fernb.Label]*leastFirst{}
		err := forEach(open, func(e *Entry) {
			hp := heaps[e.Label]
			if hp == nil {
				hp = &leastFirst{kind: sel.Kind}
				heaps[e.Label] = hp
			}
			small := *e
			small.Sims, small.Probs = nil, nil
			heap.Push(hp, small)
			if int64(hp.Len()) > bound {
				heap.Pop(hp)
			}
		})
		if err != nil {
			return nil, err
		}
		var kept []Entry
		for _, hp := range heaps {
			kept = append(kept, hp.es...)
		}
		keep = map[int64]bool{}
		clear(counts)
		for _, e := range keepMostConfident(kept, sel) {
			keep[e.Index] = true
			counts[e.Label]++
		}
	}
	h.Format = ManifestFormat
	h.Selection = &sel
	h.Selected = 0
	h.Counts = map[string]int64{}
	for l, n := range counts {
		if n > 0 {
			h.Counts[l.String()] = n
			h.Selected += n
		}
	}
	it, err := open()
	if err != nil {
		return nil, err
	}
	defer it.Close()
	err = writeManifestStream(path, h, func() (Entry, error) {
		for {
			e, err := it.Next()
			if err != nil || keep == nil || keep[e.Index] {
				return e, err
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return &h, nil
}

func forEach(open func() (entryIter, error), fn func(*Entry)) error {
	it, err := open()
	if err != nil {
		return err
	}
	defer it.Close()
	for {
		e, err := it.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fn(&e)
	}
}

// SelectScores applies sel to the finished scores file scoresPath and
// writes the manifest out atomically. For a shard's scores the cap and
// balancing are recorded but not applied: they need every shard, so Merge
// applies them.
func SelectScores(scoresPath, out string, sel Selection) (*Header, error) {
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	st, err := readState(statePath(scoresPath))
	if err != nil {
		return nil, fmt.Errorf("omni: select from %s: %w", scoresPath, err)
	}
	if !st.Done {
		return nil, fmt.Errorf("omni: scoring into %s has not finished (%d images so far); run it again to resume", scoresPath, st.Consumed)
	}
	r, err := OpenScores(scoresPath)
	if err != nil {
		return nil, err
	}
	h := r.Header
	r.Close()
	cols, err := h.Columns()
	if err != nil {
		return nil, fmt.Errorf("omni: %s:1: %w", scoresPath, err)
	}
	if sel.Kind == Softmax && len(cols.Probs) == 0 {
		return nil, fmt.Errorf("omni: %s holds no softmax probabilities (the model has no classifier); use the cosine rule", scoresPath)
	}
	h.Scored, h.Corrupt = st.Scored, st.Corrupt
	open := func() (entryIter, error) {
		r, err := OpenScores(scoresPath)
		if err != nil {
			return nil, err
		}
		return &scoresSelector{r: r, cols: cols, sel: sel}, nil
	}
	return writeSelected(out, h, open, sel, h.Shard == "")
}

// Merge joins the manifests of all n shards of one run into one manifest at
// out (atomically), applying the run's cap and balancing over the whole
// pool. It checks that the inputs come from the same model, centroids, pool
// and rule, and that every shard 1..n is there exactly once. With an
// embedder whose rows do not depend on the rest of the batch, the result is
// byte-identical to an unsharded run.
func Merge(out string, inputs []string) (*Header, error) {
	if len(inputs) == 0 {
		return nil, fmt.Errorf("omni: merge into %s: no shard manifests given", out)
	}
	var merged Header
	seen := map[int]string{}
	n := 0
	for k, p := range inputs {
		r, err := OpenManifest(p)
		if err != nil {
			return nil, err
		}
		h := r.Header
		r.Close()
		sh, err := ParseShard(h.Shard)
		if err != nil || sh.Whole() {
			return nil, fmt.Errorf("omni: merge: %s is not a shard manifest (shard %q)", p, h.Shard)
		}
		if k == 0 {
			merged, n = h, sh.N
			merged.Scored, merged.Corrupt = 0, 0
		} else if err := sameRun(&merged, &h); err != nil {
			return nil, fmt.Errorf("omni: merge: %s and %s: %w", inputs[0], p, err)
		}
		if sh.N != n {
			return nil, fmt.Errorf("omni: merge: %s is shard %s, %s is of %d shards", p, h.Shard, inputs[0], n)
		}
		if prev, ok := seen[sh.I]; ok {
			return nil, fmt.Errorf("omni: merge: %s and %s are both shard %s", prev, p, h.Shard)
		}
		seen[sh.I] = p
		merged.Scored += h.Scored
		merged.Corrupt += h.Corrupt
	}
	for i := 1; i <= n; i++ {
		if _, ok := seen[i]; !ok {
			return nil, fmt.Errorf("omni: merge into %s: shard %d/%d is missing", out, i, n)
		}
	}
	if merged.Selection == nil {
		return nil, fmt.Errorf("omni: merge: %s records no selection rule", inputs[0])
	}
	merged.Shard = ""
	open := func() (entryIter, error) { return openMerge(inputs) }
	return writeSelected(out, merged, open, *merged.Selection, true)
}

func sameRun(a, b *Header) error {
	switch {
	case a.Model != b.Model:
		return fmt.Errorf("models differ (%q, %q)", a.Model, b.Model)
	case a.Pool != b.Pool:
		return fmt.Errorf("pools differ (%q, %q)", a.Pool, b.Pool)
	case a.Centroids != b.Centroids:
		return fmt.Errorf("centroids differ (%s, %s)", a.Centroids, b.Centroids)
	case a.Selection == nil || b.Selection == nil || *a.Selection != *b.Selection:
		return fmt.Errorf("selection rules differ (%+v, %+v)", a.Selection, b.Selection)
	case fmt.Sprint(a.Classes, a.ProbClasses) != fmt.Sprint(b.Classes, b.ProbClasses):
		return fmt.Errorf("class columns differ")
	}
	return nil
}

// RunConfig configures Run.
type RunConfig struct {
	ScoreConfig
	Selection Selection
	// Out is the manifest of the whole pool; a shard writes
	// ShardPath(Out, Shard) and `Merge` joins the shards into Out.
	Out string
	// Scores is the scores file (default: ScoresPath of the manifest). The
	// scores depend on the model and pool only, so runs of several rules
	// over one pool can share one file and embed the pool once.
	Scores string
}

// Run scores cfg.Shard of the pool (resuming an interrupted run) and writes
// its manifest. It returns the manifest's header.
func Run(ctx context.Context, pool Pool, emb Embedder, cfg RunConfig) (*Header, error) {
	if err := cfg.Selection.Validate(); err != nil {
		return nil, err
	}
	if cfg.Shard == (Shard{}) {
		cfg.Shard = Shard{I: 1, N: 1}
	}
	manifest := ShardPath(cfg.Out, cfg.Shard)
	scores := cfg.Scores
	if scores == "" {
		scores = ScoresPath(manifest)
	}
	if _, err := ScorePool(ctx, pool, emb, scores, cfg.ScoreConfig); err != nil {
		return nil, err
	}
	return SelectScores(scores, manifest, cfg.Selection)
}
