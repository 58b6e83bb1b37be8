package fernb

import (
	"fmt"
	"sort"
	"strings"
)

// Label is an expression class in fernb's single label space. Every loader maps
// its data set's own codes and names onto these, so that models trained on one
// data set can be evaluated on another over the classes both share.
type Label int

// The label space. The first seven are the basic expressions used by
// FER-2013, RAF-DB and the paper's 7-class experiments; Contempt is an eighth
// label (CK+, FER+) that 7-class runs drop explicitly.
const (
	Angry Label = iota
	Disgust
	Fear
	Happy
	Sad
	Surprise
	Neutral
	Contempt

	// Unlabelled marks an image whose expression is unknown (a pool image).
	Unlabelled Label = -1
)

// NumLabels is the size of the full label space (including Contempt).
const NumLabels = 8

// NumBasic is the number of basic expressions (Angry..Neutral), the label
// space of the paper's 7-class experiments.
const NumBasic = 7

var labelNames = [NumLabels]string{"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt"}

// synonyms maps every spelling found in distributed data sets to a Label.
var synonyms = map[string]Label{
	"angry": Angry, "anger": Angry, "an": Angry,
	"disgust": Disgust, "disgusted": Disgust, "di": Disgust,
	"fear": Fear, "fearful": Fear, "fe": Fear, "afraid": Fear,
	"happy": Happy, "happiness": Happy, "ha": Happy,
	"sad": Sad, "sadness": Sad, "sa": Sad,
	"surprise": Surprise, "surprised": Surprise, "su": Surprise,
	"neutral": Neutral, "ne": Neutral,
	"contempt": Contempt,
}

// String returns the canonical lower-case name ("angry", ...), or
// "unlabelled".
func (l Label) String() string {
	if l >= 0 && int(l) < NumLabels {
		return labelNames[l]
	}
	if l == Unlabelled {
		return "unlabelled"
	}
	return fmt.Sprintf("Label(%d)", int(l))
}

// Valid reports whether l is one of the NumLabels classes.
func (l Label) Valid() bool { return l >= 0 && int(l) < NumLabels }

// LabelNames returns the canonical names of the first n labels (n <= NumLabels).
func LabelNames(n int) []string {
	out := make([]string, n)
	copy(out, labelNames[:n])
	return out
}

// ParseLabel maps a class name in any of the spellings used by distributed
// FER data sets (case-insensitive) to a Label. The error lists the known
// names so that a typo in a folder name is easy to find.
func ParseLabel(name string) (Label, error) {
	if l, ok := synonyms[strings.ToLower(strings.TrimSpace(name))]; ok {
		return l, nil
	}
	known := make([]string, 0, len(synonyms))
	for k := range synonyms {
		known = append(known, k)
	}
	sort.Strings(known)
	return Unlabelled, fmt.Errorf("unknown expression class %q (known: %s)", name, strings.Join(known, ", "))
}
