package dataset

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/fernb/fernb/fernb/face"
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
	// Face alignment (Preprocess.Align): Aligned counts the images in
	// which a face was found; NoFace lists those without one that were
	// left out, CentreCropped those without one kept as their central
	// square, SeveralFaces those in which one face of several was kept.
	Aligned       int
	NoFace        []string
	CentreCropped []string
	SeveralFaces  []Problem
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

// addAlign notes what alignment found in ref; r may be nil (no report).
func (r *Report) addAlign(ref string, res face.Result, opt face.Options) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case res.Faces == 0 && opt.NoFace == face.Centre:
		r.CentreCropped = append(r.CentreCropped, ref)
	case res.Faces == 0:
		r.NoFace = append(r.NoFace, ref)
	default:
		r.Aligned++
		if res.Faces > 1 {
			r.SeveralFaces = append(r.SeveralFaces, Problem{ref, res.Describe(opt.Pick)})
		}
	}
}

// AlignSummary is one line on face alignment ("" when nothing was
// aligned), for commands to print whether or not anything was skipped:
// images kept as centre crops are not skipped but must not pass silently.
func (r *Report) AlignSummary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Aligned+len(r.NoFace)+len(r.CentreCropped) == 0 {
		return ""
	}
	return fmt.Sprintf("align: face found in %d image(s) (%d with several faces), none in %d (skipped), none in %d (kept as centre crop)\n",
		r.Aligned, len(r.SeveralFaces), len(r.NoFace), len(r.CentreCropped))
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
// corrupt, too large, missing or (aligning) without a face.
func (r *Report) Skipped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.Corrupt) + len(r.TooLarge) + len(r.Missing) + len(r.NoFace)
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
	miss := problems(r.Missing, "named in the label file but not found")
	list("missing files", miss)
	list("no face found, skipped", problems(r.NoFace, "no face found"))
	list("no face found, kept as centre crop", problems(r.CentreCropped, "no face found"))
	list("several faces found", r.SeveralFaces)
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

func problems(refs []string, why string) []Problem {
	out := make([]Problem, len(refs))
	for i, ref := range refs {
		out[i] = Problem{ref, why}
	}
	return out
}
