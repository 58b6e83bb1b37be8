package dataset

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/fernb/fernb/fernb"
)

// Fold is one train/test partition of a protocol, as indices into the item
// slice it was built from.
type Fold struct {
	Name        string
	Train, Test []int
}

// SubjectKFold splits items into k folds whose test sets share no subject
// with their training sets (the CK+ protocol: 10 subject-independent
// folds). Subjects are shuffled from seed and dealt greedily to the fold
// with the fewest images, so folds are balanced and the split is the same
// on every machine for a given seed.
func SubjectKFold(items []Item, k int, seed uint64) ([]Fold, error) {
	bySubj := map[string][]int{}
	for i, it := range items {
		if it.Subject == "" {
			return nil, fmt.Errorf("dataset: item %s has no subject; subject-independent folds need one", it.Ref)
		}
		bySubj[it.Subject] = append(bySubj[it.Subject], i)
	}
	if k < 2 || k > len(bySubj) {
		return nil, fmt.Errorf("dataset: %d folds need 2..%d (the number of subjects)", k, len(bySubj))
	}
	subjects := make([]string, 0, len(bySubj))
	for s := range bySubj {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	rng.Shuffle(len(subjects), func(i, j int) { subjects[i], subjects[j] = subjects[j], subjects[i] })
	// Largest subjects first keeps the greedy deal balanced.
	sort.SliceStable(subjects, func(i, j int) bool { return len(bySubj[subjects[i]]) > len(bySubj[subjects[j]]) })
	test := make([][]int, k)
	for _, s := range subjects {
		best := 0
		for f := 1; f < k; f++ {
			if len(test[f]) < len(test[best]) {
				best = f
			}
		}
		test[best] = append(test[best], bySubj[s]...)
	}
	folds := make([]Fold, k)
	for f := range folds {
		sort.Ints(test[f])
		in := map[int]bool{}
		for _, i := range test[f] {
			in[i] = true
		}
		folds[f] = Fold{Name: fmt.Sprintf("fold%d", f+1), Test: test[f]}
		for i := range items {
			if !in[i] {
				folds[f].Train = append(folds[f].Train, i)
			}
		}
	}
	return folds, nil
}

// LeaveOneSubjectOut returns one fold per subject (the JAFFE protocol),
// in subject order.
func LeaveOneSubjectOut(items []Item) ([]Fold, error) {
	bySubj := map[string][]int{}
	for i, it := range items {
		if it.Subject == "" {
			return nil, fmt.Errorf("dataset: item %s has no subject; leave-one-subject-out needs one", it.Ref)
		}
		bySubj[it.Subject] = append(bySubj[it.Subject], i)
	}
	subjects := make([]string, 0, len(bySubj))
	for s := range bySubj {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	folds := make([]Fold, 0, len(subjects))
	for _, s := range subjects {
		f := Fold{Name: "subject-" + s, Test: bySubj[s]}
		for i, it := range items {
			if it.Subject != s {
				f.Train = append(f.Train, i)
			}
		}
		folds = append(folds, f)
	}
	return folds, nil
}

// Select returns the items at idx.
func Select(items []Item, idx []int) []Item {
	out := make([]Item, len(idx))
	for j, i := range idx {
		out[j] = items[i]
	}
	return out
}

// FirstPerClass returns the first n labelled items of each class, in
// items' order: a per-class sample that is the same on every run (class
// means settle long before a large set is exhausted).
func FirstPerClass(items []Item, n int) []Item {
	seen := map[fernb.Label]int{}
	var out []Item
	for _, it := range items {
		if it.Label.Valid() && seen[it.Label] < n {
			seen[it.Label]++
			out = append(out, it)
		}
	}
	return out
}

// Classes returns the labels present in items, sorted.
func Classes(items []Item) []fernb.Label {
	seen := map[fernb.Label]bool{}
	for _, it := range items {
		if it.Label.Valid() {
			seen[it.Label] = true
		}
	}
	out := make([]fernb.Label, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// SharedClasses returns the labels both item sets have: the label space of
// a cross-dataset evaluation.
func SharedClasses(a, b []Item) []fernb.Label {
	inB := map[fernb.Label]bool{}
	for _, l := range Classes(b) {
		inB[l] = true
	}
	var out []fernb.Label
	for _, l := range Classes(a) {
		if inB[l] {
			out = append(out, l)
		}
	}
	return out
}

// KeepClasses returns the items whose label is in keep and, per dropped
// label, how many were left out, so that a run can say what it dropped
// (e.g. contempt in 7-class experiments).
func KeepClasses(items []Item, keep []fernb.Label) (kept []Item, dropped map[fernb.Label]int) {
	in := map[fernb.Label]bool{}
	for _, l := range keep {
		in[l] = true
	}
	dropped = map[fernb.Label]int{}
	for _, it := range items {
		if in[it.Label] {
			kept = append(kept, it)
		} else {
			dropped[it.Label]++
		}
	}
	return kept, dropped
}

// Basic7 drops contempt (and anything outside the seven basic expressions)
// for the paper's 7-class experiments, and returns a note saying what was
// dropped ("" if nothing).
func Basic7(items []Item) ([]Item, string) {
	keep := make([]fernb.Label, fernb.NumBasic)
	for i := range keep {
		keep[i] = fernb.Label(i)
	}
	kept, dropped := KeepClasses(items, keep)
	return kept, DroppedNote(dropped)
}

// DroppedNote formats a KeepClasses drop count for logs and reports.
func DroppedNote(dropped map[fernb.Label]int) string {
	if len(dropped) == 0 {
		return ""
	}
	ls := make([]fernb.Label, 0, len(dropped))
	for l := range dropped {
		ls = append(ls, l)
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i] < ls[j] })
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s: %d", l, dropped[l])
	}
	return "dropped classes outside the label space (" + strings.Join(parts, ", ") + ")"
}

// CrossDataset prepares a cross-dataset evaluation: train on a, test on b,
// over the classes both have. It returns both filtered item sets and the
// shared classes, and a note naming what was dropped from each.
func CrossDataset(a, b []Item) (train, test []Item, shared []fernb.Label, note string) {
	shared = SharedClasses(a, b)
	train, da := KeepClasses(a, shared)
	test, db := KeepClasses(b, shared)
	var notes []string
	if n := DroppedNote(da); n != "" {
		notes = append(notes, "train: "+n)
	}
	if n := DroppedNote(db); n != "" {
		notes = append(notes, "test: "+n)
	}
	return train, test, shared, strings.Join(notes, "; ")
}

// StratifiedSplit holds out frac of each class as a validation set,
// shuffled from seed (for data sets distributed without one).
func StratifiedSplit(items []Item, frac float64, seed uint64) (train, val []int) {
	byClass := map[fernb.Label][]int{}
	for i, it := range items {
		byClass[it.Label] = append(byClass[it.Label], i)
	}
	labels := make([]fernb.Label, 0, len(byClass))
	for l := range byClass {
		labels = append(labels, l)
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i] < labels[j] })
	rng := rand.New(rand.NewPCG(seed, 0x5b117))
	for _, l := range labels {
		idx := append([]int(nil), byClass[l]...)
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		nv := int(frac*float64(len(idx)) + 0.5)
		val = append(val, idx[:nv]...)
		train = append(train, idx[nv:]...)
	}
	sort.Ints(train)
	sort.Ints(val)
	return train, val
}
