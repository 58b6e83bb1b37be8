package models

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/nn"
	"github.com/gomlx/gomlx/core/graph"
)

// DefaultName is the model used when Config.Name is empty: the CPU-sized
// FER CNN, which trains on the 2-core machines this project runs on.
const DefaultName = "fer-cnn"

// Config chooses a network and its input. Zero fields take the model's
// defaults (see New).
type Config struct {
	// Name is a registry name (Names()); "" means DefaultName.
	Name string `json:"name"`
	// Height, Width and Channels (1 = grayscale, 3 = RGB) of the input images.
	Height   int `json:"height"`
	Width    int `json:"width"`
	Channels int `json:"channels"`
	// NumClasses is the number of logits; 0 means fernb.NumBasic (7).
	NumClasses int `json:"num_classes"`
	// WidthMult scales every layer's channel count (and VGG's dense width);
	// 0 means 1.
	WidthMult float64 `json:"width_mult,omitempty"`
	// Dropout is the drop rate before the classifier in training (0 = none).
	Dropout float64 `json:"dropout,omitempty"`
}

// Output is what Apply returns.
type Output struct {
	// Logits is [N, NumClasses].
	Logits *graph.Node
	// Features is the penultimate activation, [N, FeatureDim]: what the
	// classifier sees, and what the selection stage compares with centroids.
	Features *graph.Node
	// Updates holds the new values of non-trainable parameters computed in a
	// training pass (batch-norm running statistics, dropout RNG state),
	// keyed by parameter name. Empty in inference.
	Updates nn.Params
}

// Net is a built model: its parameters' specifications and a function that
// applies it to a batch.
type Net struct {
	Config Config
	// Specs lists every parameter (trainable weights and non-trainable
	// running statistics) in a fixed order.
	Specs []nn.ParamSpec
	// FeatureDim is the length of Output.Features.
	FeatureDim int
	// Apply runs the network on x [N, Height, Width, Channels]. training
	// selects batch statistics (and returns their running updates) and
	// enables dropout.
	Apply func(p nn.Params, x *graph.Node, training bool) Output
	// Layers describes each convolution / dense / pooling layer with its
	// output shape and FLOPs, in order.
	Layers []Layer
	// FLOPs is the forward cost of one image: 2 x multiply-adds of the
	// convolution and dense layers (batch norm, ReLU and pooling add well
	// under 1% and are not counted). A training step costs about 3x this
	// (forward, gradient w.r.t. activations, gradient w.r.t. weights).
	FLOPs int64
	// NeedsRNG is true when the model has dropout: its training Apply then
	// needs p[RNGParam] (see RNGParam).
	NeedsRNG bool
}

// Layer is one entry of Net.Layers.
type Layer struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"` // conv, dense, maxpool, gap, bn
	OutH    int    `json:"out_h,omitempty"`
	OutW    int    `json:"out_w,omitempty"`
	OutC    int    `json:"out_c"`
	FLOPs   int64  `json:"flops"`
	Details string `json:"details,omitempty"`
}

// NumParams returns the number of trainable scalar parameters.
func (n *Net) NumParams() int {
	total := 0
	for _, s := range n.Specs {
		if s.Trainable {
			total += prod(s.Shape)
		}
	}
	return total
}

// NumStateParams returns the number of non-trainable scalars (batch-norm
// running statistics).
func (n *Net) NumStateParams() int {
	total := 0
	for _, s := range n.Specs {
		if !s.Trainable {
			total += prod(s.Shape)
		}
	}
	return total
}

func prod(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}

// constructor builds a model from a Config whose defaults are filled in.
type constructor struct {
	defaultSize int
	build       func(cfg Config) (*Net, error)
	summary     string
}

// registry is read-only after package initialisation.
var registry = map[string]constructor{
	"fer-cnn": {48, buildFERCNN,
		"three conv-BN-ReLU-maxpool blocks (32/64/128 ch), dense 256 (features), dense classes; ~1.27M params at 48x48x1"},
	"fer-cnn-deep": {48, buildFERCNNDeep,
		"four blocks of two conv-BN-ReLU (32/64/128/256 ch, second one pooled), dense 256 (features), dense classes; ~1.76M params at 48x48x1"},
	"vgg-face": {224, buildVGG16,
		"VGG-16 topology (13 conv 3x3 + BN, 5 maxpools, dense 4096, 4096 (features), classes), width multiplier"},
	"resnet18": {224, func(c Config) (*Net, error) { return buildResNet(c, []int{2, 2, 2, 2}) },
		"ResNet-18 (basic blocks 2-2-2-2), global average pool features (512 x width)"},
	"resnet34": {224, func(c Config) (*Net, error) { return buildResNet(c, []int{3, 4, 6, 3}) },
		"ResNet-34 (basic blocks 3-4-6-3), global average pool features (512 x width)"},
}

// Names lists the registered model names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Summary returns a one-line description of a registered model.
func Summary(name string) string { return registry[name].summary }

// WithDefaults returns cfg with its zero fields replaced by the model's
// defaults: input size (48 for fer-cnn, 224 for vgg-face and the ResNets),
// 1 channel, fernb.NumBasic classes, width 1.
func WithDefaults(cfg Config) (Config, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	cfg.Name = strings.ToLower(strings.TrimSpace(cfg.Name))
	c, ok := registry[cfg.Name]
	if !ok {
		return cfg, fmt.Errorf("models: unknown model %q (known: %s)", cfg.Name, strings.Join(Names(), ", "))
	}
	if cfg.Height == 0 {
		cfg.Height = c.defaultSize
	}
	if cfg.Width == 0 {
		cfg.Width = cfg.Height
	}
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.NumClasses == 0 {
		cfg.NumClasses = fernb.NumBasic
	}
	if cfg.WidthMult == 0 {
		cfg.WidthMult = 1
	}
	return cfg, nil
}

// New builds the named model. Errors name the field that is out of range.
func New(cfg Config) (*Net, error) {
	cfg, err := WithDefaults(cfg)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Channels != 1 && cfg.Channels != 3:
		return nil, fmt.Errorf("models: %s: Channels=%d, want 1 (grayscale) or 3 (RGB)", cfg.Name, cfg.Channels)
	case cfg.NumClasses < 2:
		return nil, fmt.Errorf("models: %s: NumClasses=%d, want >= 2", cfg.Name, cfg.NumClasses)
	case cfg.WidthMult <= 0 || math.IsNaN(cfg.WidthMult):
		return nil, fmt.Errorf("models: %s: WidthMult=%v, want > 0", cfg.Name, cfg.WidthMult)
	case cfg.Dropout < 0 || cfg.Dropout >= 1:
		return nil, fmt.Errorf("models: %s: Dropout=%v, want in [0, 1)", cfg.Name, cfg.Dropout)
	}
	return registry[cfg.Name].build(cfg)
}

// ParseInput parses an input size written "HxWxC" (e.g. "48x48x1") or
// "HxW" (1 channel) or "S" (S x S x 1).
func ParseInput(s string) (h, w, c int, err error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "x")
	vals := make([]int, len(parts))
	for i, p := range parts {
		if _, err := fmt.Sscanf(p, "%d", &vals[i]); err != nil || vals[i] <= 0 {
			return 0, 0, 0, fmt.Errorf("models: bad input size %q: want HxWxC, e.g. 48x48x1", s)
		}
	}
	switch len(vals) {
	case 1:
		return vals[0], vals[0], 1, nil
	case 2:
		return vals[0], vals[1], 1, nil
	case 3:
		return vals[0], vals[1], vals[2], nil
	}
	return 0, 0, 0, fmt.Errorf("models: bad input size %q: want HxWxC, e.g. 48x48x1", s)
}

// scaled returns round(c * mult), at least 1.
func scaled(c int, mult float64) int {
	v := int(math.Round(float64(c) * mult))
	if v < 1 {
		v = 1
	}
	return v
}
