package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/fernb/fernb/fernb/internal/atomicfile"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/nn"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// MetaFile is the name of the self-description written next to GoMLX's
// checkpoint files.
const MetaFile = "fernb-model.json"

// MetaFormat identifies the layout of MetaFile, bumped on incompatible
// changes.
const MetaFormat = "fernb-model/1"

// modelScope is the store scope holding the network's variables.
const modelScope = "model"

// Meta is a checkpoint's self-description: everything needed to rebuild
// the network, prepare its input and name its outputs.
type Meta struct {
	Format string        `json:"format"`
	Model  models.Config `json:"model"`
	// Input is the image size the model takes, repeated from Model for
	// readers that do not know the model configuration.
	Input struct {
		Height   int `json:"height"`
		Width    int `json:"width"`
		Channels int `json:"channels"`
	} `json:"input"`
	Normalization Normalization `json:"normalization"`
	// Labels is the label order: logit i scores Labels[i] (canonical names,
	// fernb.ParseLabel reads them back).
	Labels      []string     `json:"labels"`
	FeatureDim  int          `json:"feature_dim"`
	NumParams   int          `json:"num_params"`
	Train       Config       `json:"train"`
	EpochsDone  int          `json:"epochs_done"`
	Complete    bool         `json:"complete"`
	History     []EpochStats `json:"history"`
	TrainImages int          `json:"train_images"`
	Version     string       `json:"fernb_version"`
}

// LabelOrder parses Meta.Labels.
func (m *Meta) LabelOrder() ([]fernb.Label, error) {
	out := make([]fernb.Label, len(m.Labels))
	for i, name := range m.Labels {
		l, err := fernb.ParseLabel(name)
		if err != nil {
			return nil, fmt.Errorf("train: %s: label %d: %w", MetaFile, i, err)
		}
		out[i] = l
	}
	return out, nil
}

// ReadMeta reads the self-description of the checkpoint in dir.
func ReadMeta(dir string) (*Meta, error) {
	path := filepath.Join(dir, MetaFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("train: %s is not a fernb checkpoint (no %s): %w", dir, MetaFile, err)
		}
		return nil, fmt.Errorf("train: reading %s: %w", path, err)
	}
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	if m.Format != MetaFormat {
		return nil, fmt.Errorf("train: %s: format %q, this fernb reads %q", path, m.Format, MetaFormat)
	}
	return &m, nil
}

// writeMeta writes m atomically (temp file + rename), so a reader never
// sees half a description.
func writeMeta(dir string, m *Meta) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("train: encoding %s: %w", MetaFile, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, MetaFile), append(data, '\n'), atomicfile.Mode); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// Model is a network with its weights, ready for inference: returned by
// Fit, or read from a checkpoint directory by LoadModel.
//
// Inference graphs may hold the weights as constants (the Go backend prefers
// them: the matrix multiply packs a constant operand once), so a Model
// rebuilds them after its weights change. Trainer.Step reports its own
// changes; code that sets Store's variables by hand calls WeightsChanged.
type Model struct {
	Net     *models.Net
	Meta    Meta
	Labels  []fernb.Label
	Store   *model.Store
	backend compute.Backend

	mu      sync.Mutex
	infer   *model.Exec // logits, features; compiled once per batch shape
	inferAt uint64      // the weights version infer was built at
	version uint64      // bumped by WeightsChanged
}

// WeightsChanged tells the model that Store's values changed, so inference
// graphs built with the old weights are dropped.
func (m *Model) WeightsChanged() {
	m.mu.Lock()
	m.version++
	m.mu.Unlock()
}

// Backend returns the backend the model runs on.
func (m *Model) Backend() compute.Backend { return m.backend }

// LoadModel reads a checkpoint directory written by Fit: its Meta, and the
// latest GoMLX checkpoint's weights.
func LoadModel(backend compute.Backend, dir string) (*Model, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return nil, err
	}
	net, err := models.New(meta.Model)
	if err != nil {
		return nil, fmt.Errorf("train: %s: %w", dir, err)
	}
	labels, err := meta.LabelOrder()
	if err != nil {
		return nil, err
	}
	if len(labels) != net.Config.NumClasses {
		return nil, fmt.Errorf("train: %s: %d labels for %d classes", dir, len(labels), net.Config.NumClasses)
	}
	store := model.NewStore()
	if _, err := checkpoint.Build(store).Dir(dir).Immediate().Done(); err != nil {
		if list, lerr := listCheckpoints(dir); lerr == nil && len(list) > 0 {
			if cerr := checkIntact(dir, list[len(list)-1]); cerr != nil {
				return nil, fmt.Errorf("train: %s: the latest checkpoint is damaged (%v); resuming its training run sets it aside and continues from the previous one", dir, cerr)
			}
		}
		return nil, fmt.Errorf("train: loading checkpoint %s: %w", dir, err)
	}
	m := &Model{Net: net, Meta: *meta, Labels: labels, Store: store, backend: backend}
	if err := m.checkVariables(); err != nil {
		return nil, fmt.Errorf("train: %s: %w", dir, err)
	}
	return m, nil
}

// checkVariables verifies that every parameter of the net has a value of
// the right shape in the store (a checkpoint of another model is caught
// here rather than by a panic deep in graph building).
func (m *Model) checkVariables() error {
	for _, s := range m.Net.Specs {
		path := "/" + modelScope + "/" + s.Name
		v := m.Store.GetVariable(path)
		if v == nil {
			return fmt.Errorf("checkpoint has no variable %s", path)
		}
		got := v.Shape().Dimensions
		if fmt.Sprint(got) != fmt.Sprint(s.Shape) {
			return fmt.Errorf("variable %s has shape %v, model wants %v", path, got, s.Shape)
		}
	}
	return nil
}

// inferExec returns the inference executor, built on first use and again
// after the weights changed.
func (m *Model) inferExec() (*model.Exec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.infer != nil && m.inferAt == m.version {
		return m.infer, nil
	}
	m.releaseInfer()
	net := m.Net
	e, err := model.NewExec(m.backend, m.Store, func(scope *model.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
		g := x.Graph()
		p, _ := bindVariables(scope.In(modelScope), g, net.Specs)
		out := net.Apply(p, x, false)
		return out.Logits, out.Features
	})
	if err != nil {
		return nil, fmt.Errorf("train: building inference: %w", err)
	}
	m.infer, m.inferAt = e, m.version
	return e, nil
}

// Finalize releases the compiled graphs and the weights' device memory.
func (m *Model) Finalize() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.releaseInfer()
}

// releaseInfer frees the inference executor, if any; m.mu must be held.
func (m *Model) releaseInfer() {
	if m.infer != nil {
		m.infer.Finalize()
		m.infer = nil
	}
}

// bindVariables binds the net's parameters under scope, as float32
// variables (paths /model/block1/conv/kernel, ...).
func bindVariables(scope *model.Scope, g *graph.Graph, specs []nn.ParamSpec) (nn.Params, map[string]*model.Variable) {
	return nn.BindVariables(scope, g, specs, dtypes.Float32)
}
