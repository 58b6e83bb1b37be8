package omni

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/fernb/fernb/fernb"
)

// RuleKind names a pseudo-labelling rule.
type RuleKind string

const (
	// Cosine is the paper's rule: label k^ = argmax_k s_k, kept when
	// s_k^ >= s_k + Margin for every other class k.
	Cosine RuleKind = "cosine"
	// Softmax is the baseline the paper argues against: label = argmax_k
	// p_k of the classifier, kept when p_k^ >= Threshold.
	Softmax RuleKind = "softmax"
)

// Rule is a pseudo-labelling rule with its parameter.
type Rule struct {
	Kind      RuleKind `json:"rule"`
	Margin    float64  `json:"margin"`
	Threshold float64  `json:"threshold,omitempty"`
}

// Validate checks the rule's kind and parameter range.
func (r Rule) Validate() error {
	switch r.Kind {
	case Cosine:
		if r.Margin < 0 || r.Margin > 2 {
			return fmt.Errorf("omni: cosine margin %g out of range [0, 2] (cosine similarities lie in [-1, 1])", r.Margin)
		}
	case Softmax:
		if r.Threshold < 0 || r.Threshold > 1 {
			return fmt.Errorf("omni: softmax threshold %g out of range [0, 1]", r.Threshold)
		}
	default:
		return fmt.Errorf("omni: unknown rule %q (want %q or %q)", r.Kind, Cosine, Softmax)
	}
	return nil
}

func (r Rule) String() string {
	if r.Kind == Softmax {
		return fmt.Sprintf("softmax(p>=%g)", r.Threshold)
	}
	return fmt.Sprintf("cosine(m=%g)", r.Margin)
}

// Score is everything omni keeps about one scored pool image: its stable
// reference, its cosine similarity to every centroid and, when the model has
// a classifier, its softmax probabilities. Scores do not depend on the rule,
// so one scoring pass serves any margin or threshold.
type Score struct {
	// Index is the image's position in the pool (its RecordIO index, or its
	// rank in the pool's sorted listing); shards and resumes key on it.
	Index int64 `json:"index"`
	// Ref is the image's stable reference (path inside the pool, "rec:N").
	Ref string `json:"ref"`
	// Truth is a label the rule never sees (a labelled set used as a pool,
	// SMILEsmileD's smile folders); "" when unknown. Only quality reports
	// read it.
	Truth string    `json:"truth,omitempty"`
	Sims  []float32 `json:"sims"`
	Probs []float32 `json:"probs,omitempty"`
}

// Columns names the columns of Score.Sims (the centroid classes) and
// Score.Probs (the model's classes).
type Columns struct {
	Sims  []fernb.Label
	Probs []fernb.Label
}

// Decision is what a rule makes of one Score.
type Decision struct {
	// Label is the candidate class: the nearest centroid (cosine) or the
	// most probable class (softmax).
	Label fernb.Label
	// Margin is s_best - s_second over the centroid similarities (for either
	// rule, so that softmax selections can be compared on it).
	Margin float32
	// Sim is the similarity to Label's centroid (0 if it has none).
	Sim float32
	// Prob is the probability of Label when the model has a classifier.
	Prob float32
	// Selected reports whether the rule keeps the image.
	Selected bool
}

// cosineArgs returns the best and second-best similarity columns.
func cosineArgs(sims []float32) (best int, margin float32) {
	best = 0
	for j, s := range sims {
		if s > sims[best] {
			best = j
		}
	}
	second := float32(-2)
	for j, s := range sims {
		if j != best && s > second {
			second = s
		}
	}
	return best, sims[best] - second
}

// Decide applies r to s. Under the cosine rule an image is kept when its
// nearest centroid beats every other one by at least r.Margin in cosine
// similarity, i.e. d_best <= d_k - m for the cosine distance d = 1 - s.
func (r Rule) Decide(s *Score, cols Columns) Decision {
	best, margin := cosineArgs(s.Sims)
	d := Decision{Margin: margin}
	switch r.Kind {
	case Softmax:
		if len(s.Probs) == 0 {
			return Decision{Label: fernb.Unlabelled, Margin: margin}
		}
		p := 0
		for j, v := range s.Probs {
			if v > s.Probs[p] {
				p = j
			}
		}
		d.Label = cols.Probs[p]
		d.Prob = s.Probs[p]
		if j := slices.Index(cols.Sims, d.Label); j >= 0 {
			d.Sim = s.Sims[j]
		}
		d.Selected = d.Prob >= float32(r.Threshold)
	default:
		d.Label = cols.Sims[best]
		d.Sim = s.Sims[best]
		if len(s.Probs) > 0 {
			if j := slices.Index(cols.Probs, d.Label); j >= 0 {
				d.Prob = s.Probs[j]
			}
		}
		d.Selected = margin >= float32(r.Margin)
	}
	return d
}

// Entry is one selected pool image: a row of the manifest (the VAS).
type Entry struct {
	Index  int64       `json:"index"`
	Ref    string      `json:"ref"`
	Label  fernb.Label `json:"-"`
	Name   string      `json:"label"`
	Margin float32     `json:"margin"`
	Sim    float32     `json:"sim"`
	Prob   float32     `json:"prob,omitempty"`
	Sims   []float32   `json:"sims"`
	Probs  []float32   `json:"probs,omitempty"`
	Truth  string      `json:"truth,omitempty"`
}

// entryOf builds the manifest row of a selected score.
func entryOf(s *Score, d Decision) Entry {
	return Entry{Index: s.Index, Ref: s.Ref, Label: d.Label, Name: d.Label.String(), Margin: d.Margin, Sim: d.Sim, Prob: d.Prob,
		Sims: s.Sims, Probs: s.Probs, Truth: s.Truth}
}

// moreConfident orders entries by the rule's confidence: for the cosine rule
// the margin, then the similarity to the own centroid; for softmax the
// probability, then the margin; ties by pool index, so the order is total
// and reproducible.
func moreConfident(kind RuleKind, a, b *Entry) int {
	var c int
	if kind == Softmax {
		c = cmp.Or(cmp.Compare(b.Prob, a.Prob), cmp.Compare(b.Margin, a.Margin), cmp.Compare(b.Sim, a.Sim))
	} else {
		c = cmp.Or(cmp.Compare(b.Margin, a.Margin), cmp.Compare(b.Sim, a.Sim))
	}
	return cmp.Or(c, cmp.Compare(a.Index, b.Index))
}

// RankByConfidence sorts entries by class (label order) and, within a class,
// from most to least confident (see Selection). This is the order of the
// paper's Fig. 3 grid.
func RankByConfidence(entries []Entry, kind RuleKind) {
	slices.SortStableFunc(entries, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.Label, b.Label), moreConfident(kind, &a, &b))
	})
}

// Selection is a rule plus the optional limits applied to the images it
// keeps.
type Selection struct {
	Rule
	// Cap keeps at most Cap images per class, the most confident ones
	// (0: no cap).
	Cap int `json:"cap,omitempty"`
	// Balance keeps the same number of images in every class that has any:
	// the size of the smallest such class (after Cap).
	Balance bool `json:"balance,omitempty"`
	// Total keeps at most Total images over all classes, the most
	// confident (after Cap and Balance; 0: no limit). Comparing two rules
	// at the same kept count needs it: a threshold only sets the count
	// indirectly.
	Total int `json:"total,omitempty"`
}

// Validate checks the rule and limits.
func (s Selection) Validate() error {
	if s.Cap < 0 {
		return fmt.Errorf("omni: negative per-class cap %d", s.Cap)
	}
	if s.Total < 0 {
		return fmt.Errorf("omni: negative total %d", s.Total)
	}
	return s.Rule.Validate()
}

// perClassTarget is the number of images kept per class given the counts the
// rule selected, or -1 when nothing limits it.
func (s Selection) perClassTarget(counts map[fernb.Label]int64) int64 {
	target := int64(-1)
	if s.Cap > 0 {
		target = int64(s.Cap)
	}
	if s.Balance {
		smallest := int64(-1)
		for _, n := range counts {
			if n > 0 && (smallest < 0 || n < smallest) {
				smallest = n
			}
		}
		if smallest >= 0 && (target < 0 || smallest < target) {
			target = smallest
		}
	}
	return target
}

// Select applies sel to in-memory scores (the notebook path; pool scoring
// streams the same logic from disk) and returns the kept entries in pool
// order.
func Select(scores []Score, cols Columns, sel Selection) ([]Entry, error) {
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	var out []Entry
	for i := range scores {
		if d := sel.Decide(&scores[i], cols); d.Selected {
			out = append(out, entryOf(&scores[i], d))
		}
	}
	return limitInMemory(out, sel), nil
}

// limitInMemory applies the cap and balancing to entries in pool order.
func limitInMemory(entries []Entry, sel Selection) []Entry {
	counts := map[fernb.Label]int64{}
	for _, e := range entries {
		counts[e.Label]++
	}
	target := sel.perClassTarget(counts)
	if target < 0 && sel.Total == 0 {
		return entries
	}
	ranked := slices.Clone(entries)
	RankByConfidence(ranked, sel.Kind)
	var kept []Entry
	taken := map[fernb.Label]int64{}
	for _, e := range ranked {
		if target < 0 || taken[e.Label] < target {
			taken[e.Label]++
			kept = append(kept, e)
		}
	}
	keep := map[int64]bool{}
	for _, e := range keepMostConfident(kept, sel) {
		keep[e.Index] = true
	}
	return slices.DeleteFunc(entries, func(e Entry) bool { return !keep[e.Index] })
}

// keepMostConfident returns the sel.Total most confident of entries (all of
// them when Total is 0 or not smaller), whatever their class; entries may be
// reordered.
func keepMostConfident(entries []Entry, sel Selection) []Entry {
	if sel.Total == 0 || len(entries) <= sel.Total {
		return entries
	}
	slices.SortFunc(entries, func(a, b Entry) int { return moreConfident(sel.Kind, &a, &b) })
	return entries[:sel.Total]
}

// ScoreFeatures scores in-memory pool features against the centroids
// (probs may be empty). refs (optional) name the rows; Index is the row.
func ScoreFeatures(c *CentroidSet, feats, probs Features, refs []string) ([]Score, error) {
	if err := feats.Validate(); err != nil {
		return nil, err
	}
	if feats.Dim != c.Dim() {
		return nil, fmt.Errorf("omni: features have dim %d, centroids %d", feats.Dim, c.Dim())
	}
	if probs.N != 0 && probs.N != feats.N {
		return nil, fmt.Errorf("omni: %d probability rows for %d feature rows", probs.N, feats.N)
	}
	if refs != nil && len(refs) != feats.N {
		return nil, fmt.Errorf("omni: %d refs for %d feature rows", len(refs), feats.N)
	}
	out := make([]Score, feats.N)
	for i := range out {
		out[i].Index = int64(i)
		if refs != nil {
			out[i].Ref = refs[i]
		}
		out[i].Sims = c.Similarities(feats.Row(i), nil)
		if probs.N != 0 {
			out[i].Probs = slices.Clone(probs.Row(i))
		}
	}
	return out, nil
}

func labelNames(ls []fernb.Label) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.String()
	}
	return out
}

func parseLabels(names []string) ([]fernb.Label, error) {
	out := make([]fernb.Label, len(names))
	for i, n := range names {
		l, err := fernb.ParseLabel(n)
		if err != nil {
			return nil, err
		}
		out[i] = l
	}
	return out, nil
}

// ParseShard parses "i/n" (1 <= i <= n); "" means the whole pool.
func ParseShard(s string) (Shard, error) {
	if strings.TrimSpace(s) == "" {
		return Shard{I: 1, N: 1}, nil
	}
	var sh Shard
	if _, err := fmt.Sscanf(s, "%d/%d", &sh.I, &sh.N); err != nil || fmt.Sprintf("%d/%d", sh.I, sh.N) != strings.TrimSpace(s) {
		return Shard{}, fmt.Errorf("omni: bad shard %q (want i/n with 1 <= i <= n, e.g. 2/4)", s)
	}
	return sh, sh.Validate()
}

// Shard selects every N-th pool image: shard I of N (1-based) holds the
// images whose Index % N == I-1. Splitting on the stable index, not on
// arrival order, makes the shards of one pool disjoint and complete however
// each process lists it.
type Shard struct{ I, N int }

// Validate checks 1 <= I <= N.
func (s Shard) Validate() error {
	if s.N < 1 || s.I < 1 || s.I > s.N {
		return fmt.Errorf("omni: bad shard %d/%d (want 1 <= i <= n)", s.I, s.N)
	}
	return nil
}

// Holds reports whether the pool image with this index belongs to the shard.
func (s Shard) Holds(index int64) bool { return s.N <= 1 || index%int64(s.N) == int64(s.I-1) }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// Whole reports whether s is the whole pool (1/1).
func (s Shard) Whole() bool { return s.N <= 1 }
