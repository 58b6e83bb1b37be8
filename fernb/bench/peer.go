package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/fernb/fernb/fernb/models"
)

// torchPeer is torch_peer.py, embedded so that the fernb binary can run the
// comparison from any directory.
//
//go:embed torch_peer.py
var torchPeer []byte

// PeerResult is torch_peer.py's JSON line.
type PeerResult struct {
	Framework       string  `json:"framework"`
	Version         string  `json:"version"`
	Model           string  `json:"model"`
	Input           string  `json:"input"`
	Batch           int     `json:"batch"`
	Threads         int     `json:"threads"`
	Steps           int     `json:"steps"`
	Warmup          int     `json:"warmup"`
	Params          int     `json:"params"`
	FLOPsPerImage   int64   `json:"flops_per_image"`
	TrainImagesPerS float64 `json:"train_images_per_s"`
	InferImagesPerS float64 `json:"infer_images_per_s"`
	TrainGFLOPS     float64 `json:"train_gflops"`
	InferGFLOPS     float64 `json:"infer_gflops"`

	TrainStepMillis    float64 `json:"train_step_ms"`
	InferBatchMillis   float64 `json:"infer_batch_ms"`
	TrainImagesPerCPUS float64 `json:"train_images_per_cpu_s"`
	InferImagesPerCPUS float64 `json:"infer_images_per_cpu_s"`
}

// PythonEnv names the interpreter Peer runs (default: /usr/bin/python3,
// Debian's, which python3-torch installs into, else python3 on PATH).
const PythonEnv = "FERNB_PYTHON"

func python() string {
	if p := os.Getenv(PythonEnv); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// Peer runs the PyTorch peer with the same options.
func Peer(ctx context.Context, opts Options) (*PeerResult, error) {
	return runPeer(ctx, opts, false)
}

// PeerCounts asks the PyTorch peer only for the parameter and FLOP counts
// of its versions of cfgs (no timing, one Python process): a quick check
// that both sides build the same networks.
func PeerCounts(ctx context.Context, cfgs []models.Config) ([]PeerResult, error) {
	full := make([]models.Config, len(cfgs))
	for i, c := range cfgs {
		var err error
		if full[i], err = models.WithDefaults(c); err != nil {
			return nil, err
		}
	}
	js, err := json.Marshal(full)
	if err != nil {
		return nil, err
	}
	out, err := runPython(ctx, 1, "--count-only", "--configs", string(js))
	if err != nil {
		return nil, err
	}
	var res []PeerResult
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var pr PeerResult
		if err := json.Unmarshal([]byte(line), &pr); err != nil {
			return nil, fmt.Errorf("bench: PyTorch peer printed %q: %w", line, err)
		}
		res = append(res, pr)
	}
	if len(res) != len(cfgs) {
		return nil, fmt.Errorf("bench: PyTorch peer gave %d counts for %d models", len(res), len(cfgs))
	}
	return res, nil
}

func runPeer(ctx context.Context, opts Options, countOnly bool) (*PeerResult, error) {
	opts = opts.withDefaults()
	cfg, err := models.WithDefaults(opts.Model)
	if err != nil {
		return nil, err
	}
	args := []string{"--model", cfg.Name,
		"--input", fmt.Sprintf("%dx%dx%d", cfg.Height, cfg.Width, cfg.Channels),
		"--batch", strconv.Itoa(opts.Batch), "--steps", strconv.Itoa(opts.Steps), "--warmup", strconv.Itoa(opts.Warmup),
		"--threads", strconv.Itoa(opts.Threads), "--classes", strconv.Itoa(cfg.NumClasses),
		"--width", strconv.FormatFloat(cfg.WidthMult, 'g', -1, 64)}
	if countOnly {
		args = append(args, "--count-only")
	}
	out, err := runPython(ctx, opts.Threads, args...)
	if err != nil {
		return nil, err
	}
	line := strings.TrimSpace(out)
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	var pr PeerResult
	if err := json.Unmarshal([]byte(line), &pr); err != nil {
		return nil, fmt.Errorf("bench: PyTorch peer printed %q: %w", line, err)
	}
	return &pr, nil
}

// Comparison is the summary `fernb bench --vs-torch` prints after the
// individual runs.
type Comparison struct {
	Compare    string    `json:"compare"` // "fernb-go/pytorch"
	Model      string    `json:"model"`
	Input      string    `json:"input"`
	Batch      int       `json:"batch"`
	Threads    int       `json:"threads"`
	Rounds     int       `json:"rounds"`
	GoTrain    []float64 `json:"go_train_images_per_s"`
	TorchTrain []float64 `json:"torch_train_images_per_s"`
	GoInfer    []float64 `json:"go_infer_images_per_s"`
	TorchInfer []float64 `json:"torch_infer_images_per_s"`
	TrainRatio float64   `json:"train_ratio"` // median Go / median PyTorch, wall-clock images/s
	InferRatio float64   `json:"infer_ratio"`
	// TrainRatioCPU and InferRatioCPU compare images per CPU-second, the
	// load-robust view on a shared machine (see Result).
	TrainRatioCPU                                        float64 `json:"train_ratio_cpu"`
	InferRatioCPU                                        float64 `json:"infer_ratio_cpu"`
	goTrainCPU, torchTrainCPU, goInferCPU, torchInferCPU []float64
	SameParams                                           bool    `json:"same_params"`
	SameFLOPs                                            bool    `json:"same_flops"`
	TrainTarget                                          float64 `json:"train_target"`
	InferTarget                                          float64 `json:"infer_target"`
	// TrainRatioAtDot and InferRatioAtDot are the ratios fernb would reach if
	// every FLOP of its step ran at the backend's measured matmul rate
	// (Result.DotGFLOPS) with nothing else costing time: the ceiling of any
	// rewrite of the network on this backend, below which a target is out of
	// reach without a faster kernel. Zero when the matmul was not measured.
	TrainRatioAtDot float64 `json:"train_ratio_at_dot_peak,omitempty"`
	InferRatioAtDot float64 `json:"infer_ratio_at_dot_peak,omitempty"`
	// TrainGEMMShare and InferGEMMShare are the medians over the rounds of
	// the Go side's Breakdown.GEMMShare; zero when not profiled.
	TrainGEMMShare float64 `json:"train_gemm_share,omitempty"`
	InferGEMMShare float64 `json:"infer_gemm_share,omitempty"`
	Machine        Machine `json:"machine"`
}

// Compare runs the Go benchmark and the PyTorch peer alternately rounds
// times (Go first), calling each with every result as it arrives, and
// returns medians and ratios.
func Compare(ctx context.Context, run func() (*Result, error), opts Options, rounds int,
	onGo func(*Result), onPeer func(*PeerResult)) (*Comparison, error) {
	opts = opts.withDefaults()
	if rounds < 1 {
		rounds = 1
	}
	var gos []*Result
	var peers []*PeerResult
	for i := 0; i < rounds; i++ {
		g, err := run()
		if err != nil {
			return nil, err
		}
		onGo(g)
		p, err := Peer(ctx, opts)
		if err != nil {
			return nil, err
		}
		onPeer(p)
		gos, peers = append(gos, g), append(peers, p)
	}
	return summarize(opts, gos, peers), nil
}

// summarize pairs the rounds' Go and PyTorch results (same length, round i
// of each together) into medians and ratios.
func summarize(opts Options, gos []*Result, peers []*PeerResult) *Comparison {
	cmp := &Comparison{Compare: "fernb-go/pytorch", Batch: opts.Batch, Threads: opts.Threads, Rounds: len(gos),
		TrainTarget: 2, InferTarget: 2.5, SameParams: true, SameFLOPs: true}
	var dotTrain, dotInfer []float64 // images/s at the measured matmul rate
	var gemmTrain, gemmInfer []float64
	for i, g := range gos {
		p := peers[i]
		cmp.Model, cmp.Input, cmp.Machine = g.Model, g.Input, g.Machine
		if g.TrainProfile != nil && g.InferProfile != nil {
			gemmTrain = append(gemmTrain, g.TrainProfile.GEMMShare)
			gemmInfer = append(gemmInfer, g.InferProfile.GEMMShare)
		}
		cmp.GoTrain = append(cmp.GoTrain, g.TrainImagesPerS)
		cmp.GoInfer = append(cmp.GoInfer, g.InferImagesPerS)
		cmp.TorchTrain = append(cmp.TorchTrain, p.TrainImagesPerS)
		cmp.TorchInfer = append(cmp.TorchInfer, p.InferImagesPerS)
		cmp.goTrainCPU = append(cmp.goTrainCPU, g.TrainImagesPerCPUS)
		cmp.goInferCPU = append(cmp.goInferCPU, g.InferImagesPerCPUS)
		cmp.torchTrainCPU = append(cmp.torchTrainCPU, p.TrainImagesPerCPUS)
		cmp.torchInferCPU = append(cmp.torchInferCPU, p.InferImagesPerCPUS)
		cmp.SameParams = cmp.SameParams && g.Params == p.Params
		cmp.SameFLOPs = cmp.SameFLOPs && g.FLOPsPerImage == p.FLOPsPerImage
		if g.DotGFLOPS > 0 && g.FLOPsPerImage > 0 {
			// A training step counts 3x the forward FLOPs (see Result).
			dotTrain = append(dotTrain, g.DotGFLOPS*1e9/(3*float64(g.FLOPsPerImage)))
			dotInfer = append(dotInfer, g.DotGFLOPS*1e9/float64(g.FLOPsPerImage))
		}
	}
	cmp.TrainRatio = round(median(cmp.GoTrain)/median(cmp.TorchTrain), 3)
	cmp.InferRatio = round(median(cmp.GoInfer)/median(cmp.TorchInfer), 3)
	cmp.TrainRatioCPU = round(median(cmp.goTrainCPU)/median(cmp.torchTrainCPU), 3)
	cmp.InferRatioCPU = round(median(cmp.goInferCPU)/median(cmp.torchInferCPU), 3)
	if len(dotTrain) == len(gos) && len(gos) > 0 {
		cmp.TrainRatioAtDot = round(median(dotTrain)/median(cmp.TorchTrain), 3)
		cmp.InferRatioAtDot = round(median(dotInfer)/median(cmp.TorchInfer), 3)
	}
	if len(gemmTrain) > 0 {
		cmp.TrainGEMMShare = round(median(gemmTrain), 4)
		cmp.InferGEMMShare = round(median(gemmInfer), 4)
	}
	return cmp
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// runPython runs the embedded torch_peer.py with args and returns its
// stdout.
func runPython(ctx context.Context, threads int, args ...string) (string, error) {
	dir, err := os.MkdirTemp("", "fernb-bench-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "torch_peer.py")
	if err := os.WriteFile(script, torchPeer, 0o644); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, python(), append([]string{script}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Equal threads: keep the OpenMP/BLAS pools of the peer to threads too.
	t := strconv.Itoa(threads)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+t, "MKL_NUM_THREADS="+t, "OPENBLAS_NUM_THREADS="+t)
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "No module named 'torch'") {
			msg += "\n(install PyTorch: apt-get install -y python3-torch, or set " + PythonEnv + ")"
		}
		return "", fmt.Errorf("bench: PyTorch peer (%s torch_peer.py %s): %w\n%s", python(), strings.Join(args, " "), err, msg)
	}
	return stdout.String(), nil
}
