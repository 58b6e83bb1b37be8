package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/dataset/synth"
	"github.com/fernb/fernb/fernb/distill"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/omni"
	"github.com/fernb/fernb/fernb/train"
	"github.com/gomlx/compute"
)

// Pipeline runs an experiment stage by stage. Each stage method does one step
// of the paper, caches what it makes in Config.OutDir and keeps it in the
// Pipeline, so that a notebook can call one stage per cell and `fernb
// reproduce` calls them all (Run). Stages call the stages they depend on.
type Pipeline struct {
	Cfg     Config
	Backend compute.Backend

	// Data, after LoadData.
	Anchor    *dataset.Tensors
	TrainSet  *dataset.Tensors
	TestSets  []*dataset.Tensors
	DataInfo  []DataInfo
	poolCount int

	// The primitive learner, after Primitive.
	Primitive    *train.Model
	PrimitiveDir string
	PrimitiveLog []train.EpochStats

	// The selection, after Select.
	Centroids *omni.CentroidSet
	Manifest  string
	// ScoresPath holds every pool image's similarities (any margin).
	ScoresPath string
	VASHeader  *omni.Header
	VASItems   []omni.Entry
	VAS        *dataset.Tensors
	selInfo    *SelectionInfo

	// The distillation, after Distill.
	DAS        *distill.DAS
	DASDir     string
	DistillLog []distill.IterStats
	distInfo   *DistillInfo

	// Runs, after Evaluate.
	Runs      []RunResult
	Histories map[string][]train.EpochStats // by variant, of the first seed's model (first fold)

	started time.Time
	stages  map[string]float64
}

// NewPipeline checks cfg and opens the backend (fernb.NewBackend).
func NewPipeline(cfg Config) (*Pipeline, error) {
	if cfg.OutDir == "" {
		return nil, errors.New("experiment: Config.OutDir is required")
	}
	if len(cfg.Seeds) == 0 {
		cfg.Seeds = []int64{1}
	}
	if len(cfg.Variants) == 0 {
		cfg.Variants = Variants()
	}
	if cfg.VASRatio <= 0 {
		cfg.VASRatio = 0.25
	}
	if cfg.Preprocess.Height == 0 {
		cfg.Preprocess.Height, cfg.Preprocess.Width, cfg.Preprocess.Channels = cfg.Model.Height, cfg.Model.Width, cfg.Model.Channels
	}
	mc, err := models.WithDefaults(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	cfg.Model = mc
	if mc.Height != cfg.Preprocess.Height || mc.Width != cfg.Preprocess.Width || mc.Channels != cfg.Preprocess.Channels {
		return nil, fmt.Errorf("experiment: model input %dx%dx%d differs from the preprocessing's %dx%dx%d",
			mc.Height, mc.Width, mc.Channels, cfg.Preprocess.Height, cfg.Preprocess.Width, cfg.Preprocess.Channels)
	}
	if err := cfg.Selection.Validate(); err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	b, err := fernb.NewBackend()
	if err != nil {
		return nil, err
	}
	return &Pipeline{Cfg: cfg, Backend: b, started: time.Now(), stages: map[string]float64{}, Histories: map[string][]train.EpochStats{}}, nil
}

// Close releases the models and the backend.
func (p *Pipeline) Close() {
	if p.Primitive != nil {
		p.Primitive.Finalize()
		p.Primitive = nil
	}
	if p.Backend != nil {
		p.Backend.Finalize()
		p.Backend = nil
	}
}

func (p *Pipeline) progress(e Event) {
	if p.Cfg.Progress != nil {
		p.Cfg.Progress(e)
	}
}

func (p *Pipeline) timed(stage string, t0 time.Time) { p.stages[stage] += time.Since(t0).Seconds() }

// key hashes v (JSON) into a short name for a cache directory.
func key(v ...any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("experiment: cache key: %v", err))
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

func (p *Pipeline) cache(name string) string {
	if a := p.Cfg.Preprocess.Align; a != nil { // aligned images: other models, manifests, distilled sets
		name = "align-" + key(a.Key()) + "-" + name
	}
	return filepath.Join(p.Cfg.OutDir, "cache", name)
}

// LoadData loads the anchor, training and test sets (7 basic classes) into
// memory. The pool is streamed later, by Select.
func (p *Pipeline) LoadData(ctx context.Context) error {
	if p.Anchor != nil {
		return nil
	}
	t0 := time.Now()
	defer p.timed("data", t0)
	s := p.Cfg.Setup
	var err error
	if p.Anchor, err = p.load(ctx, "anchor", s.Anchor); err != nil {
		return err
	}
	if s.train() == s.Anchor {
		p.TrainSet = p.Anchor
	} else if p.TrainSet, err = p.load(ctx, "train", s.train()); err != nil {
		return err
	}
	{
		// Test sets are loaded for folded protocols too (then unused by
		// the folds) so that the primitive learner is the same model, and
		// the same cache entry, as in the inner/cross setting.
		for _, t := range s.Tests {
			ts, err := p.load(ctx, "test", t.Source)
			if err != nil {
				return err
			}
			p.TestSets = append(p.TestSets, ts)
		}
	}
	pool, err := dataset.OpenPool(s.Pool.Format, s.Pool.Path, dataset.Options{})
	if err != nil {
		return fmt.Errorf("experiment: pool %s: %w", s.Pool.Name, err)
	}
	p.poolCount = pool.Len()
	pool.Close()
	p.DataInfo = append(p.DataInfo, DataInfo{Role: "pool", Name: s.Pool.Name, Format: s.Pool.Format, Path: s.Pool.Path, Images: p.poolCount})
	return nil
}

func (p *Pipeline) load(ctx context.Context, role string, src Source) (*dataset.Tensors, error) {
	p.progress(Event{Stage: "loading " + src.Name})
	d, err := dataset.Open(src.Format, src.Path, dataset.Options{})
	if err != nil {
		return nil, fmt.Errorf("experiment: %s set %s: %w", role, src.Name, err)
	}
	defer d.Close()
	items, err := d.Split(src.Split)
	if err != nil {
		return nil, fmt.Errorf("experiment: %s set %s: %w", role, src.Name, err)
	}
	items, note := dataset.Basic7(items)
	if lim := p.Cfg.Limit; lim > 0 && len(items) > lim {
		_, keep := dataset.StratifiedSplit(items, float64(lim)/float64(len(items)), 1)
		note = strings.TrimSpace(note + fmt.Sprintf(" limited to %d of %d images (stratified subset, --limit)", len(keep), len(items)))
		items = dataset.Select(items, keep)
	}
	pre := p.Cfg.Preprocess
	if !p.Cfg.Setup.Synthetic {
		pre.CacheDir = p.cache("decoded")
	}
	t, err := d.Load(ctx, items, pre)
	if err != nil {
		return nil, fmt.Errorf("experiment: loading %s: %w", src.Name, err)
	}
	if t.N == 0 {
		return nil, fmt.Errorf("experiment: %s set %s has no usable image (%s)", role, src.Name, d.Report)
	}
	if sk := d.Report.Skipped(); sk > 0 {
		note = strings.TrimSpace(note + fmt.Sprintf(" %d images skipped (corrupt, too large, missing or without a face)", sk))
	}
	note = strings.TrimSpace(note + " " + d.Report.AlignSummary())
	info := DataInfo{Role: role, Name: src.Name, Format: src.Format, Path: src.Path, Split: src.Split, Images: t.N, Counts: map[string]int{}, Note: note}
	cc := t.ClassCounts()
	for l := range fernb.NumLabels {
		if cc[l] > 0 {
			info.Counts[fernb.Label(l).String()] = cc[l]
		}
	}
	p.DataInfo = append(p.DataInfo, info)
	return t, nil
}

// trainProgress adapts train.Fit's progress to Events.
func (p *Pipeline) trainProgress(stage string) func(train.Progress) {
	return func(tp train.Progress) {
		if tp.Stage != "train" && tp.Message == "" {
			return
		}
		detail := fmt.Sprintf("loss %.3f acc %.1f%% lr %.2g ETA %s", tp.Loss, 100*tp.Acc, tp.LR, tp.ETA.Round(time.Second))
		if tp.Message != "" {
			detail = tp.Message
		}
		p.progress(Event{Stage: fmt.Sprintf("%s epoch %d/%d", stage, tp.Epoch, tp.Epochs), Step: tp.Step, Steps: tp.Steps, Detail: detail})
	}
}

// fit trains (or resumes, or reloads) one model in its cache directory.
func (p *Pipeline) fit(ctx context.Context, stage string, trainSet, val *dataset.Tensors, aux *train.Aux, seed int64, id ...any) (*train.Result, string, error) {
	tc := p.Cfg.Train
	tc.Seed = seed
	if p.Cfg.Limit > 0 { // a --limit run trains on other images: its own directory
		id = append(id, "limit", p.Cfg.Limit)
	}
	dir := p.cache("model-" + key(p.Cfg.Model, tc, p.Cfg.Preprocess.Height, id))
	tc.CheckpointDir = dir
	tc.Aux = aux
	tc.Normalization = train.Normalization{Kind: "scale01"}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("experiment: %w", err)
	}
	net, err := models.New(p.Cfg.Model)
	if err != nil {
		return nil, "", fmt.Errorf("experiment: %w", err)
	}
	res, err := train.Fit(ctx, p.Backend, net, trainSet, val, tc, p.trainProgress(stage))
	if err != nil {
		return nil, "", fmt.Errorf("experiment: training %s: %w", stage, err)
	}
	return res, dir, nil
}

// TrainPrimitive trains the primitive learner on the anchor set with the first
// seed (the paper's step 1). It is also the baseline model of that seed when
// the variants train on the anchor set.
func (p *Pipeline) TrainPrimitive(ctx context.Context) error {
	if p.Primitive != nil {
		return nil
	}
	if err := p.LoadData(ctx); err != nil {
		return err
	}
	t0 := time.Now()
	defer p.timed("primitive learner", t0)
	var val *dataset.Tensors
	if len(p.TestSets) > 0 && p.Cfg.Setup.train() == p.Cfg.Setup.Anchor {
		val = p.TestSets[0]
	}
	res, dir, err := p.fit(ctx, "primitive learner", p.Anchor, val, nil, p.Cfg.Seeds[0], p.Cfg.Setup.Anchor, Baseline, val != nil, nil, "")
	if err != nil {
		return err
	}
	p.Primitive, p.PrimitiveDir, p.PrimitiveLog = res.Model, dir, res.History
	return nil
}

// Select embeds the anchor set with the primitive learner, computes the
// class centroids and pseudo-labels the pool by the cosine margin (the
// paper's step 2), writing the scores and the VAS manifest (resumable), then
// decodes the selected images.
func (p *Pipeline) Select(ctx context.Context) error {
	if p.VAS != nil {
		return nil
	}
	if err := p.TrainPrimitive(ctx); err != nil {
		return err
	}
	t0 := time.Now()
	defer p.timed("selection", t0)
	s := p.Cfg.Setup
	// Scores depend on the model and the pool only; each selection rule
	// gets its own manifest from them, so trying another margin does not
	// embed the pool again.
	dir := p.cache("vas-" + key(p.PrimitiveDir, s.Pool))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	p.ScoresPath = filepath.Join(dir, "pool.scores.jsonl")
	p.Manifest = filepath.Join(dir, "vas-"+key(p.Cfg.Selection)+".jsonl")
	emb := omni.NewModelEmbedder(p.Primitive, 0)
	p.progress(Event{Stage: "selection: anchor centroids"})
	cent, err := omni.TensorsCentroids(ctx, emb, p.Anchor, 0)
	if err != nil {
		return fmt.Errorf("experiment: centroids: %w", err)
	}
	p.Centroids = cent
	if _, err := os.Stat(p.Manifest); err != nil {
		pool, err := dataset.OpenPool(s.Pool.Format, s.Pool.Path, dataset.Options{})
		if err != nil {
			return fmt.Errorf("experiment: pool: %w", err)
		}
		defer pool.Close()
		dp := &omni.DatasetPool{Pool: pool, Pre: p.Cfg.Preprocess}
		if s.Pool.Format == "synthetic" {
			if dp.Truth, err = synthTruth(s.Pool.Path); err != nil {
				return err
			}
		}
		total := p.poolCount
		_, err = omni.Run(ctx, dp, emb, omni.RunConfig{Out: p.Manifest, Scores: p.ScoresPath, Selection: p.Cfg.Selection,
			ScoreConfig: omni.ScoreConfig{Centroids: cent, Model: p.PrimitiveDir, Anchor: s.Anchor.String(),
				Progress: func(sp omni.ScoreProgress) {
					p.progress(Event{Stage: "selection: scoring the pool", Step: int(sp.Consumed), Steps: total})
				}}})
		if err != nil {
			return fmt.Errorf("experiment: selection: %w", err)
		}
	}
	h, entries, err := omni.ReadManifest(p.Manifest)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	if len(entries) == 0 {
		return fmt.Errorf("experiment: the margin %.3f selected no pool image; lower it", p.Cfg.Selection.Margin)
	}
	p.VASHeader, p.VASItems = h, entries
	p.progress(Event{Stage: "selection: loading the VAS images"})
	vas, missing, err := omni.LoadVAS(ctx, p.Manifest, omni.VASOptions{Preprocess: p.Cfg.Preprocess})
	if err != nil {
		return fmt.Errorf("experiment: loading the VAS: %w", err)
	}
	p.VAS = vas
	info := &SelectionInfo{Manifest: p.Manifest, Rule: string(p.Cfg.Selection.Kind), Margin: p.Cfg.Selection.Margin,
		Cap: p.Cfg.Selection.Cap, Scored: h.Scored, Selected: h.Selected, Counts: h.Counts}
	if missing > 0 {
		info.Selected -= int64(missing)
	}
	known, correct := 0, 0
	for _, e := range entries {
		if e.Truth != "" {
			known++
			if e.Truth == e.Name {
				correct++
			}
		}
	}
	if known > 0 {
		pr := float64(correct) / float64(known)
		info.Precision = &pr
	}
	p.selInfo = info
	return nil
}

// synthTruth returns the hidden truth of the synthetic pool's faces by
// their ref (never seen by the rule; only the precision report reads it).
func synthTruth(spec string) (func(ref string, label fernb.Label) string, error) {
	ss, err := dataset.ParseSynthSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	cfg := ss.Config
	cfg.Size, cfg.Channels = 16, 1
	g, err := synth.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	truth := map[string]string{}
	for i, f := range g.Range(0, cfg.N) {
		name := "none"
		if f.TrueLabel >= 0 {
			name = f.TrueLabel.String()
		}
		truth[g.Ref(i)] = name
	}
	return func(ref string, _ fernb.Label) string { return truth[ref] }, nil
}

// Distill distils the VAS into Distill.IPC images per class (the paper's
// step 3, DAS), resuming a cached run.
func (p *Pipeline) Distill(ctx context.Context) error {
	if p.DAS != nil {
		return nil
	}
	if err := p.Select(ctx); err != nil {
		return err
	}
	t0 := time.Now()
	defer p.timed("distillation", t0)
	dc := p.Cfg.Distill
	if dc.Model.Name == "" {
		dc.Model = p.Cfg.Model
	}
	dc.Model.NumClasses = 0
	dc.Model.Dropout = 0
	p.DASDir = p.cache("das-" + key(p.Manifest, dc))
	dc.OutDir = p.DASDir
	dc.Source = p.Manifest
	if d, err := distill.ReadDAS(p.DASDir); err == nil && d.Iteration >= dc.WithDefaults(p.VAS.H, p.VAS.W, p.VAS.C).Iterations {
		p.DAS = d
		p.DistillLog, _ = distill.ReadHistory(p.DASDir)
	} else {
		res, err := distill.Run(ctx, p.Backend, p.VAS, dc, func(dp distill.Progress) {
			detail := fmt.Sprintf("loss %.4g ETA %s", dp.Stats.Loss, dp.ETA.Round(time.Second))
			if dp.Message != "" {
				detail = dp.Message
			}
			p.progress(Event{Stage: "distillation (" + string(dc.Method) + ")", Step: dp.Iteration, Steps: dp.Iterations, Detail: detail})
		})
		if err != nil {
			return fmt.Errorf("experiment: distillation: %w", err)
		}
		p.DAS, p.DistillLog = res.DAS, res.History
	}
	info := &DistillInfo{Dir: p.DASDir, Method: string(p.DAS.Method), IPC: p.DAS.IPC, Iterations: p.DAS.Iteration, DSA: p.DAS.DSA}
	if n := len(p.DistillLog); n > 0 {
		info.FirstLoss, info.LastLoss = p.DistillLog[0].Loss, p.DistillLog[n-1].Loss
		for _, h := range p.DistillLog {
			info.Seconds += h.Seconds
		}
	}
	p.distInfo = info
	return nil
}

// aux returns the auxiliary hook of a variant.
func (p *Pipeline) aux(v Variant) (*train.Aux, any, int) {
	switch v {
	case VAS:
		per := int(math.Round(p.Cfg.VASRatio * float64(p.Cfg.Train.BatchSize)))
		return &train.Aux{Set: p.VAS, Mode: train.AuxMix, PerBatch: max(1, per)}, []any{p.Manifest, p.Cfg.VASRatio}, p.VAS.N
	case DAS:
		a := p.DAS.AppendAux(p.TrainSet, 0, false)
		if a.Augment == nil {
			return a, p.DASDir, p.DAS.Images.N
		}
		return a, []any{p.DASDir, "dsa"}, p.DAS.Images.N
	}
	return nil, nil, 0
}

// TrainVariant trains variant v with seed on the training set (or on fold f
// of it) and returns its result; cached models are reloaded.
func (p *Pipeline) trainVariant(ctx context.Context, v Variant, seed int64, f Fold) (*train.Result, string, error) {
	switch v {
	case VAS:
		if err := p.Select(ctx); err != nil {
			return nil, "", err
		}
	case DAS:
		if err := p.Distill(ctx); err != nil {
			return nil, "", err
		}
	}
	aux, auxID, _ := p.aux(v)
	stage := fmt.Sprintf("%s seed %d", v, seed)
	if f.Name != "test" {
		stage += " fold " + f.Name
	}
	var val *dataset.Tensors
	if p.Cfg.Setup.folded() {
		val = f.Test
	} else if len(p.TestSets) > 0 {
		val = p.TestSets[0]
	}
	trainSrc := p.Cfg.Setup.train()
	foldID := ""
	if p.Cfg.Setup.folded() {
		foldID = f.Name + "/" + key(p.Cfg.Setup.Folded)
	}
	return p.fit(ctx, stage, f.Train, val, aux, seed, trainSrc, v, val != nil, auxID, foldID)
}

// Evaluate trains every variant with every seed (on every fold) and
// evaluates it on every test set, filling Runs (the paper's steps 4-5).
func (p *Pipeline) Evaluate(ctx context.Context) error {
	if err := p.LoadData(ctx); err != nil {
		return err
	}
	p.Runs = nil
	for _, v := range p.Cfg.Variants {
		if err := p.EvaluateVariant(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

// EvaluateVariant trains and evaluates one variant (all seeds and folds) and
// appends its runs to Runs.
func (p *Pipeline) EvaluateVariant(ctx context.Context, v Variant) error {
	if err := p.LoadData(ctx); err != nil {
		return err
	}
	s := p.Cfg.Setup
	type target struct {
		name string
		fold Fold
	}
	var groups [][]target // per model: the tests it is scored on
	if s.folded() {
		folds, err := s.Folded.Folds(p.TrainSet, nil)
		if err != nil {
			return err
		}
		for _, f := range folds {
			groups = append(groups, []target{{s.train().Name, f}})
		}
	} else {
		var g []target
		for i, t := range s.Tests {
			folds, err := Protocol{Kind: t.Kind}.Folds(p.TrainSet, p.TestSets[i])
			if err != nil {
				return err
			}
			g = append(g, target{t.Name, folds[0]})
		}
		groups = append(groups, g)
	}
	// Keep the order: earlier runs of this variant are replaced.
	kept := p.Runs[:0:0]
	for _, r := range p.Runs {
		if r.Variant != v {
			kept = append(kept, r)
		}
	}
	p.Runs = kept
	for _, seed := range p.Cfg.Seeds {
		for _, g := range groups {
			t0 := time.Now()
			res, dir, err := p.trainVariant(ctx, v, seed, g[0].fold)
			p.timed("training "+string(v), t0)
			if err != nil {
				return err
			}
			if seed == p.Cfg.Seeds[0] {
				if _, ok := p.Histories[string(v)]; !ok {
					p.Histories[string(v)] = res.History
				}
			}
			var secs float64
			for _, h := range res.History {
				secs += h.Seconds
			}
			_, _, nAux := p.aux(v)
			t1 := time.Now()
			for _, t := range g {
				p.progress(Event{Stage: fmt.Sprintf("evaluating %s seed %d on %s", v, seed, t.name)})
				ev, err := res.Model.Evaluate(ctx, t.fold.Test, 0)
				if err != nil {
					return fmt.Errorf("experiment: evaluating %s on %s: %w", v, t.name, err)
				}
				p.Runs = append(p.Runs, RunResult{Variant: v, Test: t.name, Fold: t.fold.Name, Seed: seed,
					Accuracy: ev.Accuracy, MeanClassAccuracy: ev.MeanClassAccuracy, N: ev.N, Classes: ev.Classes,
					Confusion: ev.Confusion, Dropped: ev.Dropped, TrainImages: t.fold.Train.N, AuxImages: nAux,
					Epochs: len(res.History), TrainSeconds: secs, Checkpoint: dir})
			}
			p.timed("evaluation", t1)
			if res.Model != p.Primitive {
				res.Model.Finalize()
			}
		}
	}
	return nil
}

// Results assembles the record of what has run so far.
func (p *Pipeline) Results() *Results {
	s := p.Cfg.Setup
	cfgCopy := p.Cfg
	r := &Results{
		Title:     s.Title,
		Synthetic: s.Synthetic,
		Quick:     p.Cfg.Quick,
		Table:     s.Table,
		Config:    &cfgCopy,
		Seeds:     p.Cfg.Seeds,
		Data:      p.DataInfo,
		Model:     p.Cfg.Model,
		Train:     p.Cfg.Train,
		Epochs:    p.Cfg.Train.Epochs,
		Selection: p.selInfo,
		Distill:   p.distInfo,
		Env:       fernb.ReadEnv(),
		Started:   p.started.UTC().Format(time.RFC3339),
		Runs:      p.Runs,
		Summaries: Summarize(p.Runs),
	}
	if p.Backend != nil {
		r.Backend = p.Backend.Name()
	}
	r.Protocol = s.Folded
	if !s.folded() {
		r.Protocol = Protocol{Kind: Inner}
		if len(s.Tests) > 0 {
			r.Protocol.Kind = s.Tests[0].Kind
		}
	}
	if s.Synthetic {
		r.Note = "SYNTHETIC STAND-IN: these numbers come from fernb's procedurally generated faces " +
			"(lab anchor, synthetic pool, lab and wild test sets), with a CPU-sized model and recipe. " +
			"They show that the pipeline works end to end; they are not results on human facial expressions and are not the paper's."
	} else {
		r.Note = "computed by fernb on the real data sets listed under data, with the model and recipe recorded here; " +
			"the columns marked \"paper\" are the paper's own numbers, measured in the paper's setting (paper.setting)"
	}
	if s.Table > 0 {
		if pt, err := PaperTableN(s.Table); err == nil {
			r.Paper = &pt
		}
	} else if s.Synthetic {
		// The synthetic pipeline stands in for the FER-2013 setting of
		// Table 2, the one whose numbers fernb records.
		if pt, err := PaperTableN(2); err == nil {
			r.Paper = &pt
		}
	}
	r.StageSeconds = map[string]float64{}
	for k, v := range p.stages {
		r.StageSeconds[k] = math.Round(v*10) / 10
	}
	r.WallSeconds = math.Round(time.Since(p.started).Seconds()*10) / 10
	return r
}

// seedsString formats seeds for reports.
func seedsString(seeds []int64) string {
	s := make([]string, len(seeds))
	for i, v := range seeds {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, ", ")
}
