package bench

import (
	"bytes"
	"fmt"
	"runtime/pprof"
	"sort"
	"strings"

	"github.com/google/pprof/profile"
)

// Breakdown says where the CPU samples of one timed phase (the training
// steps or the inference batches) went: the share spent in matrix
// multiplication, and the largest other categories.
//
// A sample is attributed to its innermost frame outside the Go standard
// library (so a memmove or a SIMD intrinsic counts for the code that called
// it); it is GEMM when that frame lies in the Go backend's dot package
// (gobackend/dot: the matmul kernels, their operand packing and epilogue)
// or its fused dense layer, and otherwise it is named after the backend op
// executing it (ops.execXGeneric or ops.execXSIMD gives "X"), else after
// that frame's function,
// else "Go runtime" when the whole stack is the runtime's (garbage
// collector, scheduler, profiler signals).
type Breakdown struct {
	Samples    int64      `json:"samples"` // 100 per CPU-second: the shares' resolution
	CPUSeconds float64    `json:"cpu_s"`
	GEMMShare  float64    `json:"gemm_share"`
	Top        []Category `json:"top"` // the largest non-GEMM categories, largest first
}

// Category is one line of a Breakdown.
type Category struct {
	Name  string  `json:"name"`
	Share float64 `json:"share"`
}

// gemmCategory is the category of the samples Breakdown.GEMMShare counts.
const gemmCategory = "GEMM"

// topCategories is how many non-GEMM categories a Breakdown lists.
const topCategories = 6

// gemmPackages are the package-path prefixes whose frames are matrix
// multiplication.
var gemmPackages = []string{
	"github.com/gomlx/compute/internal/gobackend/dot",
	"github.com/gomlx/compute/internal/gobackend/fusedops/dense",
}

// opsPackage is the Go backend's op executors' package: its exec* frames
// name the op a sample belongs to.
const opsPackage = "github.com/gomlx/compute/internal/gobackend/ops"

// profileCPU runs fn under the CPU profiler and returns the profile, raw
// (gzipped protobuf, for `go tool pprof`) and parsed. fn's error is
// returned as is; a profiler that cannot start (another profile is running)
// is reported in profErr, with fn run anyway.
func profileCPU(fn func() error) (raw []byte, p *profile.Profile, profErr, err error) {
	var buf bytes.Buffer
	if profErr = pprof.StartCPUProfile(&buf); profErr != nil {
		return nil, nil, fmt.Errorf("bench: CPU profile: %w", profErr), fn()
	}
	err = fn()
	pprof.StopCPUProfile()
	if p, profErr = profile.Parse(bytes.NewReader(buf.Bytes())); profErr != nil {
		return nil, nil, fmt.Errorf("bench: parsing the CPU profile: %w", profErr), err
	}
	return buf.Bytes(), p, nil, err
}

// Classify computes the Breakdown of a CPU profile (see Breakdown for the
// rule).
func Classify(p *profile.Profile) *Breakdown {
	vi := len(p.SampleType) - 1 // Go's CPU profiles: [samples/count, cpu/nanoseconds]
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			vi = i
		}
	}
	b := &Breakdown{}
	if vi < 0 {
		return b
	}
	byCat := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		v := s.Value[vi]
		total += v
		if len(s.Value) > 1 && vi != 0 {
			b.Samples += s.Value[0]
		} else {
			b.Samples++
		}
		byCat[category(stack(s))] += v
	}
	if p.SampleType[vi].Unit == "nanoseconds" {
		b.CPUSeconds = round(float64(total)/1e9, 3)
	}
	if total == 0 {
		return b
	}
	b.GEMMShare = round(float64(byCat[gemmCategory])/float64(total), 4)
	for name, v := range byCat {
		if name != gemmCategory {
			b.Top = append(b.Top, Category{Name: name, Share: round(float64(v)/float64(total), 4)})
		}
	}
	sort.Slice(b.Top, func(i, j int) bool {
		if b.Top[i].Share != b.Top[j].Share {
			return b.Top[i].Share > b.Top[j].Share
		}
		return b.Top[i].Name < b.Top[j].Name
	})
	if len(b.Top) > topCategories {
		b.Top = b.Top[:topCategories]
	}
	return b
}

// String is the one-line form the text output prints.
func (b *Breakdown) String() string {
	if b.Samples == 0 {
		return "no samples (the phase was too short for the 100 Hz profiler)"
	}
	s := fmt.Sprintf("GEMM %.0f%%", 100*b.GEMMShare)
	for _, c := range b.Top {
		s += fmt.Sprintf(", %s %.0f%%", c.Name, 100*c.Share)
	}
	return s + fmt.Sprintf(" (%d samples)", b.Samples)
}

// stack lists a sample's function names, innermost first, inlined frames
// included (pprof lists a location's inlined functions innermost first).
func stack(s *profile.Sample) []string {
	var names []string
	for _, loc := range s.Location {
		for _, l := range loc.Line {
			if l.Function != nil {
				names = append(names, l.Function.Name)
			}
		}
	}
	return names
}

// category applies Breakdown's rule to a stack, innermost first.
func category(stack []string) string {
	first := -1
	for i, fn := range stack {
		if !isStdlib(fn) {
			first = i
			break
		}
	}
	if first < 0 {
		return "Go runtime"
	}
	for _, p := range gemmPackages {
		if pkg := packageOf(stack[first]); pkg == p || strings.HasPrefix(pkg, p+"/") {
			return gemmCategory
		}
	}
	for _, fn := range stack[first:] {
		if packageOf(fn) != opsPackage {
			continue
		}
		name := strings.TrimPrefix(fn, opsPackage+".")
		if op, ok := strings.CutPrefix(baseName(name), "exec"); ok && op != "" {
			return strings.TrimSuffix(strings.TrimSuffix(op, "SIMD"), "Generic")
		}
	}
	fn := stack[first]
	return baseName(fn[strings.LastIndexByte(packageOf(fn), '/')+1:])
}

// packageOf returns the import path of a pprof function name such as
// "github.com/a/b.(*T).M[...]" or "runtime.memmove".
func packageOf(fn string) string {
	if i := strings.IndexByte(fn, '['); i >= 0 {
		fn = fn[:i] // type arguments name other packages
	}
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}

// baseName drops a function name's type arguments ("[go.shape.float32]")
// and closure or SIMD-variant suffixes (".func1", "@simd512").
func baseName(fn string) string {
	if i := strings.IndexAny(fn, "[@"); i >= 0 {
		fn = fn[:i]
	}
	for {
		i := strings.LastIndex(fn, ".func")
		if i < 0 {
			return fn
		}
		fn = fn[:i]
	}
}

// isStdlib reports whether fn belongs to the Go standard library (runtime,
// simd, math, sync, ...): its import path's first element has no dot.
func isStdlib(fn string) bool {
	first, _, _ := strings.Cut(packageOf(fn), "/")
	return !strings.Contains(first, ".")
}
