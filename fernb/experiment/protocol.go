package experiment

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
)

// ProtocolKind names an evaluation protocol.
type ProtocolKind string

// The paper's protocols.
const (
	// Inner trains on a data set's training split and tests on its test
	// split (RAF-DB, FER-2013): one fold.
	Inner ProtocolKind = "inner"
	// Cross trains on one data set and tests on another, over the classes
	// both have: one fold.
	Cross ProtocolKind = "cross"
	// KFold is k-fold subject-independent cross-validation inside one data
	// set (CK+: 10 folds); no subject is in both a fold's train and test.
	KFold ProtocolKind = "kfold"
	// LOSO is leave-one-subject-out inside one data set (JAFFE).
	LOSO ProtocolKind = "loso"
)

// Protocol is an evaluation protocol with its parameters.
type Protocol struct {
	Kind ProtocolKind `json:"kind"`
	// K is the number of folds of KFold (default 10).
	K int `json:"k,omitempty"`
	// Seed shuffles the subjects of KFold.
	Seed uint64 `json:"seed,omitempty"`
}

// String describes p for tables ("10-fold subject-independent").
func (p Protocol) String() string {
	switch p.Kind {
	case KFold:
		return strconv.Itoa(p.k()) + "-fold subject-independent"
	case LOSO:
		return "leave-one-subject-out"
	case Cross:
		return "cross-dataset (shared classes)"
	case Inner:
		return "inner-dataset (train/test split)"
	}
	return string(p.Kind)
}

func (p Protocol) k() int {
	if p.K <= 0 {
		return 10
	}
	return p.K
}

// Fold is one train/test partition of a protocol, as tensors.
type Fold struct {
	Name        string
	Train, Test *dataset.Tensors
	// Note says what the protocol left out (classes not shared).
	Note string
}

// Folds splits data by the protocol. For Inner and Cross, train and test are
// the two sets (Cross keeps only the classes both have in test; training keeps
// all of its classes, since evaluation scores only the shared ones). For KFold
// and LOSO, train holds the whole data set and test must be nil: folds are
// made by subject (Tensors.Subjects, which must be set).
func (p Protocol) Folds(trainSet, testSet *dataset.Tensors) ([]Fold, error) {
	if trainSet == nil || trainSet.N == 0 {
		return nil, fmt.Errorf("experiment: %s: empty training set", p)
	}
	switch p.Kind {
	case Inner:
		if testSet == nil || testSet.N == 0 {
			return nil, fmt.Errorf("experiment: %s: empty test set", p)
		}
		return []Fold{{Name: "test", Train: trainSet, Test: testSet}}, nil
	case Cross:
		if testSet == nil || testSet.N == 0 {
			return nil, fmt.Errorf("experiment: %s: empty test set", p)
		}
		shared := sharedLabels(trainSet.Labels, testSet.Labels)
		if len(shared) < 2 {
			return nil, fmt.Errorf("experiment: %s: the sets share %d classes, need at least 2", p, len(shared))
		}
		keep := map[fernb.Label]bool{}
		for _, l := range shared {
			keep[l] = true
		}
		var idx []int
		dropped := map[fernb.Label]int{}
		for i, l := range testSet.Labels {
			if keep[l] {
				idx = append(idx, i)
			} else {
				dropped[l]++
			}
		}
		f := Fold{Name: "test", Train: trainSet, Test: testSet}
		if len(dropped) > 0 {
			f.Test = testSet.Subset(idx)
			var parts []string
			for l := range fernb.NumLabels {
				if n := dropped[fernb.Label(l)]; n > 0 {
					parts = append(parts, fmt.Sprintf("%s %d", fernb.Label(l), n))
				}
			}
			if n := dropped[fernb.Unlabelled]; n > 0 {
				parts = append(parts, fmt.Sprintf("unlabelled %d", n))
			}
			f.Note = "test images of classes the training set lacks were left out: " + strings.Join(parts, ", ")
		}
		return []Fold{f}, nil
	case KFold, LOSO:
		if testSet != nil {
			return nil, fmt.Errorf("experiment: %s: folds come from one data set; pass the test set as nil", p)
		}
		items, err := tensorItems(trainSet)
		if err != nil {
			return nil, fmt.Errorf("experiment: %s: %w", p, err)
		}
		var folds []dataset.Fold
		if p.Kind == KFold {
			folds, err = dataset.SubjectKFold(items, p.k(), p.Seed)
		} else {
			folds, err = dataset.LeaveOneSubjectOut(items)
		}
		if err != nil {
			return nil, fmt.Errorf("experiment: %s: %w", p, err)
		}
		out := make([]Fold, 0, len(folds))
		for _, f := range folds {
			if len(f.Test) == 0 || len(f.Train) == 0 {
				continue
			}
			out = append(out, Fold{Name: f.Name, Train: trainSet.Subset(f.Train), Test: trainSet.Subset(f.Test)})
		}
		return out, nil
	}
	return nil, fmt.Errorf("experiment: unknown protocol %q (want inner, cross, kfold or loso)", p.Kind)
}

// tensorItems describes the images of t as dataset items (label and
// subject), the shape the dataset package's fold makers take.
func tensorItems(t *dataset.Tensors) ([]dataset.Item, error) {
	if len(t.Subjects) != t.N {
		return nil, fmt.Errorf("the data set records no subjects (needed for subject-independent folds)")
	}
	items := make([]dataset.Item, t.N)
	for i := range items {
		if t.Subjects[i] == "" {
			ref := ""
			if i < len(t.Refs) {
				ref = t.Refs[i]
			}
			return nil, fmt.Errorf("image %d (%s) has no subject", i, ref)
		}
		items[i] = dataset.Item{Label: t.Labels[i], Subject: t.Subjects[i]}
		if i < len(t.Refs) {
			items[i].Ref = t.Refs[i]
		}
	}
	return items, nil
}

// sharedLabels returns the labels present in both a and b, in label order.
func sharedLabels(a, b []fernb.Label) []fernb.Label {
	var inA, inB [fernb.NumLabels]bool
	for _, l := range a {
		if l >= 0 && int(l) < fernb.NumLabels {
			inA[l] = true
		}
	}
	for _, l := range b {
		if l >= 0 && int(l) < fernb.NumLabels {
			inB[l] = true
		}
	}
	var out []fernb.Label
	for l := range fernb.NumLabels {
		if inA[l] && inB[l] {
			out = append(out, fernb.Label(l))
		}
	}
	return out
}
