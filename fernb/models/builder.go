package models

import (
	"fmt"

	"github.com/fernb/fernb/fernb/nn"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
)

// layerFn is one step of a network's forward pass. upd collects the
// non-trainable parameter updates of a training pass.
type layerFn func(p nn.Params, x *graph.Node, training bool, upd nn.Params) *graph.Node

// builder records parameter specs, layer shapes and FLOPs while a network's
// forward pass is assembled, so that New's bookkeeping and Apply can never
// disagree about the architecture.
type builder struct {
	h, w, c int
	specs   []nn.ParamSpec
	layers  []Layer
	flops   int64
	err     error
}

func newBuilder(cfg Config) *builder {
	return &builder{h: cfg.Height, w: cfg.Width, c: cfg.Channels}
}

func (b *builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf(format, args...)
	}
}

func (b *builder) addSpec(name string, shape []int, init nn.Init, fanIn int, trainable bool) {
	b.specs = append(b.specs, nn.ParamSpec{Name: name, Shape: shape, Init: init, FanIn: fanIn, Trainable: trainable})
}

// conv adds a k x k convolution with cout output channels, SAME padding
// (output size ceil(in/stride)), and no bias when batch norm follows it.
func (b *builder) conv(name string, k, cout, stride int, bias bool) layerFn {
	cin := b.c
	kname, bname := name+"/kernel", name+"/bias"
	b.addSpec(kname, []int{k, k, cin, cout}, nn.HeNormal, k*k*cin, true)
	if bias {
		b.addSpec(bname, []int{cout}, nn.Zeros, k*k*cin, true)
	}
	oh, ow := (b.h+stride-1)/stride, (b.w+stride-1)/stride
	f := 2 * int64(oh) * int64(ow) * int64(k*k*cin) * int64(cout)
	b.flops += f
	b.h, b.w, b.c = oh, ow, cout
	b.layers = append(b.layers, Layer{Name: name, Kind: "conv", OutH: oh, OutW: ow, OutC: cout, FLOPs: f,
		Details: fmt.Sprintf("%dx%d/%d %d->%d", k, k, stride, cin, cout)})
	return func(p nn.Params, x *graph.Node, _ bool, _ nn.Params) *graph.Node {
		var bn *graph.Node
		if bias {
			bn = p[bname]
		}
		return nn.Conv2D(x, p[kname], bn, stride, nn.Same)
	}
}

// convBN adds a convolution without bias followed by batch normalisation.
// Training runs them as written (batch statistics, running-average
// updates). Inference folds the normalisation into the convolution: with
// s = gamma/sqrt(var+eps), BN(conv(x, K)) = conv(x, K*s) + (beta - mean*s),
// so the per-channel scale multiplies the small kernel instead of every
// activation, and the shift becomes the convolution's bias.
func (b *builder) convBN(convName, bnName string, k, cout, stride int) layerFn {
	conv := b.conv(convName, k, cout, stride, false)
	norm := b.bn(bnName)
	kname := convName + "/kernel"
	g, be, m, v := bnName+"/gamma", bnName+"/beta", bnName+"/mean", bnName+"/var"
	return func(p nn.Params, x *graph.Node, training bool, upd nn.Params) *graph.Node {
		if training {
			return norm(p, conv(p, x, training, upd), training, upd)
		}
		scale, shift := foldBN(p[g], p[be], p[m], p[v])
		kernel := graph.Mul(p[kname], graph.Reshape(scale, 1, 1, 1, cout))
		return nn.Conv2D(x, kernel, shift, stride, nn.Same)
	}
}

// convBNPoolReLU adds conv, batch norm, a window x window / stride max
// pool and a ReLU, in an order that computes exactly conv-BN-ReLU-pool
// with less work. Training: pool(BN(conv)) then ReLU (max commutes with the
// monotone ReLU). Inference, with BN folded (see convBN): pool(conv(x,
// K*s)), then + shift, then ReLU: a per-channel constant commutes with the
// max too, so the shift is added to a quarter of the elements.
func (b *builder) convBNPoolReLU(convName, bnName, poolName string, k, cout, stride, window, poolStride int) layerFn {
	cbn := b.convBN(convName, bnName, k, cout, stride)
	pool := b.maxPool(poolName, window, poolStride)
	kname := convName + "/kernel"
	g, be, m, v := bnName+"/gamma", bnName+"/beta", bnName+"/mean", bnName+"/var"
	return func(p nn.Params, x *graph.Node, training bool, upd nn.Params) *graph.Node {
		if training {
			return nn.ReLU(pool(p, cbn(p, x, training, upd), training, upd))
		}
		scale, shift := foldBN(p[g], p[be], p[m], p[v])
		kernel := graph.Mul(p[kname], graph.Reshape(scale, 1, 1, 1, cout))
		y := pool(p, nn.Conv2D(x, kernel, nil, stride, nn.Same), false, nil)
		return nn.ReLU(nn.AddChannels(y, shift))
	}
}

// foldBN returns batch norm's inference scale gamma/sqrt(var+eps) and
// shift beta - mean*scale.
func foldBN(gamma, beta, mean, variance *graph.Node) (scale, shift *graph.Node) {
	scale = graph.Div(gamma, graph.Sqrt(graph.AddScalar(variance, nn.NormEpsilon)))
	return scale, graph.Sub(beta, graph.Mul(mean, scale))
}

// bn adds batch normalisation over the channel axis.
func (b *builder) bn(name string) layerFn {
	c := b.c
	g, be, m, v := name+"/gamma", name+"/beta", name+"/mean", name+"/var"
	b.addSpec(g, []int{c}, nn.Ones, c, true)
	b.addSpec(be, []int{c}, nn.Zeros, c, true)
	b.addSpec(m, []int{c}, nn.Zeros, c, false)
	b.addSpec(v, []int{c}, nn.Ones, c, false)
	return func(p nn.Params, x *graph.Node, training bool, upd nn.Params) *graph.Node {
		y, newMean, newVar := nn.BatchNorm(x, p[g], p[be], p[m], p[v], training)
		if training && upd != nil {
			upd[m], upd[v] = newMean, newVar
		}
		return y
	}
}

func (b *builder) relu() layerFn {
	return func(_ nn.Params, x *graph.Node, _ bool, _ nn.Params) *graph.Node { return nn.ReLU(x) }
}

// maxPool adds a window x window max pool with the given stride and VALID
// padding (output floor((in-window)/stride)+1, PyTorch's default), so that
// odd sizes (VGG at 48 px: 3 -> 1) match the PyTorch peer.
func (b *builder) maxPool(name string, window, stride int) layerFn {
	if b.h < window || b.w < window {
		b.fail("models: %s: its %dx%d input is smaller than the %dx%d pool window: use a larger input size", name, b.h, b.w, window, window)
		b.h, b.w = max(b.h, window), max(b.w, window)
	}
	oh, ow := (b.h-window)/stride+1, (b.w-window)/stride+1
	b.h, b.w = oh, ow
	b.layers = append(b.layers, Layer{Name: name, Kind: "maxpool", OutH: oh, OutW: ow, OutC: b.c,
		Details: fmt.Sprintf("%dx%d/%d", window, window, stride)})
	return func(_ nn.Params, x *graph.Node, training bool, _ nn.Params) *graph.Node {
		if !training {
			return nn.MaxPool2DInference(x, window, stride, nn.Valid)
		}
		return nn.MaxPool2DWith(x, window, stride, nn.Valid)
	}
}

// padZeros pads H and W by one on each side with zeros, via Concatenate so
// that the result stays twice differentiable (graph.Pad has no second-order
// gradient on the Go backend). Used only after a ReLU, where zero padding
// equals the -inf padding of a max pool.
func (b *builder) padZeros() layerFn {
	b.h, b.w = b.h+2, b.w+2
	return func(_ nn.Params, x *graph.Node, _ bool, _ nn.Params) *graph.Node {
		d, dt, g := x.Shape().Dimensions, x.DType(), x.Graph()
		row := graph.Zeros(g, shapes.Make(dt, d[0], 1, d[2], d[3]))
		x = graph.Concatenate([]*graph.Node{row, x, row}, 1)
		col := graph.Zeros(g, shapes.Make(dt, d[0], d[1]+2, 1, d[3]))
		return graph.Concatenate([]*graph.Node{col, x, col}, 2)
	}
}

func (b *builder) gap(name string) layerFn {
	b.h, b.w = 1, 1
	b.layers = append(b.layers, Layer{Name: name, Kind: "gap", OutC: b.c})
	return func(_ nn.Params, x *graph.Node, _ bool, _ nn.Params) *graph.Node { return nn.GlobalAvgPool(x) }
}

func (b *builder) flatten() layerFn {
	b.c = b.h * b.w * b.c
	b.h, b.w = 1, 1
	return func(_ nn.Params, x *graph.Node, _ bool, _ nn.Params) *graph.Node { return nn.Flatten(x) }
}

// dense adds a fully connected layer (input must be flat).
func (b *builder) dense(name string, out int, init nn.Init) layerFn {
	in := b.c
	wname, bname := name+"/weights", name+"/bias"
	b.addSpec(wname, []int{in, out}, init, in, true)
	b.addSpec(bname, []int{out}, nn.Zeros, in, true)
	f := 2 * int64(in) * int64(out)
	b.flops += f
	b.c = out
	b.layers = append(b.layers, Layer{Name: name, Kind: "dense", OutC: out, FLOPs: f, Details: fmt.Sprintf("%d->%d", in, out)})
	return func(p nn.Params, x *graph.Node, _ bool, _ nn.Params) *graph.Node {
		return nn.Dense(x, p[wname], p[bname])
	}
}

// seq composes layers in order.
func seq(fns ...layerFn) layerFn {
	return func(p nn.Params, x *graph.Node, training bool, upd nn.Params) *graph.Node {
		for _, f := range fns {
			x = f(p, x, training, upd)
		}
		return x
	}
}

// finish assembles a Net from a feature extractor (input -> features) and a
// classifier head (features -> logits) recorded on b.
func (b *builder) finish(cfg Config, features layerFn, featureDim int, head layerFn) (*Net, error) {
	if b.err != nil {
		return nil, b.err
	}
	net := &Net{Config: cfg, Specs: b.specs, FeatureDim: featureDim, Layers: b.layers, FLOPs: b.flops, NeedsRNG: cfg.Dropout > 0}
	h, w, c := cfg.Height, cfg.Width, cfg.Channels
	net.Apply = func(p nn.Params, x *graph.Node, training bool) Output {
		dims := x.Shape().Dimensions
		if len(dims) != 4 || dims[1] != h || dims[2] != w || dims[3] != c {
			panic(fmt.Sprintf("models: %s expects input [N,%d,%d,%d], got %v", cfg.Name, h, w, c, dims))
		}
		upd := nn.Params{}
		f := features(p, x, training, upd)
		logits := head(p, f, training, upd)
		if !training {
			upd = nil
		}
		return Output{Logits: logits, Features: f, Updates: upd}
	}
	return net, nil
}

// RNGParam is the key of the dropout random-number state in nn.Params: a
// uint64 [3] node (graph.RNGStateFromSeed) that the caller supplies when
// Net.NeedsRNG and training, and gets back, advanced, in Output.Updates. It
// is not among Specs because nn.ParamSpec describes float tensors; package
// train keeps it in a non-trainable variable so that resumed runs continue
// the same random stream.
const RNGParam = "rng"

// withDropout puts dropout (rate cfg.Dropout) in front of the classifier
// head when asked for.
func withDropout(cfg Config, head layerFn) layerFn {
	if cfg.Dropout == 0 {
		return head
	}
	rate := cfg.Dropout
	return func(p nn.Params, x *graph.Node, training bool, upd nn.Params) *graph.Node {
		if training {
			state, ok := p[RNGParam]
			if !ok {
				panic(fmt.Sprintf("models: %s has dropout %v: pass its RNG state as p[%q] in training", cfg.Name, rate, RNGParam))
			}
			var newState *graph.Node
			x, newState = nn.Dropout(x, state, rate, true)
			if upd != nil {
				upd[RNGParam] = newState
			}
		}
		return head(p, x, training, upd)
	}
}
