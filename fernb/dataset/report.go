package dataset

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Problem names one file or record that was not used, and why.
type Problem struct {
	Ref string
	Err string
}

// Report is what a load left out and why. Nothing is dropped silently: a
// corrupt image costs that image only, but the user must be able to see
// which ones and how many, and tell a 7-class run that dropped contempt from
// one that lost files. It is safe for concurrent use.
type Report struct {
	mu sync.Mutex
	// Corrupt lists images that failed to decode (truncated, not an image).
	Corrupt []Problem
	// TooLarge lists images or archive members rejected by a size limit
	// before being decoded or inflated.
	TooLarge []Problem
	// Missing lists files named by a label file that do not exist.
	Missing []string
	// Ignored lists files or records that are not part of the data set
	// (names the format does not recognise, RecordIO meta records).
	Ignored []Problem
	// Dropped counts items left out on purpose (a label filter, FER+
	// images without a majority), by reason.
	Dropped map[string]int
}

func (r *Report) addCorrupt(ref string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Corrupt = append(r.Corrupt, Problem{ref, err.Error()})
}

func (r *Report) addTooLarge(ref string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.TooLarge = append(r.TooLarge, Problem{ref, err.Error()})
}

func (r *Report) addMissing(ref string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Missing = append(r.Missing, ref)
}

func (r *Report) addIgnored(ref, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Ignored = append(r.Ignored, Problem{ref, why})
}

func (r *Report) addDropped(reason string, n int) {
	if n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Dropped == nil {
		r.Dropped = map[string]int{}
	}
	r.Dropped[reason] += n
}

// Skipped is the number of images that should have loaded and did not:
// corrupt, too large or missing.
func (r *Report) Skipped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.Corrupt) + len(r.TooLarge) + len(r.Missing)
}

// String summarises the report, listing up to ten files per kind.
func (r *Report) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	list := func(kind string, ps []Problem) {
		if len(ps) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s: %d\n", kind, len(ps))
		for i, p := range ps {
			if i == 10 {
				fmt.Fprintf(&b, "  ... and %d more\n", len(ps)-10)
				break
			}
			fmt.Fprintf(&b, "  %s: %s\n", p.Ref, p.Err)
		}
	}
	list("corrupt images skipped", r.Corrupt)
	list("rejected by size limits", r.TooLarge)
	miss := make([]Problem, len(r.Missing))
	for i, m := range r.Missing {
		miss[i] = Problem{m, "named in the label file but not found"}
	}
	list("missing files", miss)
	list("ignored files", r.Ignored)
	keys := make([]string, 0, len(r.Dropped))
	for k := range r.Dropped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "dropped (%s): %d\n", k, r.Dropped[k])
	}
	if b.Len() == 0 {
		return "nothing skipped\n"
	}
	return b.String()
}
