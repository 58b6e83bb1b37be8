package distill

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/plot"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
)

// IterStats is one row of the loss history.
type IterStats struct {
	Iteration int `json:"iteration"` // 1-based
	// Loss is, for DD, the real-data loss after the T unrolled steps; for
	// DM the matching loss Σ_c ‖mean_real_c − mean_syn_c‖².
	Loss float64 `json:"loss"`
	// Before is DD's real-data loss at θ0, before the unrolled steps (the
	// gap Before − Loss is what the images teach).
	Before float64 `json:"before,omitempty"`
	// MeanLR is DD's mean inner learning rate after the update.
	MeanLR  float64 `json:"mean_lr,omitempty"`
	Seconds float64 `json:"seconds"`
	// Skipped marks an iteration whose loss or gradient was not finite
	// (a diverged inner run): the images and learning rates were left
	// unchanged, and Loss is not meaningful.
	Skipped bool `json:"skipped,omitempty"`
}

// Progress is reported after every outer iteration.
type Progress struct {
	Iteration, Iterations int
	Stats                 IterStats
	Elapsed, ETA          time.Duration
	// Message is set for events (resume, snapshot).
	Message string
}

// Result is what Run returns.
type Result struct {
	DAS     *DAS
	History []IterStats
	// Resumed is true when Run continued a checkpoint in Config.OutDir,
	// from iteration StartIteration (0-based count of iterations done).
	Resumed        bool
	StartIteration int
	// Snapshots lists the snapshot directories written so far.
	Snapshots []string
}

// state is everything an outer iteration updates: images, raw learning
// rates and their Adam moments. It is what the resume checkpoint stores.
type state struct {
	Iteration int         `json:"iteration"` // iterations done
	Syn       []float32   `json:"-"`
	RawLR     []float64   `json:"raw_lr,omitempty"`
	AdamSyn   adam        `json:"-"`
	AdamLR    adam        `json:"adam_lr"`
	History   []IterStats `json:"history"`
	Snapshots []string    `json:"snapshots,omitempty"`
}

// Run distils real (labelled images; unlabelled ones are ignored) into
// cfg.IPC synthetic images per class with cfg.Method, reporting progress
// after every outer iteration. With cfg.OutDir set it writes the DAS,
// snapshots and history there and resumes an interrupted run; a cancelled
// context saves a checkpoint and returns the context's error with the
// result so far.
func Run(ctx context.Context, backend compute.Backend, real *dataset.Tensors, cfg Config, progress func(Progress)) (*Result, error) {
	if real == nil || real.N == 0 {
		return nil, errors.New("distill: no real images")
	}
	if err := real.Validate(); err != nil {
		return nil, fmt.Errorf("distill: real set: %w", err)
	}
	if len(cfg.Classes) == 0 {
		cfg.Classes = PresentClasses(real)
	}
	cfg = cfg.WithDefaults(real.H, real.W, real.C)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Model.Height != real.H || cfg.Model.Width != real.W || cfg.Model.Channels != real.C {
		return nil, fmt.Errorf("distill: real images are %dx%dx%d, model input %dx%dx%d",
			real.H, real.W, real.C, cfg.Model.Height, cfg.Model.Width, cfg.Model.Channels)
	}
	byClass, err := classIndex(real, cfg.Classes)
	if err != nil {
		return nil, err
	}
	if progress == nil {
		progress = func(Progress) {}
	}
	// Lock the output directory before any costly set-up, so that a second
	// run into it is refused at once.
	if cfg.OutDir != "" {
		release, err := fernb.LockDir(cfg.OutDir)
		if err != nil {
			return nil, fmt.Errorf("distill: %w", err)
		}
		defer release()
	}
	eng, err := newEngine(backend, cfg)
	if err != nil {
		return nil, err
	}
	defer eng.finalize()
	lo, hi := valueRange(real.X)
	mean, std := real.ChannelStats()

	st, resumed, err := loadCheckpoint(cfg, eng.nSyn*real.ImageSize())
	if err != nil {
		return nil, err
	}
	if st == nil {
		st = initialState(cfg, real, byClass, mean, std)
	}
	res := &Result{Resumed: resumed, StartIteration: st.Iteration}
	if resumed {
		progress(Progress{Iteration: st.Iteration, Iterations: cfg.Iterations, Message: fmt.Sprintf("resumed from %s after %d iterations", cfg.OutDir, st.Iteration)})
	}

	var fixed []*tensors.Tensor
	if cfg.FixedInit {
		if fixed, err = eng.drawParams(cfg.Seed); err != nil {
			return nil, fmt.Errorf("distill: drawing θ0: %w", err)
		}
		defer finalizeAll(fixed)
	}
	snapshot := func() error {
		if cfg.OutDir == "" {
			return nil
		}
		dir, err := writeSnapshot(cfg, st, real, lo, hi)
		if err != nil {
			return err
		}
		st.Snapshots = append(st.Snapshots, dir)
		return nil
	}
	save := func() error {
		if cfg.OutDir == "" {
			return nil
		}
		return saveCheckpoint(cfg, st)
	}
	start := time.Now()
	startIter := st.Iteration
	for st.Iteration < cfg.Iterations {
		if err := ctx.Err(); err != nil {
			res.fill(cfg, st, real, lo, hi)
			if serr := save(); serr != nil {
				return res, errors.Join(err, serr)
			}
			return res, err
		}
		t0 := time.Now()
		it := st.Iteration
		x, y := sampleReal(real, byClass, cfg.RealPerClass, rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(it)+1)))
		theta := fixed
		if !cfg.FixedInit {
			if theta, err = eng.drawParams(thetaSeed(cfg.Seed, it)); err != nil {
				return nil, fmt.Errorf("distill: drawing θ0: %w", err)
			}
		}
		sr, err := eng.runStep(st.Syn, st.RawLR, x, y, eng.augmentation(it, real.H, real.W, real.C, mean, std), theta)
		if !cfg.FixedInit {
			finalizeAll(theta)
		}
		if err != nil {
			return nil, fmt.Errorf("distill: iteration %d: %w", it+1, err)
		}
		stats := IterStats{Iteration: it + 1, Loss: sr.loss, Before: sr.before}
		if finite(sr.loss) && finiteSlice(sr.dSyn) && finite64(sr.dRawLR) {
			st.AdamSyn.step32(st.Syn, sr.dSyn, cfg.ImageLR)
			if cfg.Method == DD && !cfg.FixedLR {
				st.AdamLR.step64(st.RawLR, sr.dRawLR, cfg.LRLR)
			}
		} else {
			// A diverged inner run (exploding learning rate) gives no
			// usable gradient: skip the update rather than poison the
			// images; the next θ0 and batch usually recover. (JSON has no
			// NaN, so the row says Skipped instead.)
			stats.Loss, stats.Before, stats.Skipped = 0, 0, true
		}
		if cfg.Method == DD {
			stats.MeanLR = meanExp(st.RawLR)
		}
		stats.Seconds = time.Since(t0).Seconds()
		st.History = append(st.History, stats)
		st.Iteration++
		elapsed := time.Since(start)
		done := st.Iteration - startIter
		eta := time.Duration(float64(elapsed) / float64(done) * float64(cfg.Iterations-st.Iteration))
		progress(Progress{Iteration: st.Iteration, Iterations: cfg.Iterations, Stats: stats, Elapsed: elapsed, ETA: eta})
		if cfg.OutDir != "" && cfg.SnapshotEvery > 0 && (st.Iteration%cfg.SnapshotEvery == 0 || st.Iteration == cfg.Iterations) {
			if err := snapshot(); err != nil {
				return nil, err
			}
			if err := save(); err != nil {
				return nil, err
			}
			progress(Progress{Iteration: st.Iteration, Iterations: cfg.Iterations, Stats: stats, Elapsed: elapsed, ETA: eta,
				Message: fmt.Sprintf("snapshot %s", st.Snapshots[len(st.Snapshots)-1])})
		}
	}
	res.fill(cfg, st, real, lo, hi)
	if cfg.OutDir != "" {
		if err := save(); err != nil {
			return nil, err
		}
		if err := WriteDAS(cfg.OutDir, res.DAS); err != nil {
			return nil, err
		}
		if err := writeHistory(cfg.OutDir, st.History); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (r *Result) fill(cfg Config, st *state, real *dataset.Tensors, lo, hi float32) {
	r.DAS = newDAS(cfg, st, real, lo, hi)
	r.History = slices.Clone(st.History)
	r.Snapshots = slices.Clone(st.Snapshots)
}

// thetaSeed is the seed of θ0 in outer iteration it: a fixed function of
// the run's seed and the iteration, so resumed runs draw the same networks.
func thetaSeed(seed int64, it int) int64 {
	return int64(rand.New(rand.NewPCG(uint64(seed), uint64(it)+0x9e3779b97f4a7c15)).Uint64() >> 1)
}

// initialState draws the starting images (class-major) and learning rates;
// mean and std are real's channel statistics (Tensors.ChannelStats), the
// distribution of noise initialisation.
func initialState(cfg Config, real *dataset.Tensors, byClass [][]int, mean, std []float32) *state {
	size := real.ImageSize()
	k := len(cfg.Classes)
	st := &state{Syn: make([]float32, k*cfg.IPC*size)}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0xd15711))
	for c := range k {
		for j := range cfg.IPC {
			dst := st.Syn[(c*cfg.IPC+j)*size : (c*cfg.IPC+j+1)*size]
			if cfg.Init == InitReal {
				copy(dst, real.Image(byClass[c][rng.IntN(len(byClass[c]))]))
				continue
			}
			for p := range dst {
				ch := p % real.C
				dst[p] = mean[ch] + std[ch]*float32(rng.NormFloat64())
			}
		}
	}
	st.AdamSyn = newAdam(len(st.Syn))
	if cfg.Method == DD {
		st.RawLR = make([]float64, cfg.T())
		for i := range st.RawLR {
			st.RawLR[i] = math.Log(cfg.InitLR)
		}
		st.AdamLR = newAdam(len(st.RawLR))
	}
	return st
}

// sampleReal draws perClass images of every class (with replacement only
// when a class has fewer), class-major, and their class indices.
func sampleReal(real *dataset.Tensors, byClass [][]int, perClass int, rng *rand.Rand) ([]float32, []int32) {
	size := real.ImageSize()
	x := make([]float32, len(byClass)*perClass*size)
	y := make([]int32, len(byClass)*perClass)
	for c, ids := range byClass {
		var pick []int
		if len(ids) >= perClass {
			perm := rng.Perm(len(ids))[:perClass]
			for _, p := range perm {
				pick = append(pick, ids[p])
			}
		} else {
			for range perClass {
				pick = append(pick, ids[rng.IntN(len(ids))])
			}
		}
		for j, i := range pick {
			n := c*perClass + j
			copy(x[n*size:(n+1)*size], real.Image(i))
			y[n] = int32(c)
		}
	}
	return x, y
}

// valueRange returns the smallest and largest finite value of x: the range
// in which distilled images are drawn as PNGs.
func valueRange(x []float32) (lo, hi float32) {
	lo, hi = plot.FiniteRange(x)
	if !(hi > lo) {
		hi = lo + 1
	}
	return lo, hi
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func finiteSlice(x []float32) bool {
	for _, v := range x {
		if v != v || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

func finite64(x []float64) bool {
	for _, v := range x {
		if !finite(v) {
			return false
		}
	}
	return true
}

func meanExp(raw []float64) float64 {
	if len(raw) == 0 {
		return 0
	}
	s := 0.0
	for _, r := range raw {
		s += math.Exp(r)
	}
	return s / float64(len(raw))
}

// LearnedLRs returns exp of the raw learning rates.
func learnedLRs(raw []float64) []float64 {
	out := make([]float64, len(raw))
	for i, r := range raw {
		out[i] = math.Exp(r)
	}
	return out
}

// adam is Adam (Kingma & Ba) on the host, β1 = 0.9, β2 = 0.999, ε = 1e-8:
// the parameters it updates (a few images, T learning rates) are tiny, so
// keeping it out of the graph costs nothing and lets the checkpoint store
// its moments next to the images.
type adam struct {
	M, V []float64
	Step int
}

func newAdam(n int) adam { return adam{M: make([]float64, n), V: make([]float64, n)} }

const (
	adamB1  = 0.9
	adamB2  = 0.999
	adamEps = 1e-8
)

// update returns the step direction of element i for gradient g; bc1 and
// bc2 are the bias corrections 1-β^t of the current step.
func (a *adam) update(i int, g, bc1, bc2 float64) float64 {
	a.M[i] = adamB1*a.M[i] + (1-adamB1)*g
	a.V[i] = adamB2*a.V[i] + (1-adamB2)*g*g
	return (a.M[i] / bc1) / (math.Sqrt(a.V[i]/bc2) + adamEps)
}

func (a *adam) corrections() (bc1, bc2 float64) {
	a.Step++
	return 1 - math.Pow(adamB1, float64(a.Step)), 1 - math.Pow(adamB2, float64(a.Step))
}

func (a *adam) step32(x, g []float32, lr float64) {
	bc1, bc2 := a.corrections()
	for i := range x {
		x[i] -= float32(lr * a.update(i, float64(g[i]), bc1, bc2))
	}
}

func (a *adam) step64(x, g []float64, lr float64) {
	bc1, bc2 := a.corrections()
	for i := range x {
		x[i] -= lr * a.update(i, g[i], bc1, bc2)
	}
}

// classNames returns the label names of classes.
func classNames(classes []fernb.Label) []string {
	out := make([]string, len(classes))
	for i, l := range classes {
		out[i] = l.String()
	}
	return out
}

func logOf(v float64) float64 { return math.Log(v) }
