package experiment

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// EvalRun is one line of `fernb eval` output: the scores of one checkpoint
// plus the tags (--tag key=value) that say which variant and seed it is.
// Only the fields a summary needs are read.
type EvalRun struct {
	Tags              map[string]string `json:"tags"`
	TTA               string            `json:"tta"`
	Accuracy          float64           `json:"accuracy"`
	MeanClassAccuracy float64           `json:"mean_class_accuracy"`
	Classes           []string          `json:"classes"`
	PerClass          []struct {
		Accuracy float64 `json:"accuracy"`
	} `json:"per_class"`
}

// ReadEvalRuns reads JSON lines written by `fernb eval`; name is for error
// messages. Blank lines are skipped; a line that is not an evaluation stops
// the read with its line number.
func ReadEvalRuns(r io.Reader, name string) ([]EvalRun, error) {
	var out []EvalRun
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var e EvalRun
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("%s:%d: want one `fernb eval` JSON object per line: %w", name, line, err)
		}
		if len(e.Classes) == 0 || len(e.PerClass) != len(e.Classes) {
			return nil, fmt.Errorf("%s:%d: not a `fernb eval` line (want classes and per_class of the same length)", name, line)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// EvalArm summarises the runs of one group (a variant) in percent.
type EvalArm struct {
	Name string `json:"name"`
	// Pairs are the pair keys (seeds) of its runs, in input order.
	Pairs []string `json:"pairs"`
	// Accuracy and MeanClass are the mean and sample std over the runs.
	Accuracy     float64 `json:"accuracy"`
	AccuracyStd  float64 `json:"accuracy_std"`
	MeanClass    float64 `json:"mean_class"`
	MeanClassStd float64 `json:"mean_class_std"`
	// PerClass is each class's accuracy averaged over the runs.
	PerClass []float64 `json:"per_class"`
	// VsBase pairs this arm's runs with the base arm's of the same key;
	// nil for the base itself or when no key is shared.
	VsBase *Paired `json:"vs_base,omitempty"`
}

// SummarizeEvals groups runs by their tag group (e.g. "variant"), pairs
// each group with base's runs by the tag pair (e.g. "seed"), and returns
// one arm per group in order of first appearance. Only runs whose TTA is
// tta are used. Seeds, not the test set, are the unit of replication here:
// a paired difference over seeds cancels what the branches share (the
// primitive learner), which one test set's standard error cannot.
func SummarizeEvals(runs []EvalRun, group, pair, base, tta string) ([]EvalArm, error) {
	type key struct{ g, p string }
	seen := map[key]bool{}
	var order []string
	byGroup := map[string][]EvalRun{}
	var classes []string
	for i, r := range runs {
		if r.TTA != tta {
			continue
		}
		g, okG := r.Tags[group]
		p, okP := r.Tags[pair]
		if !okG || !okP {
			return nil, fmt.Errorf("experiment: evaluation %d has no %q or %q tag (tags %v)", i+1, group, pair, r.Tags)
		}
		if seen[key{g, p}] {
			return nil, fmt.Errorf("experiment: two evaluations of %s=%s %s=%s (tta %q)", group, g, pair, p, tta)
		}
		seen[key{g, p}] = true
		if classes == nil {
			classes = r.Classes
		} else if !slices.Equal(classes, r.Classes) {
			return nil, fmt.Errorf("experiment: evaluation %d has classes %v, earlier ones %v", i+1, r.Classes, classes)
		}
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], r)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("experiment: no evaluations with tta %q", tta)
	}
	baseRuns, ok := byGroup[base]
	if base != "" && !ok {
		return nil, fmt.Errorf("experiment: no evaluations of the base %s=%s (groups %v)", group, base, order)
	}
	baseAcc := map[string]float64{}
	for _, r := range baseRuns {
		baseAcc[r.Tags[pair]] = 100 * r.Accuracy
	}
	var arms []EvalArm
	for _, g := range order {
		a := EvalArm{Name: g, PerClass: make([]float64, len(classes))}
		var acc, mc, pb, po []float64
		for _, r := range byGroup[g] {
			p := r.Tags[pair]
			a.Pairs = append(a.Pairs, p)
			acc = append(acc, 100*r.Accuracy)
			mc = append(mc, 100*r.MeanClassAccuracy)
			for j, c := range r.PerClass {
				a.PerClass[j] += 100 * c.Accuracy / float64(len(byGroup[g]))
			}
			if b, ok := baseAcc[p]; ok {
				pb, po = append(pb, b), append(po, 100*r.Accuracy)
			}
		}
		a.Accuracy, a.AccuracyStd = MeanStd(acc)
		a.MeanClass, a.MeanClassStd = MeanStd(mc)
		if g != base && len(pb) > 0 {
			d, err := PairDiff(pb, po)
			if err != nil {
				return nil, err
			}
			a.VsBase = &d
		}
		arms = append(arms, a)
	}
	return arms, nil
}
