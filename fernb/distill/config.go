package distill

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/models"
)

// Method selects the distillation algorithm.
type Method string

const (
	// DD is Dataset Distillation (Wang et al. 2018, Eq. 8): images and
	// per-step learning rates are learned through T unrolled SGD steps
	// (second-order gradients).
	DD Method = "dd"
	// DM is Distribution Matching (Zhao & Bilen 2023): images are learned so
	// that their per-class mean embedding under random networks matches the
	// real data's (first-order only).
	DM Method = "dm"
)

// ParseMethod accepts "dd" or "dm" (any case).
func ParseMethod(s string) (Method, error) {
	switch m := Method(s); m {
	case DD, DM:
		return m, nil
	case "DD":
		return DD, nil
	case "DM":
		return DM, nil
	}
	return "", fmt.Errorf("distill: unknown method %q (want dd or dm)", s)
}

// Init says how the synthetic images start.
type Init string

const (
	// InitReal starts each synthetic image from a random real image of its
	// class (DM's choice; images stay face-like).
	InitReal Init = "real"
	// InitNoise starts from Gaussian noise with the real data's per-channel
	// mean and standard deviation (Wang et al.'s choice).
	InitNoise Init = "noise"
)

// Config is a distillation run. Zero fields take the defaults listed with
// each field (see WithDefaults). The DD defaults follow Wang et al. (10
// distill steps, inner lr 0.02, Adam) except that the default is one
// distill epoch (T = 10), not three: an outer iteration costs about T
// forward-backward-backward passes, so T = 30 costs about three times as
// much per iteration (BenchmarkDDOuterIteration measures it); set
// Epochs: 3 for the paper's T = 30.
type Config struct {
	Method Method `json:"method"` // DD (default) or DM
	// IPC is the number of synthetic images per class (default 1: the
	// paper's DAS). Images are stored class-major: image i has class i/IPC.
	IPC int `json:"ipc"`
	// Classes are the classes to distil, in logit order; empty means every
	// label present in the real set, in label order.
	Classes []fernb.Label `json:"-"`
	// Model is the inner network (default fer-cnn at the real images' size;
	// NumClasses is always len(Classes) (at least 2), Dropout always 0).
	Model models.Config `json:"model"`

	// Iterations is the number of outer iterations (default 100 for DD,
	// 200 for DM).
	Iterations int `json:"iterations"`
	// Steps and Epochs are DD's distill steps and distill epochs: the inner
	// network takes T = Steps x Epochs SGD steps on the synthetic images,
	// each with its own learned learning rate (defaults 10 and 1).
	Steps  int `json:"steps,omitempty"`
	Epochs int `json:"epochs,omitempty"`
	// InitLR is the initial inner learning rate of every step (default
	// 0.02); FixedLR keeps it instead of learning it.
	InitLR  float64 `json:"init_lr,omitempty"`
	FixedLR bool    `json:"fixed_lr,omitempty"`
	// ImageLR and LRLR are Adam's step sizes on the images and on the log
	// learning rates (defaults 0.01 and 0.01, for DM too: at 0.05 DM's
	// images turn to texture; see the package documentation).
	ImageLR float64 `json:"image_lr"`
	LRLR    float64 `json:"lr_lr,omitempty"`
	// RealPerClass is how many real images of each class one outer
	// iteration sees (default 8 for DD, 32 for DM); classes with fewer are
	// sampled with replacement.
	RealPerClass int `json:"real_per_class"`
	// FixedInit keeps one network initialisation θ0 (drawn from Seed) for
	// the whole run instead of drawing a fresh one every outer iteration.
	// The images then only work for that θ0; resampling (the default) is
	// what makes them useful for training new networks.
	FixedInit bool `json:"fixed_init,omitempty"`
	// Init is how the images start (default InitNoise for DD, InitReal for
	// DM).
	Init Init `json:"init"`
	// DMBatchStats makes DM's networks normalise with batch statistics
	// (DM's own code for BN networks) instead of their initial running
	// statistics; see the package documentation.
	DMBatchStats bool `json:"dm_batch_stats,omitempty"`
	// DSA passes the real and synthetic images of every DM iteration
	// through the same random transformation (differentiable Siamese
	// augmentation, as DM's authors run it; see augment.go for the
	// transformations and why). DM only.
	DSA  bool  `json:"dsa,omitempty"`
	Seed int64 `json:"seed"`

	// OutDir, when set, receives the DAS (see WriteDAS), snapshots, the loss
	// history and a resume checkpoint; a Run started on a directory holding
	// a checkpoint of the same configuration resumes from it.
	OutDir string `json:"-"`
	// SnapshotEvery saves the images every N outer iterations under
	// OutDir/snapshots (default Iterations/10, at least 1; <0 disables).
	SnapshotEvery int `json:"-"`
	// Source describes the real data (manifest or data set) for das.json.
	Source string `json:"-"`
}

// WithDefaults returns c with its zero fields filled for real images of
// size h x w x ch.
func (c Config) WithDefaults(h, w, ch int) Config {
	if c.Method == "" {
		c.Method = DD
	}
	if c.IPC == 0 {
		c.IPC = 1
	}
	if c.Model.Height == 0 {
		c.Model.Height = h
	}
	if c.Model.Width == 0 {
		c.Model.Width = w
	}
	if c.Model.Channels == 0 {
		c.Model.Channels = ch
	}
	// The inner network classifies the distilled classes; DM only uses its
	// features, so a single-class DM run still gets a (two-way) head that the
	// models registry accepts.
	c.Model.NumClasses = max(len(c.Classes), 2)
	c.Model.Dropout = 0
	// Zero fields take the method's defaults (cmp.Or keeps a set value).
	if c.Method == DD {
		c.Iterations = cmp.Or(c.Iterations, 100)
		c.Steps = cmp.Or(c.Steps, 10)
		c.Epochs = cmp.Or(c.Epochs, 1)
		c.InitLR = cmp.Or(c.InitLR, 0.02)
		c.LRLR = cmp.Or(c.LRLR, 0.01)
		c.ImageLR = cmp.Or(c.ImageLR, 0.01)
		c.RealPerClass = cmp.Or(c.RealPerClass, 8)
		c.Init = cmp.Or(c.Init, InitNoise)
	} else {
		c.Iterations = cmp.Or(c.Iterations, 200)
		c.ImageLR = cmp.Or(c.ImageLR, 0.01)
		c.RealPerClass = cmp.Or(c.RealPerClass, 32)
		c.Init = cmp.Or(c.Init, InitReal)
	}
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = max(1, c.Iterations/10)
	}
	return c
}

// T is the number of unrolled inner steps (DD).
func (c Config) T() int { return c.Steps * c.Epochs }

func (c Config) validate() error {
	var errs []error
	if c.Method != DD && c.Method != DM {
		errs = append(errs, fmt.Errorf("Method=%q, want dd or dm", c.Method))
	}
	if c.IPC < 1 {
		errs = append(errs, fmt.Errorf("IPC=%d, want >= 1", c.IPC))
	}
	// DM matches each class on its own, so a VAS that covers a single class
	// still distils (into that class's images); DD's cross-entropy needs at
	// least two classes to say anything.
	if minClasses := map[Method]int{DD: 2, DM: 1}[c.Method]; len(c.Classes) < minClasses {
		errs = append(errs, fmt.Errorf("%d classes, want >= %d for %s", len(c.Classes), minClasses, c.Method))
	}
	seen := map[fernb.Label]bool{}
	for _, l := range c.Classes {
		if !l.Valid() || seen[l] {
			errs = append(errs, fmt.Errorf("Classes: %v is invalid or repeated", l))
		}
		seen[l] = true
	}
	if c.DSA && c.Method != DM {
		errs = append(errs, fmt.Errorf("DSA is implemented for DM only, not %s", c.Method))
	}
	if c.Iterations < 1 {
		errs = append(errs, fmt.Errorf("Iterations=%d, want >= 1", c.Iterations))
	}
	if c.Method == DD {
		if c.Steps < 1 || c.Epochs < 1 {
			errs = append(errs, fmt.Errorf("Steps=%d, Epochs=%d, want >= 1", c.Steps, c.Epochs))
		}
		if !(c.InitLR > 0) || math.IsInf(c.InitLR, 0) {
			errs = append(errs, fmt.Errorf("InitLR=%v, want > 0", c.InitLR))
		}
		if c.LRLR < 0 {
			errs = append(errs, fmt.Errorf("LRLR=%v, want >= 0", c.LRLR))
		}
	}
	if !(c.ImageLR > 0) {
		errs = append(errs, fmt.Errorf("ImageLR=%v, want > 0", c.ImageLR))
	}
	if c.RealPerClass < 1 {
		errs = append(errs, fmt.Errorf("RealPerClass=%d, want >= 1", c.RealPerClass))
	}
	if c.Init != InitReal && c.Init != InitNoise {
		errs = append(errs, fmt.Errorf("Init=%q, want %q or %q", c.Init, InitReal, InitNoise))
	}
	if len(errs) > 0 {
		return fmt.Errorf("distill: bad config: %w", errors.Join(errs...))
	}
	return nil
}

// PresentClasses returns the labels that occur in t, in label order
// (unlabelled images ignored): the default class list of a run.
func PresentClasses(t *dataset.Tensors) []fernb.Label {
	var out []fernb.Label
	counts := t.ClassCounts()
	for l := range fernb.NumLabels {
		if counts[l] > 0 {
			out = append(out, fernb.Label(l))
		}
	}
	return out
}

// classIndex lists, per class of classes, the indices of t's images with
// that label.
func classIndex(t *dataset.Tensors, classes []fernb.Label) ([][]int, error) {
	idx := make([][]int, len(classes))
	for i, l := range t.Labels {
		if k := slices.Index(classes, l); k >= 0 {
			idx[k] = append(idx[k], i)
		}
	}
	for k, ids := range idx {
		if len(ids) == 0 {
			return nil, fmt.Errorf("distill: no real image of class %v", classes[k])
		}
	}
	return idx, nil
}
