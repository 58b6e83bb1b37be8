package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/face"
)

// Config is a training recipe. Zero fields take the paper's values (see
// DefaultConfig); set a field to override it.
type Config struct {
	Epochs    int `json:"epochs"`     // 25
	BatchSize int `json:"batch_size"` // 64

	LR          float64 `json:"lr"`                     // 0.001
	Momentum    float64 `json:"momentum"`               // 0.9
	WeightDecay float64 `json:"weight_decay,omitempty"` // 0
	Nesterov    bool    `json:"nesterov,omitempty"`
	// DecayEvery and DecayFactor are the step schedule: the learning rate of
	// epoch e (0-based) is LR * DecayFactor^(e / DecayEvery). DecayEvery < 0
	// disables it.
	DecayEvery  int     `json:"decay_every"`  // 10
	DecayFactor float64 `json:"decay_factor"` // 0.1

	// NoFlip disables the random horizontal flip (probability 0.5 per image)
	// that the paper trains with.
	NoFlip bool `json:"no_flip,omitempty"`

	// The rest of the recipe FER training usually adds to the flip; every
	// option is off at its zero value, which trains exactly as before (the
	// same draws, the same batches). Each image of a batch, auxiliary ones
	// included, gets its own draw from the step's random stream.
	//
	// Crop is pad-and-crop: the image is shifted by a whole number of
	// pixels drawn uniformly from [-Crop, Crop] on each axis, the uncovered
	// border repeating the edge pixels (EvalOptions.TenCrop is its
	// test-time counterpart).
	Crop int `json:"crop,omitempty"`
	// Rotate is the largest rotation in degrees: the angle is uniform in
	// [-Rotate, Rotate].
	Rotate float64 `json:"rotate,omitempty"`
	// Scale is the largest relative zoom: the factor is uniform in
	// [1-Scale, 1+Scale].
	Scale float64 `json:"scale,omitempty"`
	// Erase is the probability that an image gets random erasing: one
	// rectangle of 2-33% of its area (aspect 0.3-3.3) set to 0, which is the
	// mean of normalised (--mean/--std) pixels and black for [0,1] ones.
	Erase float64 `json:"erase,omitempty"`

	// LabelSmoothing is the weight moved from the true class to the uniform
	// distribution in the loss's target: (1-e)*onehot + e/K.
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`

	// Schedule is the learning-rate schedule: ScheduleStep (the default:
	// DecayEvery, DecayFactor) or ScheduleCosine, GoMLX's cosine annealing
	// from LR down to MinLR over the run's steps, after WarmupEpochs of
	// linear warm-up from MinLR. The cosine schedule is computed in the step
	// graph from a step counter kept in the checkpoint.
	Schedule     Schedule `json:"schedule,omitempty"`
	WarmupEpochs int      `json:"warmup_epochs,omitempty"`
	MinLR        float64  `json:"min_lr,omitempty"`

	// Balance counters class imbalance (FER-2013 has far fewer disgust
	// faces than happy ones): BalanceWeights weighs each training image's loss
	// by the inverse of its class's frequency, BalanceSample draws each
	// epoch's images class-first (a class uniformly, then one of its images
	// uniformly, with replacement). Auxiliary images keep Aux.Weight.
	Balance Balance `json:"balance,omitempty"`

	// Seed drives initial weights, shuffling, augmentation and auxiliary
	// draws.
	Seed int64 `json:"seed"`

	// Labels is the label order of the logits: logit i scores Labels[i].
	// Empty means the first NumClasses labels (Angry..Neutral for 7).
	// Training images whose label is not in it are left out and counted in
	// Result.Skipped.
	Labels []fernb.Label `json:"-"`

	// CheckpointDir, when set, receives a checkpoint every epoch, every
	// CheckpointEvery inside an epoch, and on cancellation; a Fit started
	// on a directory holding one resumes from it. Keep is how many GoMLX
	// checkpoints to keep (default 2: the latest, and the one a resume
	// falls back to when the latest was cut short by a kill).
	CheckpointDir string `json:"-"`
	Keep          int    `json:"-"`
	// CheckpointEvery bounds the work a killed run loses: inside an epoch
	// a checkpoint (with the batch position, so the resumed run is the
	// uninterrupted one) is saved once this much time passed since the
	// last one. Zero means DefaultCheckpointEvery; negative, only at
	// epoch ends and on cancellation.
	CheckpointEvery time.Duration `json:"-"`

	// Normalization describes what the pixels of the training set went
	// through; it is recorded in the checkpoint so that evaluation data can
	// be prepared the same way. Train does not apply it.
	Normalization Normalization `json:"-"`

	// Init, when set, is a checkpoint directory (written by Fit) whose
	// network weights start this run instead of random ones: fine-tuning,
	// or branching several variants (+VAS, +DAS) off one primitive learner
	// so that they differ only in what they train on afterwards. The
	// optimizer state and the epoch count start afresh. Ignored when the
	// run resumes from its own CheckpointDir. The model and label order
	// must match.
	Init string `json:"init,omitempty"`

	// Aux adds auxiliary samples (the selected VAS or distilled DAS images)
	// to the training batches; nil trains on the training set alone.
	Aux *Aux `json:"-"`

	// EvalBatchSize is the batch of the per-epoch validation pass
	// (default 2 x BatchSize).
	EvalBatchSize int `json:"-"`
}

// DefaultCheckpointEvery is Config.CheckpointEvery's default: short next
// to an epoch of the larger models on a CPU, long next to the time one
// checkpoint takes to write.
const DefaultCheckpointEvery = 5 * time.Minute

// DefaultConfig returns the paper's recipe: 25 epochs of batch 64, SGD with
// momentum 0.9 from lr 0.001, x0.1 every 10 epochs, random horizontal flips.
func DefaultConfig() Config {
	return Config{Epochs: 25, BatchSize: 64, LR: 0.001, Momentum: 0.9, DecayEvery: 10, DecayFactor: 0.1}
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults(numClasses int) Config {
	d := DefaultConfig()
	if c.Epochs == 0 {
		c.Epochs = d.Epochs
	}
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.LR == 0 {
		c.LR = d.LR
	}
	if c.Momentum == 0 {
		c.Momentum = d.Momentum
	}
	if c.DecayEvery == 0 {
		c.DecayEvery = d.DecayEvery
	}
	if c.DecayFactor == 0 {
		c.DecayFactor = d.DecayFactor
	}
	if c.Keep == 0 {
		c.Keep = 2
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	if c.EvalBatchSize == 0 {
		c.EvalBatchSize = 2 * c.BatchSize
	}
	if len(c.Labels) == 0 {
		c.Labels = DefaultLabels(numClasses)
	}
	return c
}

func (c Config) validate(numClasses int) error {
	var errs []error
	if c.Epochs < 1 {
		errs = append(errs, fmt.Errorf("Epochs=%d, want >= 1", c.Epochs))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("BatchSize=%d, want >= 1", c.BatchSize))
	}
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		errs = append(errs, fmt.Errorf("LR=%v, want > 0", c.LR))
	}
	if c.Momentum < 0 || c.Momentum >= 1 {
		errs = append(errs, fmt.Errorf("Momentum=%v, want in [0, 1)", c.Momentum))
	}
	if c.WeightDecay < 0 {
		errs = append(errs, fmt.Errorf("WeightDecay=%v, want >= 0", c.WeightDecay))
	}
	if c.DecayFactor <= 0 || c.DecayFactor > 1 {
		errs = append(errs, fmt.Errorf("DecayFactor=%v, want in (0, 1]", c.DecayFactor))
	}
	errs = append(errs, c.validateRecipe()...)
	if len(c.Labels) != numClasses {
		errs = append(errs, fmt.Errorf("%d labels in Labels for a model with %d classes", len(c.Labels), numClasses))
	}
	seen := map[fernb.Label]bool{}
	for _, l := range c.Labels {
		if !l.Valid() || seen[l] {
			errs = append(errs, fmt.Errorf("Labels: %v is invalid or repeated", l))
		}
		seen[l] = true
	}
	if c.Aux != nil {
		if err := c.Aux.validate(c.BatchSize); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("train: bad config: %w", errors.Join(errs...))
	}
	return nil
}

// LRAt returns the learning rate of epoch (0-based) under the step schedule.
func (c Config) LRAt(epoch int) float64 {
	if c.DecayEvery <= 0 {
		return c.LR
	}
	return c.LR * math.Pow(c.DecayFactor, float64(epoch/c.DecayEvery))
}

// DefaultLabels returns the first n labels of fernb's label space.
func DefaultLabels(n int) []fernb.Label {
	out := make([]fernb.Label, n)
	for i := range out {
		out[i] = fernb.Label(i)
	}
	return out
}

// Normalization records how pixel values were prepared, so that a
// checkpoint can say it. Kind names the scheme ("scale01": value/255;
// "meanstd": (value/255-Mean)/Std per channel); Preprocess, when set, is
// the dataset.Preprocess itself (JSON), which evaluation code decodes and
// reuses (Meta.Preprocess).
type Normalization struct {
	Kind       string          `json:"kind,omitempty"`
	Mean       []float64       `json:"mean,omitempty"`
	Std        []float64       `json:"std,omitempty"`
	Preprocess json.RawMessage `json:"preprocess,omitempty"`
	// Align is the face alignment the training images went through (nil:
	// none), without the machine-local cascade directory.
	Align *face.Options `json:"align,omitempty"`
}

// NormalizationOf describes a dataset.Preprocess (without its
// machine-local fields: cache directory, workers) for a checkpoint.
func NormalizationOf(pre dataset.Preprocess) Normalization {
	pre.CacheDir, pre.Workers = "", 0
	n := Normalization{Kind: "scale01"}
	if len(pre.Mean) > 0 || len(pre.Std) > 0 {
		n.Kind = "meanstd"
	}
	for _, v := range pre.Mean {
		n.Mean = append(n.Mean, float64(v))
	}
	for _, v := range pre.Std {
		n.Std = append(n.Std, float64(v))
	}
	n.Preprocess, _ = json.Marshal(pre) // cannot fail: plain numbers and strings
	if pre.Align != nil {
		o := pre.Align.Options()
		o.CascadeDir = ""
		n.Align = &o
	}
	return n
}

// Preprocess returns the dataset.Preprocess that prepares images for the
// checkpoint: the one it recorded, else its input size with its mean/std
// (values in [0,1] when none).
func (m *Meta) Preprocess() (dataset.Preprocess, error) {
	var pre dataset.Preprocess
	norm := m.Normalization
	if len(norm.Preprocess) > 0 {
		if err := json.Unmarshal(norm.Preprocess, &pre); err != nil {
			return pre, fmt.Errorf("train: %s: recorded preprocessing: %w", MetaFile, err)
		}
	} else {
		for _, v := range norm.Mean {
			pre.Mean = append(pre.Mean, float32(v))
		}
		for _, v := range norm.Std {
			pre.Std = append(pre.Std, float32(v))
		}
	}
	pre.Height, pre.Width, pre.Channels = m.Input.Height, m.Input.Width, m.Input.Channels
	return pre, nil
}

// AuxMode says how auxiliary samples enter training.
type AuxMode string

const (
	// AuxMix draws a fixed number of each batch's images (Aux.PerBatch)
	// from the auxiliary set, the rest from the training set: anchor + VAS,
	// where the pool samples are many.
	AuxMix AuxMode = "mix"
	// AuxAppend appends the whole auxiliary set to every batch: anchor +
	// DAS, where the distilled set is one image per class and would
	// otherwise be seen once an epoch, far too rarely to matter.
	AuxAppend AuxMode = "append"
)

// Aux is the auxiliary-samples hook of issue 6.
type Aux struct {
	Set  *dataset.Tensors
	Mode AuxMode
	// PerBatch is, for AuxMix, how many of the BatchSize images come from
	// Set (drawn uniformly with replacement from the step's seed). Ignored
	// for AuxAppend, whose batches are BatchSize + Set.N images.
	PerBatch int
	// Weight multiplies the loss of the auxiliary images (default 1).
	Weight float64
	// Augment, when set, transforms every auxiliary image in place (an
	// h x w x c image) after it is copied into a batch and flipped, drawing
	// from the step's random stream so runs stay reproducible. A DAS
	// distilled under augmentation is meant to be trained on under the same
	// augmentation (distill.Augment gives DSA's transformations).
	Augment func(img []float32, h, w, c int, rng *rand.Rand)
}

func (a *Aux) validate(batch int) error {
	if a.Set == nil || a.Set.N == 0 {
		return fmt.Errorf("Aux: empty auxiliary set")
	}
	if err := a.Set.Validate(); err != nil {
		return fmt.Errorf("Aux: %w", err)
	}
	switch a.Mode {
	case AuxMix:
		if a.PerBatch < 1 || a.PerBatch >= batch {
			return fmt.Errorf("Aux: PerBatch=%d, want in [1, BatchSize-1=%d]", a.PerBatch, batch-1)
		}
	case AuxAppend:
	default:
		return fmt.Errorf("Aux: unknown mode %q (want %q or %q)", a.Mode, AuxMix, AuxAppend)
	}
	if a.Weight < 0 {
		return fmt.Errorf("Aux: Weight=%v, want >= 0", a.Weight)
	}
	return nil
}

// Progress is reported by Fit as it goes.
type Progress struct {
	Stage  string // "train", "validate", "checkpoint", "resume"
	Epoch  int    // 1-based
	Epochs int
	Step   int // 1-based within the epoch
	Steps  int
	LR     float64
	// Loss and Acc are the running means over the epoch so far.
	Loss, Acc float64
	Elapsed   time.Duration // since Fit started (this process)
	ETA       time.Duration // remaining, from this process's step rate
	Message   string
}

// EpochStats is one row of the training history.
type EpochStats struct {
	Epoch int `json:"epoch"` // 1-based
	// LR is the epoch's learning rate; under the cosine schedule, the rate
	// of its last step.
	LR        float64 `json:"lr"`
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_acc"`
	ValLoss   float64 `json:"val_loss,omitempty"`
	ValAcc    float64 `json:"val_acc,omitempty"`
	// Seconds is the epoch's training wall time (excluding validation and
	// checkpointing), summed over the processes that ran it.
	Seconds    float64 `json:"seconds"`
	ValSeconds float64 `json:"val_seconds,omitempty"`
	Images     int     `json:"images"`
}
