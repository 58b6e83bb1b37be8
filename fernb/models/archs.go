package models

import (
	"fmt"

	"github.com/fernb/fernb/fernb/nn"
	"github.com/gomlx/gomlx/core/graph"
)

// buildFERCNN is the primitive learner of the paper's CPU reproduction:
// three conv3x3-BN-ReLU-maxpool2 blocks (32, 64, 128 channels x WidthMult),
// flatten, dense 256 + ReLU (the features), dense NumClasses. Convolutions
// carry no bias because batch norm's beta replaces it. At 48x48x1 it has
// 1,274,599 trainable parameters.
//
// poolThenReLU: each block computes maxpool(BN(conv(x))) before the ReLU
// (see convBNPoolReLU). Max commutes with the monotone ReLU, so
// relu(maxpool(y)) equals maxpool(relu(y)) exactly, values and
// (sub)gradients alike, while the ReLU and its gradient touch a quarter of
// the elements.
func buildFERCNN(cfg Config) (*Net, error) {
	b := newBuilder(cfg)
	var fs []layerFn
	for i, ch := range []int{32, 64, 128} {
		name := fmt.Sprintf("block%d", i+1)
		fs = append(fs,
			b.convBNPoolReLU(name+"/conv", name+"/bn", name+"/pool", 3, scaled(ch, cfg.WidthMult), 1, 2, 2))
	}
	fs = append(fs, b.flatten(), b.dense("fc1", scaled(256, cfg.WidthMult), nn.HeNormal), b.relu())
	featureDim := b.c
	head := seq(b.dense("logits", cfg.NumClasses, nn.GlorotUniform))
	return b.finish(cfg, seq(fs...), featureDim, withDropout(cfg, head))
}

// buildFERCNNDeep is fer-cnn made deeper in VGG's manner, for the sweep of
// depth against images/s on FER-2013 at 48 px: four blocks (32, 64, 128,
// 256 channels x WidthMult) of two conv3x3-BN-ReLU, the second one pooled
// 2x2, then flatten (3x3 at 48 px), dense 256 x WidthMult + ReLU (the
// features), dense NumClasses. Each block sees its input at one resolution
// twice before halving it, which is what fer-cnn's single convolutions lack
// and costs about five times its FLOPs at equal width. Four halvings need
// 16 px for a 1x1 map; at its default 48 px the last map is 3x3.
func buildFERCNNDeep(cfg Config) (*Net, error) {
	if cfg.Height < 16 || cfg.Width < 16 {
		return nil, fmt.Errorf("models: fer-cnn-deep: input %dx%d too small (four 2x2 pools need >= 16)", cfg.Height, cfg.Width)
	}
	b := newBuilder(cfg)
	var fs []layerFn
	for i, ch := range []int{32, 64, 128, 256} {
		name := fmt.Sprintf("block%d", i+1)
		c := scaled(ch, cfg.WidthMult)
		fs = append(fs,
			b.convBN(name+"/conv1", name+"/bn1", 3, c, 1), b.relu(),
			b.convBNPoolReLU(name+"/conv2", name+"/bn2", name+"/pool", 3, c, 1, 2, 2))
	}
	fs = append(fs, b.flatten(), b.dense("fc1", scaled(256, cfg.WidthMult), nn.HeNormal), b.relu())
	featureDim := b.c
	head := seq(b.dense("logits", cfg.NumClasses, nn.GlorotUniform))
	return b.finish(cfg, seq(fs...), featureDim, withDropout(cfg, head))
}

// buildVGG16 is VGG-Face's topology (VGG-16: 13 3x3 convolutions in five
// blocks of 64, 128, 256, 512, 512 channels, each block ending in a 2x2 max
// pool, then dense 4096, dense 4096, dense NumClasses), scaled by WidthMult.
// Batch norm follows every convolution: the original was trained without it
// from 2.6M faces, and training from scratch on FER-sized sets needs it. The
// features are the second 4096-wide dense layer (after ReLU), the layer the
// paper embeds with. Inputs from 32 px up work (five halvings, floored).
func buildVGG16(cfg Config) (*Net, error) {
	if cfg.Height < 32 || cfg.Width < 32 {
		return nil, fmt.Errorf("models: vgg-face: input %dx%d too small (five 2x2 pools need >= 32)", cfg.Height, cfg.Width)
	}
	b := newBuilder(cfg)
	var fs []layerFn
	blocks := [][]int{{64, 64}, {128, 128}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}}
	for i, blk := range blocks {
		for j, ch := range blk {
			name := fmt.Sprintf("block%d/conv%d", i+1, j+1)
			if j < len(blk)-1 {
				fs = append(fs, b.convBN(name, name+"/bn", 3, scaled(ch, cfg.WidthMult), 1), b.relu())
				continue
			}
			// The block's last conv: its ReLU (and folded BN shift) after
			// the pool, the same function with less work (poolThenReLU).
			fs = append(fs, b.convBNPoolReLU(name, name+"/bn", fmt.Sprintf("block%d/pool", i+1),
				3, scaled(ch, cfg.WidthMult), 1, 2, 2))
		}
	}
	fc := scaled(4096, cfg.WidthMult)
	fs = append(fs, b.flatten(),
		b.dense("fc6", fc, nn.HeNormal), b.relu(),
		b.dense("fc7", fc, nn.HeNormal), b.relu())
	featureDim := b.c
	head := seq(b.dense("fc8", cfg.NumClasses, nn.GlorotUniform))
	return b.finish(cfg, seq(fs...), featureDim, withDropout(cfg, head))
}

// buildResNet is ResNet-18/34 with basic blocks (two 3x3 conv-BN, identity
// or 1x1-conv-BN shortcut) in four stages of 64, 128, 256, 512 channels x
// WidthMult. From 112 px up it uses ImageNet's stem (7x7/2 conv, 3x3/2 max
// pool); below, the CIFAR-style stem (one 3x3/1 conv, no pool) so that a
// 48x48 face keeps a 6x6 map in the last stage instead of collapsing to 2x2.
// Features are the global average pool of the last stage.
func buildResNet(cfg Config, stages []int) (*Net, error) {
	if cfg.Height < 16 || cfg.Width < 16 {
		return nil, fmt.Errorf("models: %s: input %dx%d too small (want >= 16)", cfg.Name, cfg.Height, cfg.Width)
	}
	b := newBuilder(cfg)
	var fs []layerFn
	w0 := scaled(64, cfg.WidthMult)
	if min(cfg.Height, cfg.Width) >= 112 {
		fs = append(fs, b.convBN("stem/conv", "stem/bn", 7, w0, 2), b.relu(),
			b.padZeros(), b.maxPool("stem/pool", 3, 2))
	} else {
		fs = append(fs, b.convBN("stem/conv", "stem/bn", 3, w0, 1), b.relu())
	}
	for s, n := range stages {
		ch := scaled(64<<s, cfg.WidthMult)
		for i := 0; i < n; i++ {
			stride := 1
			if s > 0 && i == 0 {
				stride = 2
			}
			fs = append(fs, b.basicBlock(fmt.Sprintf("stage%d/block%d", s+1, i+1), ch, stride))
		}
	}
	fs = append(fs, b.gap("gap"))
	featureDim := b.c
	head := seq(b.dense("logits", cfg.NumClasses, nn.GlorotUniform))
	return b.finish(cfg, seq(fs...), featureDim, withDropout(cfg, head))
}

// basicBlock is ResNet's two-convolution residual block.
func (b *builder) basicBlock(name string, ch, stride int) layerFn {
	inC := b.c
	h0, w0, c0 := b.h, b.w, b.c
	main := seq(
		b.convBN(name+"/conv1", name+"/bn1", 3, ch, stride), b.relu(),
		b.convBN(name+"/conv2", name+"/bn2", 3, ch, 1))
	h1, w1, c1 := b.h, b.w, b.c
	var short layerFn
	if stride != 1 || inC != ch {
		b.h, b.w, b.c = h0, w0, c0
		short = b.convBN(name+"/down", name+"/down_bn", 1, ch, stride)
		b.h, b.w, b.c = h1, w1, c1
	}
	return func(p nn.Params, x *graph.Node, training bool, upd nn.Params) *graph.Node {
		y := main(p, x, training, upd)
		s := x
		if short != nil {
			s = short(p, x, training, upd)
		}
		return nn.ReLU(graph.Add(y, s))
	}
}
