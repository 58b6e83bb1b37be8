package nn

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"
)

// MaxPool2D takes the maximum over window×window patches of x [N,H,W,C] every
// stride pixels, with Same (ceil) output size: out = ceil(H/stride). It equals
// PyTorch's MaxPool2d(window, stride, padding=(window-1)/2, ceil_mode=False)
// whenever those agree (e.g. 2/2 on even sizes, 3/2 with padding 1).
// Use MaxPool2DWith for Valid (PyTorch's default floor rule).
func MaxPool2D(x *graph.Node, window, stride int) *graph.Node {
	return MaxPool2DWith(x, window, stride, Same)
}

// AvgPool2D averages x [N,H,W,C] over window×window patches every stride
// pixels with Same (ceil) output size; windows overhanging the border average
// only their in-image taps (like GoMLX MeanPool and Keras, and PyTorch with
// count_include_pad=False).
func AvgPool2D(x *graph.Node, window, stride int) *graph.Node {
	return AvgPool2DWith(x, window, stride, Same)
}

// MaxPool2DWith is MaxPool2D with an explicit padding rule.
func MaxPool2DWith(x *graph.Node, window, stride int, pad Padding) *graph.Node {
	return pool2D("MaxPool2D", x, window, stride, pad, true, true)
}

// MaxPool2DInference is MaxPool2DWith for graphs that take no gradient
// through the pool (inference, feature extraction). For windows that tile
// the image it skips the hand-written gradient of the training form, whose
// bookkeeping makes the Go backend copy x once (a visible share of the FER
// CNN's inference time); the result is identical, and it remains twice
// differentiable through GoMLX's own gradients of Gather, Slice and Max
// (which send a tie's gradient to its first tap only).
func MaxPool2DInference(x *graph.Node, window, stride int, pad Padding) *graph.Node {
	return pool2D("MaxPool2D", x, window, stride, pad, true, false)
}

// AvgPool2DWith is AvgPool2D with an explicit padding rule.
func AvgPool2DWith(x *graph.Node, window, stride int, pad Padding) *graph.Node {
	return pool2D("AvgPool2D", x, window, stride, pad, false, true)
}

func pool2D(name string, x *graph.Node, window, stride int, pad Padding, isMax, customGrad bool) *graph.Node {
	if x.Rank() != 4 {
		exceptions.Panicf("nn.%s: x must be [N,H,W,C], got %s", name, x.Shape())
	}
	d := x.Shape().Dimensions
	geom, err := newGeometry(d[0], d[1], d[2], window, window, stride, pad)
	if err != nil {
		exceptions.Panicf("nn.%s(x=%s, window=%d, stride=%d): %v", name, x.Shape(), window, stride, err)
	}
	if FormulationOf(x.Graph()) == Native {
		paddings := [][2]int{{geom.padTop, geom.padBottom}, {geom.padLeft, geom.padRt}}
		if isMax {
			return graph.MaxPool(x).Window(window).Strides(stride).PaddingPerDim(paddings).Done()
		}
		return graph.MeanPool(x).Window(window).Strides(stride).PaddingPerDim(paddings).Done()
	}
	n, h, w, c := d[0], d[1], d[2], d[3]
	if window == stride && h%window == 0 && w%window == 0 {
		// Non-overlapping windows tiling the image: a reshape exposes each
		// window as two axes, and one reduction pools them. No copies, and
		// the VJPs (broadcast + indicator) are differentiable again.
		r := graph.Reshape(x, n, h/window, window, w/window, window, c)
		if isMax && customGrad {
			return tiledMaxPool(x, r)
		}
		if isMax {
			return tiledMax(r)
		}
		return graph.ReduceMean(r, 2, 4)
	}
	return tapPool(x, geom, isMax)
}

// tiledMaxPool is the max over axes 2 and 4 of r, x reshaped to [N, H/k, k,
// W/k, k, C], with a hand-written gradient (withVJP) that sends dy to every
// tap equal to its window's maximum, as GoMLX's ReduceMax VJP does, but in
// a few memory-speed passes: y and dy are spread back over the windows by
// Concatenate (block copies; the Go backend's broadcasts walk a generic
// per-element iterator), then one same-shape comparison and one Where.
// GoMLX's VJP builds the mask from a broadcasting Sub and two Sign passes
// and multiplies through the slow implicit-broadcast path. The formula is
// made of differentiable ops of dy, so it differentiates again.
func tiledMaxPool(x, r *graph.Node) *graph.Node {
	k := r.Shape().Dimensions[2]
	y := tiledMax(r)
	return withVJP(graph.StopGradient(y), nil, []*graph.Node{x}, func(dy *graph.Node) []*graph.Node {
		mask := graph.Equal(r, spreadWindows(y, k))
		dr := graph.Where(mask, spreadWindows(dy, k), graph.ScalarZero(dy.Graph(), dy.DType()))
		return []*graph.Node{graph.Reshape(dr, x.Shape().Dimensions...)}
	})
}

// tiledMax is the max of r [N, H/k, k, W/k, k, C] over axes 2 and 4. It
// takes the Max of the k taps of each window axis in turn (windowTap), and
// Max runs the backend's vector loop, where ReduceMax over the two inner
// axes walks a generic per-element iterator.
func tiledMax(r *graph.Node) *graph.Node {
	d := r.Shape().Dimensions
	n, ho, k, wo, c := d[0], d[1], d[2], d[3], d[5]
	maxOver := func(v *graph.Node) *graph.Node { // v [rows, k, inner]: max over axis 1
		m := windowTap(v, 0)
		for i := 1; i < k; i++ {
			m = graph.Max(m, windowTap(v, i))
		}
		return m
	}
	rows := maxOver(graph.Reshape(r, n*ho, k, wo*k*c)) // [N*H/k, W*C]
	y := maxOver(graph.Reshape(rows, n*ho*wo, k, c))   // [N*H/k*W/k, C]
	return graph.Reshape(y, n, ho, wo, c)
}

// windowTap returns tap i of v [rows, k, inner] as [rows, inner]. Rows of
// gatherMinChannels or more values are gathered, one block copy per row,
// where a Slice walks its output element by element; shorter rows are
// sliced. Both differentiate twice (Gather's VJP is ScatterSum and back;
// Slice's is Pad).
func windowTap(v *graph.Node, i int) *graph.Node {
	d := v.Shape().Dimensions
	rows, k, inner := d[0], d[1], d[2]
	if inner < gatherMinChannels {
		return graph.Reshape(graph.Slice(v, graph.AxisRange(), graph.AxisElem(i)), rows, inner)
	}
	if int64(rows)*int64(k) >= 1<<31 {
		exceptions.Panicf("nn: pooling %d window rows is too many for int32 gather indices", rows*k)
	}
	idx := make([]int32, rows)
	for r := range idx {
		idx[r] = int32(r*k + i)
	}
	flat := graph.Reshape(v, rows*k, inner)
	return graph.Gather(flat, graph.Reshape(graph.Const(v.Graph(), idx), rows, 1), true)
}

// spreadWindows repeats v [N, H', W', C] over k×k windows, returning
// [N, H', k, W', k, C], with two Concatenates of k copies.
func spreadWindows(v *graph.Node, k int) *graph.Node {
	d := v.Shape().Dimensions
	v = graph.Reshape(v, d[0], d[1], 1, d[2], 1, d[3])
	copies := make([]*graph.Node, k)
	for i := range copies {
		copies[i] = v
	}
	v = graph.Concatenate(copies, 4)
	for i := range copies {
		copies[i] = v
	}
	return graph.Concatenate(copies, 2)
}

// tapPool pools overlapping or border-overhanging windows: the window taps are
// strided Slices of the (fill-padded) image combined with Max or Add, which
// the Go backend runs faster than gathering the patches; the gradient is written by hand
// (withVJP) as one col2im of the per-tap gradients, so no op in it lacks a
// VJP and it differentiates again. Max sends a window's gradient to every tap
// equal to the maximum, like GoMLX's ReduceMax.
func tapPool(x *graph.Node, geom geometry, isMax bool) *graph.Node {
	c := x.Shape().Dimensions[3]
	fill := 0.0
	if isMax {
		fill = lowest(x.DType())
	}
	taps := sliceTaps(x, geom, fill)
	y := taps[0]
	for _, t := range taps[1:] {
		if isMax {
			y = graph.Max(y, t)
		} else {
			y = graph.Add(y, t)
		}
	}
	var counts *graph.Node
	if !isMax {
		counts = graph.ConstAsDType(x.Graph(), x.DType(), tapCounts(geom))
		y = graph.Div(y, counts)
	}
	yOut := y
	return withVJP(graph.StopGradient(y), nil, []*graph.Node{x}, func(dy *graph.Node) []*graph.Node {
		grads := make([]*graph.Node, len(taps))
		var mean *graph.Node
		if !isMax {
			mean = graph.Reshape(graph.Div(dy, counts), geom.n, geom.outH, geom.outW, 1, c)
		}
		for i, t := range taps {
			if isMax {
				gt := graph.Where(graph.Equal(t, yOut), dy, graph.ZerosLike(dy))
				grads[i] = graph.Reshape(gt, geom.n, geom.outH, geom.outW, 1, c)
			} else {
				grads[i] = mean
			}
		}
		g := grads[0]
		if len(grads) > 1 {
			g = graph.Concatenate(grads, 3)
		}
		dcols := graph.Reshape(g, geom.n*geom.outH*geom.outW, geom.kh*geom.kw*c)
		return []*graph.Node{col2im(dcols, geom, c)}
	})
}

// tapCounts returns [1, outH, outW, 1] with the number of in-image taps of each
// output window, the divisor of an average pool that ignores padding.
func tapCounts(geom geometry) [][][][]float64 {
	counts := make([][][]float64, geom.outH)
	for oy := range geom.outH {
		counts[oy] = make([][]float64, geom.outW)
		for ox := range geom.outW {
			k := 0
			for dy := range geom.kh {
				iy := oy*geom.stride - geom.padTop + dy
				for dx := range geom.kw {
					ix := ox*geom.stride - geom.padLeft + dx
					if iy >= 0 && iy < geom.h && ix >= 0 && ix < geom.w {
						k++
					}
				}
			}
			counts[oy][ox] = []float64{float64(k)}
		}
	}
	return [][][][]float64{counts}
}

// GlobalAvgPool averages x [N,H,W,C] over its spatial axes, returning [N,C].
func GlobalAvgPool(x *graph.Node) *graph.Node {
	if x.Rank() != 4 {
		exceptions.Panicf("nn.GlobalAvgPool: x must be [N,H,W,C], got %s", x.Shape())
	}
	return graph.ReduceMean(x, 1, 2)
}
