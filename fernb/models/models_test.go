package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/nn"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

func backend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := fernb.NewBackend()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFERCNNCountsByHand checks the default model against numbers worked
// out on paper for 48x48x1, 7 classes.
func TestFERCNNCountsByHand(t *testing.T) {
	net, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if net.Config.Name != "fer-cnn" || net.Config.Height != 48 || net.Config.Channels != 1 || net.Config.NumClasses != 7 {
		t.Fatalf("defaults: %+v", net.Config)
	}
	// conv kernels (no bias: BN follows) + BN gamma/beta + dense weights and biases.
	want := 3*3*1*32 + 2*32 +
		3*3*32*64 + 2*64 +
		3*3*64*128 + 2*128 +
		6*6*128*256 + 256 +
		256*7 + 7
	if want != 1274599 {
		t.Fatalf("hand count is %d", want)
	}
	if got := net.NumParams(); got != want {
		t.Errorf("NumParams = %d, want %d", got, want)
	}
	if got := net.NumStateParams(); got != 2*(32+64+128) {
		t.Errorf("NumStateParams = %d, want %d", got, 2*(32+64+128))
	}
	if net.FeatureDim != 256 {
		t.Errorf("FeatureDim = %d, want 256", net.FeatureDim)
	}
	wantFLOPs := int64(2*48*48*9*1*32 + 2*24*24*9*32*64 + 2*12*12*9*64*128 + 2*4608*256 + 2*256*7)
	if net.FLOPs != wantFLOPs {
		t.Errorf("FLOPs = %d, want %d", net.FLOPs, wantFLOPs)
	}
}

// TestFERCNNDeepCountsByHand checks the deeper fer-cnn against numbers
// worked out on paper for 48x48x1, 7 classes: four blocks of two
// convolutions, four halvings to 3x3x256.
func TestFERCNNDeepCountsByHand(t *testing.T) {
	net, err := New(Config{Name: "fer-cnn-deep"})
	if err != nil {
		t.Fatal(err)
	}
	if net.Config.Height != 48 || net.Config.Channels != 1 {
		t.Fatalf("defaults: %+v", net.Config)
	}
	convs := [][3]int{ // cin, cout, side
		{1, 32, 48}, {32, 32, 48}, {32, 64, 24}, {64, 64, 24},
		{64, 128, 12}, {128, 128, 12}, {128, 256, 6}, {256, 256, 6}}
	want, state := 0, 0
	var flops int64
	for _, c := range convs {
		want += 9*c[0]*c[1] + 2*c[1]
		state += 2 * c[1]
		flops += int64(2 * c[2] * c[2] * 9 * c[0] * c[1])
	}
	want += 3*3*256*256 + 256 + 256*7 + 7
	flops += 2*2304*256 + 2*256*7
	if want != 1764519 {
		t.Fatalf("hand count is %d", want)
	}
	if got := net.NumParams(); got != want {
		t.Errorf("NumParams = %d, want %d", got, want)
	}
	if got := net.NumStateParams(); got != state {
		t.Errorf("NumStateParams = %d, want %d", got, state)
	}
	if net.FeatureDim != 256 || net.FLOPs != flops {
		t.Errorf("FeatureDim = %d, FLOPs = %d; want 256, %d", net.FeatureDim, net.FLOPs, flops)
	}
	if _, err := New(Config{Name: "fer-cnn-deep", Height: 12}); err == nil {
		t.Error("fer-cnn-deep at 12 px: want an error (four halvings)")
	}
}

// countVGG and countResNet recount parameters from the published topologies,
// independently of the builder.
func countVGG(cin, h int, m float64, classes int) (params, feat int) {
	blocks := [][]int{{64, 64}, {128, 128}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}}
	for _, blk := range blocks {
		for _, ch := range blk {
			c := scaled(ch, m)
			params += 9*cin*c + 2*c
			cin = c
		}
		h /= 2
	}
	fc := scaled(4096, m)
	params += h*h*cin*fc + fc + fc*fc + fc + fc*classes + classes
	return params, fc
}

func countResNet(cin, size int, m float64, classes int, stages []int) (params, feat int) {
	w0 := scaled(64, m)
	if size >= 112 {
		params += 49*cin*w0 + 2*w0
	} else {
		params += 9*cin*w0 + 2*w0
	}
	in := w0
	for s, n := range stages {
		ch := scaled(64<<s, m)
		for i := 0; i < n; i++ {
			params += 9*in*ch + 2*ch + 9*ch*ch + 2*ch
			if in != ch || (s > 0 && i == 0) {
				params += in*ch + 2*ch
			}
			in = ch
		}
	}
	params += in*classes + classes
	return params, in
}

func TestEveryModelSmall(t *testing.T) {
	b := backend(t)
	cases := []struct {
		cfg                  Config
		wantParams, wantFeat int
	}{
		{Config{Name: "fer-cnn", Height: 24, Width: 24, Channels: 3, NumClasses: 8, WidthMult: 0.25}, 0, 64},
		{Config{Name: "fer-cnn-deep", Height: 32, Width: 32, Channels: 3, NumClasses: 8, WidthMult: 0.25}, 0, 64},
		{Config{Name: "vgg-face", Height: 48, Width: 48, Channels: 1, WidthMult: 1.0 / 16}, 0, 0},
		{Config{Name: "vgg-face", Height: 32, Width: 32, Channels: 3, WidthMult: 1.0 / 32}, 0, 0},
		{Config{Name: "resnet18", Height: 32, Width: 32, Channels: 1, WidthMult: 1.0 / 16}, 0, 0},
		{Config{Name: "resnet18", Height: 112, Width: 112, Channels: 3, WidthMult: 1.0 / 32}, 0, 0},
		{Config{Name: "resnet34", Height: 24, Width: 24, Channels: 3, WidthMult: 1.0 / 16}, 0, 0},
	}
	for _, c := range cases {
		full, _ := WithDefaults(c.cfg)
		switch c.cfg.Name {
		case "vgg-face":
			c.wantParams, c.wantFeat = countVGG(full.Channels, full.Height, full.WidthMult, full.NumClasses)
		case "resnet18":
			c.wantParams, c.wantFeat = countResNet(full.Channels, full.Height, full.WidthMult, full.NumClasses, []int{2, 2, 2, 2})
		case "resnet34":
			c.wantParams, c.wantFeat = countResNet(full.Channels, full.Height, full.WidthMult, full.NumClasses, []int{3, 4, 6, 3})
		case "fer-cnn":
			c.wantParams = 9*3*8 + 16 + 9*8*16 + 32 + 9*16*32 + 64 + 3*3*32*64 + 64 + 64*8 + 8
		case "fer-cnn-deep": // 8, 16, 32, 64 channels; 32 px halves to 2x2
			c.wantParams = 9*3*8 + 16 + 9*8*8 + 16 + 9*8*16 + 32 + 9*16*16 + 32 +
				9*16*32 + 64 + 9*32*32 + 64 + 9*32*64 + 128 + 9*64*64 + 128 + 2*2*64*64 + 64 + 64*8 + 8
		}
		t.Run(c.cfg.Name, func(t *testing.T) {
			net, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := net.NumParams(); got != c.wantParams {
				t.Errorf("%+v: NumParams = %d, want %d", net.Config, got, c.wantParams)
			}
			if net.FeatureDim != c.wantFeat {
				t.Errorf("FeatureDim = %d, want %d", net.FeatureDim, c.wantFeat)
			}
			if net.FLOPs <= 0 {
				t.Errorf("FLOPs = %d", net.FLOPs)
			}
			checkForward(t, b, net, 3)
		})
	}
}

// checkForward runs the net in training and inference on random parameters
// and a random batch of n, checking shapes, finiteness, and that training
// returns an update for every running statistic.
func checkForward(t *testing.T, b compute.Backend, net *Net, n int) {
	t.Helper()
	cfg := net.Config
	x := make([]float32, n*cfg.Height*cfg.Width*cfg.Channels)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = r.Float32()
	}
	var state []string
	for _, s := range net.Specs {
		if !s.Trainable {
			state = append(state, s.Name)
		}
	}
	for _, training := range []bool{true, false} {
		var nUpd int
		exec, err := graph.NewExec(b, func(xn *graph.Node) (*graph.Node, *graph.Node) {
			g := xn.Graph()
			p, _ := nn.InitParams(g, rngConst(g, 7), net.Specs, dtypes.Float32)
			out := net.Apply(p, xn, training)
			nUpd = len(out.Updates)
			for _, name := range state {
				if training && out.Updates[name] == nil {
					t.Errorf("training: no update for %s", name)
				}
			}
			return out.Logits, out.Features
		})
		if err != nil {
			t.Fatal(err)
		}
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, n, cfg.Height, cfg.Width, cfg.Channels))
		if err != nil {
			t.Fatalf("training=%v: %v", training, err)
		}
		logits, feats := outs[0], outs[1]
		if d := logits.Shape().Dimensions; len(d) != 2 || d[0] != n || d[1] != cfg.NumClasses {
			t.Errorf("training=%v: logits %v, want [%d %d]", training, d, n, cfg.NumClasses)
		}
		if d := feats.Shape().Dimensions; len(d) != 2 || d[0] != n || d[1] != net.FeatureDim {
			t.Errorf("training=%v: features %v, want [%d %d]", training, d, n, net.FeatureDim)
		}
		tensors.MustConstFlatData(logits, func(v []float32) {
			for _, f := range v {
				if f != f || f > 1e30 || f < -1e30 {
					t.Fatalf("training=%v: non-finite logit %v", training, f)
				}
			}
		})
		if !training && nUpd != 0 {
			t.Errorf("inference returned %d updates", nUpd)
		}
		if training && nUpd != len(state) {
			t.Errorf("training returned %d updates, want %d", nUpd, len(state))
		}
		exec.Finalize()
	}
}

func TestDropoutNeedsRNG(t *testing.T) {
	net, err := New(Config{Height: 16, Width: 16, WidthMult: 0.125, Dropout: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if !net.NeedsRNG {
		t.Fatal("NeedsRNG false with dropout")
	}
	b := backend(t)
	exec, err := graph.NewExec(b, func(xn *graph.Node) (*graph.Node, *graph.Node) {
		g := xn.Graph()
		p, _ := nn.InitParams(g, rngConst(g, 7), net.Specs, dtypes.Float32)
		p[RNGParam] = rngConst(g, 3)
		out := net.Apply(p, xn, true)
		if out.Updates[RNGParam] == nil {
			t.Error("no RNG update")
		}
		return out.Logits, out.Features
	})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 2*16*16)
	if _, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, 2, 16, 16, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, c := range []Config{
		{Name: "alexnet"},
		{Channels: 2},
		{NumClasses: 1},
		{WidthMult: -1},
		{Dropout: 1},
		{Name: "vgg-face", Height: 16},
		{Height: 4, Width: 4},
		{Height: 7, Width: 48},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
	if got, want := strings.Join(Names(), " "), "fer-cnn fer-cnn-deep resnet18 resnet34 vgg-face"; got != want {
		t.Errorf("Names() = %q, want %q (sorted)", got, want)
	}
	for _, s := range []string{"48x48x1", "64x64", "32"} {
		if _, _, _, err := ParseInput(s); err != nil {
			t.Errorf("ParseInput(%q): %v", s, err)
		}
	}
	if h, w, c, _ := ParseInput("48x40x3"); h != 48 || w != 40 || c != 3 {
		t.Errorf("ParseInput: %d %d %d", h, w, c)
	}
	for _, s := range []string{"", "48x", "axb", "1x2x3x4", "0x4"} {
		if _, _, _, err := ParseInput(s); err == nil {
			t.Errorf("ParseInput(%q) succeeded", s)
		}
	}
}

func rngConst(g *graph.Graph, seed int64) *graph.Node {
	st, err := graph.RNGStateFromSeed(seed)
	if err != nil {
		panic(err)
	}
	return graph.Const(g, st)
}

// referenceFERCNN is the FER CNN written out plainly in the textbook order
// (conv, BN, ReLU, pool; BN not folded), to check that the builder's exact
// rewrites (pool before ReLU, BN folded into the convolution in inference)
// compute the same function.
func referenceFERCNN(p nn.Params, x *graph.Node, training bool) *graph.Node {
	for i := 1; i <= 3; i++ {
		pre := fmt.Sprintf("block%d/", i)
		x = nn.Conv2D(x, p[pre+"conv/kernel"], nil, 1, nn.Same)
		x, _, _ = nn.BatchNorm(x, p[pre+"bn/gamma"], p[pre+"bn/beta"], p[pre+"bn/mean"], p[pre+"bn/var"], training)
		x = nn.MaxPool2DWith(nn.ReLU(x), 2, 2, nn.Valid)
	}
	x = nn.ReLU(nn.Dense(nn.Flatten(x), p["fc1/weights"], p["fc1/bias"]))
	return nn.Dense(x, p["logits/weights"], p["logits/bias"])
}

// referenceVGG16 is vgg-face written out plainly (conv, BN, ReLU; pool at
// the end of each block; BN not folded).
func referenceVGG16(p nn.Params, x *graph.Node, training bool) *graph.Node {
	for i, convs := range []int{2, 2, 3, 3, 3} {
		for j := 1; j <= convs; j++ {
			pre := fmt.Sprintf("block%d/conv%d", i+1, j)
			x = nn.Conv2D(x, p[pre+"/kernel"], nil, 1, nn.Same)
			x, _, _ = nn.BatchNorm(x, p[pre+"/bn/gamma"], p[pre+"/bn/beta"], p[pre+"/bn/mean"], p[pre+"/bn/var"], training)
			x = nn.ReLU(x)
		}
		x = nn.MaxPool2DWith(x, 2, 2, nn.Valid)
	}
	x = nn.ReLU(nn.Dense(nn.Flatten(x), p["fc6/weights"], p["fc6/bias"]))
	x = nn.ReLU(nn.Dense(x, p["fc7/weights"], p["fc7/bias"]))
	return nn.Dense(x, p["fc8/weights"], p["fc8/bias"])
}

func TestRewritesKeepTheFunction(t *testing.T) {
	checkRewrites(t, Config{Height: 16, Width: 16, WidthMult: 0.25}, referenceFERCNN)
	checkRewrites(t, Config{Name: "vgg-face", Height: 32, Width: 32, WidthMult: 1.0 / 16}, referenceVGG16)
}

func checkRewrites(t *testing.T, cfg Config, reference func(nn.Params, *graph.Node, bool) *graph.Node) {
	b := backend(t)
	net, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	h, w := net.Config.Height, net.Config.Width
	x := make([]float32, n*h*w)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	for _, training := range []bool{false, true} {
		exec, err := graph.NewExec(b, func(xn *graph.Node) (*graph.Node, *graph.Node) {
			g := xn.Graph()
			p, rng := nn.InitParams(g, rngConst(g, 11), net.Specs, dtypes.Float32)
			// Non-trivial running statistics and BN affine parameters, so
			// that folding has something to fold (including negative gammas).
			for _, s := range net.Specs {
				var v *graph.Node
				switch {
				case strings.HasSuffix(s.Name, "/mean") || strings.HasSuffix(s.Name, "/beta"):
					rng, v = graph.RandomNormal(rng, shapes.Make(dtypes.Float32, s.Shape...))
				case strings.HasSuffix(s.Name, "/var"):
					rng, v = graph.RandomUniform(rng, shapes.Make(dtypes.Float32, s.Shape...))
					v = graph.AddScalar(v, 0.5)
				case strings.HasSuffix(s.Name, "/gamma"):
					rng, v = graph.RandomNormal(rng, shapes.Make(dtypes.Float32, s.Shape...))
				default:
					continue
				}
				p[s.Name] = v
			}
			return net.Apply(p, xn, training).Logits, reference(p, xn, training)
		})
		if err != nil {
			t.Fatal(err)
		}
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, n, h, w, 1))
		if err != nil {
			t.Fatal(err)
		}
		got, want := tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1])
		var maxAbs float64
		for i := range want {
			maxAbs = math.Max(maxAbs, math.Abs(float64(want[i])))
		}
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*math.Max(1, maxAbs) {
				t.Fatalf("%s training=%v: logit %d = %v, reference %v", net.Config.Name, training, i, got[i], want[i])
			}
		}
		exec.Finalize()
	}
}
