package experiment

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/distill"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/omni"
	"github.com/fernb/fernb/fernb/train"
)

// Source is one data set: a format and a path the dataset package reads
// (for format "synthetic" the path is a spec such as "lab,n=700,seed=1"),
// and the split to use ("" = every image).
type Source struct {
	Name   string `json:"name"`
	Format string `json:"format"`
	Path   string `json:"path"`
	Split  string `json:"split,omitempty"`
}

func (s Source) String() string {
	if s.Split != "" {
		return fmt.Sprintf("%s:%s[%s]", s.Format, s.Path, s.Split)
	}
	return s.Format + ":" + s.Path
}

// Test is a test set and the protocol it is scored with (Inner or Cross).
type Test struct {
	Source
	Kind ProtocolKind `json:"kind"`
}

// Setup is the data of an experiment: where the primitive learner is
// trained (Anchor), the pool the VAS is selected from, the set the variants
// are trained on (Train) and how they are tested.
type Setup struct {
	Title string `json:"title"`
	// Table is the paper's table (0 for the synthetic pipeline).
	Table     int    `json:"table,omitempty"`
	Synthetic bool   `json:"synthetic"`
	Anchor    Source `json:"anchor"`
	Pool      Source `json:"pool"`
	// Train is what the variants train on; the zero value means Anchor.
	Train Source `json:"train"`
	// Folded, when its Kind is KFold or LOSO, splits Train into folds
	// (CK+, JAFFE); Tests are then ignored.
	Folded Protocol `json:"folded"`
	Tests  []Test   `json:"tests,omitempty"`
}

func (s Setup) train() Source {
	if s.Train.Format == "" {
		return s.Anchor
	}
	return s.Train
}

func (s Setup) folded() bool { return s.Folded.Kind == KFold || s.Folded.Kind == LOSO }

// Config is a whole experiment: data, model, recipe, selection,
// distillation, seeds and variants.
type Config struct {
	// OutDir receives results.json, results.md, report.md, figures/ and
	// the cache of checkpoints, manifests and distilled sets (cache/).
	OutDir string `json:"-"`
	// ResultsDir, when set, receives the results files and figures instead
	// of OutDir (which still holds the cache): several experiments sharing
	// one cache each keep their own results.
	ResultsDir string `json:"-"`
	Quick      bool   `json:"quick,omitempty"`
	Setup      Setup  `json:"setup"`
	// Preprocess is how every image becomes a model input.
	Preprocess dataset.Preprocess `json:"-"`
	Model      models.Config      `json:"model"`
	// Train is the recipe of every model (the primitive learner and the
	// variants), the paper's by default.
	Train train.Config `json:"train"`
	// Seeds are the training seeds; the primitive learner (and so the VAS
	// and DAS) uses the first.
	Seeds    []int64   `json:"seeds"`
	Variants []Variant `json:"variants"`
	// Selection is the pseudo-labelling rule (the paper's cosine margin).
	Selection omni.Selection `json:"selection"`
	// Distill configures the DAS (method, iterations, ...).
	Distill distill.Config `json:"distill"`
	// VASRatio is the share of every batch drawn from the VAS (+VAS).
	VASRatio float64 `json:"vas_ratio"`
	// Limit, when > 0, keeps at most this many images of every labelled
	// set (a per-class stratified subset drawn from a fixed seed): for
	// smoke runs of a real-data setting on a small machine. Results made
	// with it say so in their data notes, and its models are cached apart
	// from a full run's in the same output directory.
	Limit int `json:"limit,omitempty"`
	// AllowRealImages lets the figures that draw faces draw real ones (for
	// a local, git-ignored results directory; never for notebooks).
	AllowRealImages bool `json:"-"`
	// Progress receives progress events; nil ignores them.
	Progress func(Event) `json:"-"`
}

// Event is a progress report: a stage (with its epoch when training), how
// far it is, and a detail (loss, accuracy, ETA).
type Event struct {
	Stage       string
	Step, Steps int
	Detail      string
}

// SyntheticSetup is the embedded default: 48x48 grayscale synthetic faces,
// lab anchor (train), held-out lab faces (inner test), wild faces (cross
// test, the domain gap the pool helps with) and an unlabelled pool. Each set
// has its own generator seed, so no identity appears in two of them.
func SyntheticSetup(quick bool) Setup {
	nAnchor, nTest, nPool := 700, 350, 2800
	if quick {
		nAnchor, nTest, nPool = 210, 140, 700
	}
	syn := func(name, spec string) Source { return Source{Name: name, Format: "synthetic", Path: spec} }
	return Setup{
		Title:     "omni-supervised pipeline on the synthetic stand-in faces",
		Synthetic: true,
		Anchor:    syn("synthetic lab (anchor)", fmt.Sprintf("lab,n=%d,seed=11", nAnchor)),
		Pool:      syn("synthetic pool", fmt.Sprintf("pool,n=%d,seed=14", nPool)),
		Tests: []Test{
			{Source: syn("lab test", fmt.Sprintf("lab,n=%d,seed=12", nTest)), Kind: Inner},
			{Source: syn("wild test", fmt.Sprintf("wild,n=%d,seed=13", nTest)), Kind: Cross},
		},
	}
}

// SyntheticConfig is `fernb reproduce` with no data: the CPU-sized fer-cnn
// (half width, 32x32 grayscale) on the synthetic setup. Its seed count is
// what lets the paired differences of +VAS and +DAS to the baseline of the
// same seed tell a gain from seed-to-seed noise on the wild test, within the
// budget of a few CPU-minutes on a fresh two-core machine (the trainings of
// 8 epochs over 700 anchor faces, three per seed, dominate it); the results
// document records the measurement behind the choice. Quick mode (tests,
// notebooks) is a few times smaller still.
func SyntheticConfig(outDir string, quick bool) Config {
	size := 32
	tc := train.DefaultConfig()
	tc.Epochs, tc.BatchSize, tc.LR, tc.DecayEvery = 8, 32, 0.01, 6
	seeds := make([]int64, 12)
	for i := range seeds {
		seeds[i] = int64(i + 1)
	}
	// DM starts every DAS image from a real VAS face of its class and moves
	// it with Adam at 0.01 rather than DM's 0.05: Adam steps every pixel by
	// about the step size, so at 0.05 the faces turn to high-frequency
	// texture. DSA (differentiable Siamese augmentation, as DM's authors
	// run it) matches the faces under shifts, scalings, rotations, flips,
	// cut-outs and colour changes, and the DAS is then trained on under the
	// same transformations: the combination that helped on this setup,
	// where neither half alone did (ten-seed numbers in
	// notebooks/RESULTS.md).
	dc := distill.Config{Method: distill.DM, IPC: 1, Iterations: 60, RealPerClass: 16, Seed: 1,
		Init: distill.InitReal, ImageLR: 0.01, DSA: true}
	if quick {
		size = 32
		tc.Epochs, tc.DecayEvery = 4, 3
		seeds = []int64{1, 2}
		dc.Iterations, dc.RealPerClass = 10, 8
	}
	mc := models.Config{Name: "fer-cnn", Height: size, Width: size, Channels: 1, NumClasses: 7, WidthMult: 0.5}
	dc.Model = mc
	return Config{
		OutDir:     outDir,
		Quick:      quick,
		Setup:      SyntheticSetup(quick),
		Preprocess: dataset.Preprocess{Height: size, Width: size, Channels: 1},
		Model:      mc,
		Train:      tc,
		Seeds:      seeds,
		Variants:   Variants(),
		Selection:  omni.Selection{Rule: omni.Rule{Kind: omni.Cosine, Margin: 0.1}},
		Distill:    dc,
		VASRatio:   0.25,
	}
}

// ErrDataMissing is returned by TableConfig when a data set the table needs
// is not in the data directory.
var ErrDataMissing = errors.New("data set not found")

// candidates are the places, relative to a data directory, where each data
// set is looked for (a directory, an archive or a file), with its format.
var candidates = map[string][]Source{
	"rafdb":   {{Format: "rafdb", Path: "RAF-DB"}, {Format: "rafdb", Path: "rafdb"}, {Format: "rafdb", Path: "basic"}, {Format: "rafdb", Path: "rafdb.zip"}, {Format: "rafdb", Path: "basic.zip"}, {Format: "rafdb", Path: "rafdb.tar"}},
	"fer2013": {{Format: "fer2013csv", Path: "fer2013/fer2013.csv"}, {Format: "fer2013csv", Path: "fer2013.csv"}, {Format: "folder", Path: "fer2013"}, {Format: "folder", Path: "fer2013.tar"}, {Format: "folder", Path: "fer2013-dev.tar"}},
	"ckplus":  {{Format: "ckplus", Path: "CK+"}, {Format: "ckplus", Path: "ckplus"}, {Format: "ckplus", Path: "ckplus.zip"}},
	"jaffe":   {{Format: "jaffe", Path: "jaffe"}, {Format: "jaffe", Path: "JAFFE"}, {Format: "jaffe", Path: "jaffe.zip"}},
	"mmi":     {{Format: "mmi", Path: "mmi"}, {Format: "mmi", Path: "MMI"}},
	"msceleb": {{Format: "recordio", Path: "ms-celeb-1m"}, {Format: "recordio", Path: "msceleb"}, {Format: "recordio", Path: "faces_emore"}, {Format: "recordio", Path: "ms1m"},
		{Format: "pool", Path: "pool"}, {Format: "pool", Path: "pool.tar"}, {Format: "pool", Path: "pool.tar.gz"}, {Format: "pool", Path: "pool.zip"}},
}

var displayName = map[string]string{"rafdb": "RAF-DB", "fer2013": "FER-2013", "ckplus": "CK+", "jaffe": "JAFFE", "mmi": "MMI", "msceleb": "MS-Celeb-1M"}

// FindData looks for data set key (rafdb, fer2013, ckplus, jaffe, mmi,
// msceleb) in dir and returns where it is, or an error wrapping
// ErrDataMissing that lists the places it looked. The first match wins:
//
//	RAF-DB       RAF-DB/, rafdb/, basic/, rafdb.zip, basic.zip, rafdb.tar (format rafdb)
//	FER-2013     fer2013/fer2013.csv, fer2013.csv                   (fer2013csv)
//	             fer2013/, fer2013.tar, fer2013-dev.tar             (folder: split/class/image)
//	CK+          CK+/, ckplus/, ckplus.zip                          (ckplus)
//	JAFFE        jaffe/, JAFFE/, jaffe.zip                          (jaffe)
//	MMI          mmi/, MMI/                                         (mmi)
//	MS-Celeb-1M  ms-celeb-1m/, msceleb/, faces_emore/, ms1m/        (recordio: train.rec + train.idx)
//	             pool/, pool.tar, pool.tar.gz, pool.zip             (pool: any images, e.g. UTKFace)
func FindData(dir, key string) (Source, error) {
	cands, ok := candidates[key]
	if !ok {
		return Source{}, fmt.Errorf("experiment: unknown data set %q", key)
	}
	var tried []string
	for _, c := range cands {
		p := filepath.Join(dir, c.Path)
		tried = append(tried, p)
		if _, err := os.Stat(p); err == nil {
			c.Path, c.Name = p, displayName[key]
			if key == "msceleb" && c.Format == "pool" {
				c.Name = "face pool " + filepath.Base(p) + " (in place of MS-Celeb-1M)"
			}
			return c, nil
		}
	}
	return Source{}, fmt.Errorf("%w: %s is not in %s (looked for %s; see data/README.md for how to obtain and lay it out)",
		ErrDataMissing, displayName[key], dir, strings.Join(tried, ", "))
}

// PaperModel returns the paper's model for a name: "vgg-face" (VGG-F) or
// "resnet34" at 224 px RGB, or a CPU-sized model ("fer-cnn" at 48 px
// grayscale).
func PaperModel(name string) (models.Config, dataset.Preprocess, error) {
	switch name {
	case "vgg-face", "vgg-f", "resnet34", "resnet18":
		if name == "vgg-f" {
			name = "vgg-face"
		}
		return models.Config{Name: name, Height: 224, Width: 224, Channels: 3, NumClasses: 7},
			dataset.Preprocess{Height: 224, Width: 224, Channels: 3}, nil
	case "fer-cnn", "":
		return models.Config{Name: "fer-cnn", Height: 48, Width: 48, Channels: 1, NumClasses: 7},
			dataset.Preprocess{Height: 48, Width: 48, Channels: 1}, nil
	}
	return models.Config{}, dataset.Preprocess{}, fmt.Errorf("experiment: unknown model %q (want vgg-face, resnet34, resnet18 or fer-cnn)", name)
}

// TableConfig sets up the paper's Table n on real data in dataDir, with the
// paper's recipe (SGD momentum 0.9, lr 0.001 x0.1 every 10 epochs, 25
// epochs, flips) and model (vgg-face by default). The anchor set is RAF-DB
// for Tables 1 and 3-7 and FER-2013 for Table 2; the pool is MS-Celeb-1M
// (RecordIO) or any folder of faces under pool/. It returns an error wrapping
// ErrDataMissing when a data set is not there.
func TableConfig(n int, dataDir, outDir, model string) (Config, error) {
	paper, err := PaperTableN(n)
	if err != nil {
		return Config{}, err
	}
	if model == "" {
		model = "vgg-face"
	}
	mc, pre, err := PaperModel(model)
	if err != nil {
		return Config{}, err
	}
	need := func(key string) (Source, error) { return FindData(dataDir, key) }
	anchorKey := "rafdb"
	if n == 2 {
		anchorKey = "fer2013"
	}
	anchor, err := need(anchorKey)
	if err != nil {
		return Config{}, fmt.Errorf("table %d: %w", n, err)
	}
	pool, err := need("msceleb")
	if err != nil {
		return Config{}, fmt.Errorf("table %d: %w", n, err)
	}
	s := Setup{Title: paper.Title, Table: n, Pool: pool}
	s.Anchor = anchor
	s.Anchor.Split = "train"
	testSplit := "test"
	if anchor.Format == "fer2013csv" || anchorKey == "fer2013" {
		testSplit = "publictest"
	}
	switch n {
	case 1, 2:
		t := anchor
		t.Split, t.Name = testSplit, anchor.Name+" test"
		s.Tests = []Test{{Source: t, Kind: Inner}}
	case 3:
		ck, err := need("ckplus")
		if err != nil {
			return Config{}, fmt.Errorf("table %d: %w", n, err)
		}
		s.Train, s.Folded = ck, Protocol{Kind: KFold, K: 10, Seed: 1}
	default:
		key := map[int]string{4: "ckplus", 5: "jaffe", 6: "mmi", 7: "fer2013"}[n]
		target, err := need(key)
		if err != nil {
			return Config{}, fmt.Errorf("table %d: %w", n, err)
		}
		if key == "fer2013" {
			target.Split = "publictest"
		}
		s.Tests = []Test{{Source: target, Kind: Cross}}
	}
	dc := distill.Config{Method: distill.DM, IPC: 1, Seed: 1, Model: models.Config{Name: "fer-cnn", Height: pre.Height, Width: pre.Width, Channels: pre.Channels, NumClasses: 7}}
	return Config{
		OutDir:     outDir,
		Setup:      s,
		Preprocess: pre,
		Model:      mc,
		Train:      train.DefaultConfig(),
		Seeds:      []int64{1},
		Variants:   Variants(),
		Selection:  omni.Selection{Rule: omni.Rule{Kind: omni.Cosine, Margin: 0.1}},
		Distill:    dc,
		VASRatio:   0.25,
	}, nil
}

// NotebookConfig is the synthetic pipeline the stage notebooks share: its
// cache is results/quick in quick mode and results/ otherwise (the directory
// `fernb reproduce` writes by default), so a notebook reuses what reproduce or
// an earlier notebook trained.
func NotebookConfig(quick bool) Config {
	name := ""
	if quick {
		name = "quick"
	}
	return SyntheticConfig(QuickCacheDir(name), quick)
}

// ForTable returns the configuration of the paper's Table n: on the real
// data in dataDir when it holds what the table needs, otherwise the
// synthetic stand-in (sharing the notebooks' cache), with a message saying
// which it is and why. Quick mode shrinks either to a few minutes.
func ForTable(n int, dataDir string, quick bool) (Config, string, error) {
	paper, err := PaperTableN(n)
	if err != nil {
		return Config{}, "", err
	}
	why := "no data directory given (set FERNB_DATA_DIR)"
	if dataDir != "" {
		name := fmt.Sprintf("table%d", n)
		if quick {
			name += "-quick"
		}
		cfg, err := TableConfig(n, dataDir, QuickCacheDir(name), "")
		if err == nil {
			cfg.ResultsDir = filepath.Join(cfg.OutDir, fmt.Sprintf("table%d", n))
			if quick {
				cfg.Quick = true
				cfg.Train.Epochs = 1
				cfg.Model, cfg.Preprocess, _ = PaperModel("fer-cnn")
				cfg.Distill.Model = cfg.Model
				cfg.Distill.Iterations = 5
				cfg.Limit = 700
			}
			return cfg, fmt.Sprintf("Table %d (%s) on the real data in %s.", n, paper.Title, dataDir), nil
		}
		if !errors.Is(err, ErrDataMissing) {
			return Config{}, "", err
		}
		why = err.Error()
	}
	cfg := NotebookConfig(quick)
	stand := "inner-dataset: the lab test column stands in"
	switch {
	case n == 3:
		k := 10
		if quick {
			k = 3
			cfg.Seeds = cfg.Seeds[:1]
		}
		cfg.Setup.Folded = Protocol{Kind: KFold, K: k, Seed: 1}
		cfg.Setup.Title = fmt.Sprintf("%d-fold subject-independent protocol on the synthetic lab faces", k)
		stand = fmt.Sprintf("%d-fold subject-independent cross-validation on the synthetic lab faces stands in", k)
	case n >= 4:
		stand = "cross-dataset: the wild test column stands in"
	}
	cfg.Setup.Table = n
	cfg.ResultsDir = filepath.Join(cfg.OutDir, fmt.Sprintf("table%d", n))
	msg := fmt.Sprintf("The real data for Table %d (%s) is absent: %s. Running the SYNTHETIC STAND-IN instead (%s); "+
		"its numbers are not the paper's.", n, paper.Title, why, stand)
	return cfg, msg, nil
}
