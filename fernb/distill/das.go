package distill

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/fernb/fernb/fernb/internal/atomicfile"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/models"
	"github.com/fernb/fernb/fernb/plot"
)

// DASFormat marks das.json.
const DASFormat = "fernb-das/1"

// File names inside a DAS directory.
const (
	// DASMeta is the JSON description (DAS without the pixels).
	DASMeta = "das.json"
	// DASImages holds the pixels: N*H*W*C little-endian IEEE-754 float32
	// values in NHWC row-major order, nothing else (numpy:
	// np.fromfile(p, "<f4").reshape(N, H, W, C)).
	DASImages = "images.f32"
	// DASGrid is the labelled grid of all images (the paper's Fig. 4).
	DASGrid = "grid.png"
	// DASPNGDir holds one PNG per image, "NNN_label.png".
	DASPNGDir = "png"
	// HistoryFile is the loss history (JSON list of IterStats) and LossPlot
	// its curve.
	HistoryFile = "history.json"
	LossPlot    = "loss.png"
	// SnapshotDir holds one DAS directory per snapshot, "iter_NNNNNN".
	SnapshotDir = "snapshots"
	// checkpointDir holds the resume state.
	checkpointDir = "checkpoint"
)

// DAS is a distilled auxiliary set: the synthetic images with their labels
// and how they were made. Images.Labels holds the class of every image
// (class-major, IPC per class); Images.Refs name them "das:NNN".
type DAS struct {
	Format  string   `json:"format"`
	Method  Method   `json:"method"`
	Classes []string `json:"classes"`
	IPC     int      `json:"ipc"`
	// Height, Width, Channels and N give the shape of images.f32.
	Height   int `json:"height"`
	Width    int `json:"width"`
	Channels int `json:"channels"`
	N        int `json:"n"`
	// Labels names the class of every image.
	Labels []string `json:"labels"`
	// LRs are DD's learned inner learning rates, one per unrolled step
	// (Steps x Epochs, step-major within an epoch).
	LRs       []float64     `json:"lrs,omitempty"`
	Steps     int           `json:"steps,omitempty"`
	Epochs    int           `json:"epochs,omitempty"`
	Iteration int           `json:"iteration"`
	Model     models.Config `json:"model"`
	FixedInit bool          `json:"fixed_init,omitempty"`
	// DSA says the images were distilled under differentiable Siamese
	// augmentation (Config.DSA): train on them under Augment's
	// transformations (Aux does so).
	DSA  bool  `json:"dsa,omitempty"`
	Seed int64 `json:"seed"`
	// Min and Max are the real data's value range, in which the PNGs are
	// drawn (values outside it are clipped in the PNGs, not in images.f32).
	Min    float32 `json:"min"`
	Max    float32 `json:"max"`
	Source string  `json:"source,omitempty"`

	Images *dataset.Tensors `json:"-"`
}

func newDAS(cfg Config, st *state, real *dataset.Tensors, lo, hi float32) *DAS {
	k := len(cfg.Classes)
	n := k * cfg.IPC
	t := dataset.NewTensors(n, real.H, real.W, real.C)
	copy(t.X, st.Syn)
	labels := make([]string, n)
	for i := range n {
		t.Labels[i] = cfg.Classes[i/cfg.IPC]
		t.Refs[i] = fmt.Sprintf("das:%03d", i)
		labels[i] = t.Labels[i].String()
	}
	d := &DAS{Format: DASFormat, Method: cfg.Method, Classes: classNames(cfg.Classes), IPC: cfg.IPC,
		Height: real.H, Width: real.W, Channels: real.C, N: n, Labels: labels, Iteration: st.Iteration,
		Model: cfg.Model, FixedInit: cfg.FixedInit, DSA: cfg.DSA, Seed: cfg.Seed, Min: lo, Max: hi, Source: cfg.Source, Images: t}
	if cfg.Method == DD {
		d.LRs, d.Steps, d.Epochs = learnedLRs(st.RawLR), cfg.Steps, cfg.Epochs
	}
	return d
}

// ClassLabels returns the classes as fernb labels (logit order).
func (d *DAS) ClassLabels() ([]fernb.Label, error) {
	out := make([]fernb.Label, len(d.Classes))
	for i, s := range d.Classes {
		l, err := fernb.ParseLabel(s)
		if err != nil {
			return nil, fmt.Errorf("distill: DAS class %q: %w", s, err)
		}
		out[i] = l
	}
	return out, nil
}

// WriteDAS writes d into dir: das.json, images.f32, one PNG per image and
// the labelled grid. Files are written under temporary names and renamed,
// so a reader never sees half a DAS.
func WriteDAS(dir string, d *DAS) error {
	if err := writeDASData(dir, d); err != nil {
		return err
	}
	if err := writePNGs(filepath.Join(dir, DASPNGDir), d); err != nil {
		return err
	}
	return saveGrid(filepath.Join(dir, DASGrid), d, "")
}

// writeDASData writes das.json and images.f32.
func writeDASData(dir string, d *DAS) error {
	if d.Images == nil || d.Images.N != d.N {
		return fmt.Errorf("distill: WriteDAS %s: images missing or not %d", dir, d.N)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("distill: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, DASImages), func(w io.Writer) error {
		return binary.Write(w, binary.LittleEndian, d.Images.X)
	}); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, DASMeta), d)
}

// ReadDAS reads a DAS directory written by WriteDAS (or a snapshot).
func ReadDAS(dir string) (*DAS, error) {
	meta := filepath.Join(dir, DASMeta)
	b, err := os.ReadFile(meta)
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	var d DAS
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("distill: %s: %w", meta, err)
	}
	if d.Format != DASFormat {
		return nil, fmt.Errorf("distill: %s: format %q, want %q", meta, d.Format, DASFormat)
	}
	if d.N < 1 || d.Height < 1 || d.Width < 1 || d.Channels < 1 || len(d.Labels) != d.N {
		return nil, fmt.Errorf("distill: %s: bad shape N=%d %dx%dx%d with %d labels", meta, d.N, d.Height, d.Width, d.Channels, len(d.Labels))
	}
	t := dataset.NewTensors(d.N, d.Height, d.Width, d.Channels)
	for i, s := range d.Labels {
		if t.Labels[i], err = fernb.ParseLabel(s); err != nil {
			return nil, fmt.Errorf("distill: %s: label %d: %w", meta, i, err)
		}
		t.Refs[i] = fmt.Sprintf("das:%03d", i)
	}
	path := filepath.Join(dir, DASImages)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	if len(raw) != 4*len(t.X) {
		return nil, fmt.Errorf("distill: %s: %d bytes, want %d (N*H*W*C float32 from %s)", path, len(raw), 4*len(t.X), DASMeta)
	}
	for i := range t.X {
		t.X[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	d.Images = t
	return &d, nil
}

// LoadDAS reads the images of a DAS directory as labelled Tensors: what
// training with auxiliary samples (`fernb train --aux das:DIR`) consumes.
func LoadDAS(dir string) (*dataset.Tensors, error) {
	d, err := ReadDAS(dir)
	if err != nil {
		return nil, err
	}
	return d.Images, nil
}

// Snapshots lists the snapshot directories of a run directory, in
// iteration order.
func Snapshots(runDir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(runDir, SnapshotDir, "iter_*"))
	if err != nil {
		return nil, err
	}
	slices.Sort(m)
	return m, nil
}

// images converts d's pixels to images in the real data's range.
func (d *DAS) images() ([]fernbImage, error) {
	imgs, err := plot.ImagesFromNHWC(d.Images.X, d.N, d.Height, d.Width, d.Channels, plot.Norm{Min: d.Min, Max: d.Max})
	if err != nil {
		return nil, err
	}
	out := make([]fernbImage, len(imgs))
	for i, im := range imgs {
		out[i] = fernbImage{im, d.Labels[i]}
	}
	return out, nil
}

func writePNGs(dir string, d *DAS) error {
	imgs, err := d.images()
	if err != nil {
		return fmt.Errorf("distill: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("distill: %w", err)
	}
	for i, im := range imgs {
		name := filepath.Join(dir, fmt.Sprintf("%03d_%s.png", i, im.label))
		if err := writeAtomic(name, func(w io.Writer) error { return png.Encode(w, im.img) }); err != nil {
			return err
		}
	}
	return nil
}

// Grid returns the labelled grid of the images (the paper's Fig. 4): one
// row per class, IPC images per row, drawn in the real data's value range.
func Grid(d *DAS, title string) (*plot.Figure, error) {
	imgs, err := d.images()
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	if title == "" {
		title = fmt.Sprintf("%s, iteration %d", methodName(d.Method), d.Iteration)
	}
	// One column per class (the paper's Fig. 4), one row per image of a
	// class.
	ipc := max(d.IPC, 1)
	k := (len(imgs) + ipc - 1) / ipc
	g := plot.Grid{Title: title, ColLabels: d.Classes}
	for j := range ipc {
		cells := make([]plot.Cell, k)
		for c := range k {
			if i := c*ipc + j; i < len(imgs) {
				cells[c] = plot.Cell{Image: imgs[i].img}
			}
		}
		g.Rows = append(g.Rows, cells)
	}
	return plot.ImageGrid(g)
}

func saveGrid(path string, d *DAS, title string) error {
	f, err := Grid(d, title)
	if err != nil {
		return err
	}
	if err := f.Save(path); err != nil {
		return fmt.Errorf("distill: %s: %w", path, err)
	}
	return nil
}

func methodName(m Method) string {
	switch m {
	case DD:
		return "DD"
	case DM:
		return "DM"
	}
	return string(m)
}

// writeSnapshot saves the current images as a DAS directory under
// OutDir/snapshots and returns its path.
func writeSnapshot(cfg Config, st *state, real *dataset.Tensors, lo, hi float32) (string, error) {
	dir := filepath.Join(cfg.OutDir, SnapshotDir, fmt.Sprintf("iter_%06d", st.Iteration))
	d := newDAS(cfg, st, real, lo, hi)
	if err := writeDASData(dir, d); err != nil {
		return "", err
	}
	if err := saveGrid(filepath.Join(dir, DASGrid), d, ""); err != nil {
		return "", err
	}
	if err := writeHistory(cfg.OutDir, st.History); err != nil {
		return "", err
	}
	return dir, nil
}

// writeHistory writes history.json and the loss curve.
func writeHistory(dir string, h []IterStats) error {
	if err := writeJSON(filepath.Join(dir, HistoryFile), h); err != nil {
		return err
	}
	if len(h) < 2 {
		return nil
	}
	f, err := LossCurve(h, "")
	if err != nil {
		return err
	}
	if err := f.Save(filepath.Join(dir, LossPlot)); err != nil {
		return fmt.Errorf("distill: %w", err)
	}
	return nil
}

// ReadHistory reads history.json of a run directory.
func ReadHistory(dir string) ([]IterStats, error) {
	b, err := os.ReadFile(filepath.Join(dir, HistoryFile))
	if err != nil {
		return nil, fmt.Errorf("distill: %w", err)
	}
	var h []IterStats
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("distill: %s: %w", filepath.Join(dir, HistoryFile), err)
	}
	return h, nil
}

// checkpointMeta is the resume checkpoint's JSON: the state and the
// settings that must match for a resume to make sense (Iterations may
// grow, so that a finished run can be extended).
type checkpointMeta struct {
	Key   json.RawMessage `json:"key"`
	State *state          `json:"state"`
	Adam  struct {
		Step int `json:"step"`
	} `json:"adam_syn"`
}

// resumeKey is what a resumed run must share with the checkpoint.
func resumeKey(cfg Config) ([]byte, error) {
	k := cfg
	k.Iterations, k.SnapshotEvery, k.OutDir, k.Source = 0, 0, "", ""
	return json.Marshal(struct {
		Config
		Classes []string `json:"classes"`
	}{k, classNames(cfg.Classes)})
}

func saveCheckpoint(cfg Config, st *state) error {
	dir := filepath.Join(cfg.OutDir, checkpointDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("distill: %w", err)
	}
	key, err := resumeKey(cfg)
	if err != nil {
		return err
	}
	// Pixels and the images' Adam moments as raw little-endian arrays
	// (float32 images, float64 moments), written before the JSON that
	// commits them.
	if err := writeAtomic(filepath.Join(dir, "syn.bin"), func(w io.Writer) error {
		if err := binary.Write(w, binary.LittleEndian, st.Syn); err != nil {
			return err
		}
		if err := binary.Write(w, binary.LittleEndian, st.AdamSyn.M); err != nil {
			return err
		}
		return binary.Write(w, binary.LittleEndian, st.AdamSyn.V)
	}); err != nil {
		return err
	}
	m := checkpointMeta{Key: key, State: st}
	m.Adam.Step = st.AdamSyn.Step
	return writeJSON(filepath.Join(dir, "state.json"), m)
}

// loadCheckpoint returns the saved state of cfg.OutDir, nil when there is
// none, and an error when there is one of another configuration.
func loadCheckpoint(cfg Config, synLen int) (*state, bool, error) {
	if cfg.OutDir == "" {
		return nil, false, nil
	}
	dir := filepath.Join(cfg.OutDir, checkpointDir)
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if os.IsNotExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("distill: %w", err)
	}
	var m checkpointMeta
	if err := json.Unmarshal(b, &m); err != nil || m.State == nil {
		return nil, false, fmt.Errorf("distill: %s: bad checkpoint: %v", filepath.Join(dir, "state.json"), err)
	}
	key, err := resumeKey(cfg)
	if err != nil {
		return nil, false, err
	}
	var a, b2 any
	_ = json.Unmarshal(key, &a)
	_ = json.Unmarshal(m.Key, &b2)
	ka, _ := json.Marshal(a)
	kb, _ := json.Marshal(b2)
	if string(ka) != string(kb) {
		return nil, false, fmt.Errorf("distill: %s holds a run with other settings (%s); use another output directory or remove it", cfg.OutDir, kb)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "syn.bin"))
	if err != nil {
		return nil, false, fmt.Errorf("distill: %w", err)
	}
	if len(raw) != 4*synLen+16*synLen {
		return nil, false, fmt.Errorf("distill: %s: %d bytes, want %d", filepath.Join(dir, "syn.bin"), len(raw), 20*synLen)
	}
	st := m.State
	st.Syn = make([]float32, synLen)
	st.AdamSyn = newAdam(synLen)
	st.AdamSyn.Step = m.Adam.Step
	for i := range synLen {
		st.Syn[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	off := 4 * synLen
	for i := range synLen {
		st.AdamSyn.M[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[off+8*i:]))
		st.AdamSyn.V[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[off+8*synLen+8*i:]))
	}
	if cfg.Method == DD && len(st.RawLR) != cfg.T() {
		return nil, false, fmt.Errorf("distill: checkpoint has %d learning rates, want %d", len(st.RawLR), cfg.T())
	}
	return st, true, nil
}

func writeJSON(path string, v any) error {
	return writeAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// writeAtomic writes path atomically with what fill writes.
func writeAtomic(path string, fill func(io.Writer) error) error {
	if err := atomicfile.Write(path, atomicfile.Mode, fill); err != nil {
		return fmt.Errorf("distill: %w", err)
	}
	return nil
}
