package nn

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Padding selects how convolutions and pools treat the image border.
type Padding int

const (
	// Same pads so that the output spatial size is ceil(in/stride): (k-1)/2
	// before, the rest after (PyTorch's padding=k//2 for odd kernels).
	Same Padding = iota
	// Valid takes only windows fully inside the image: floor((in-k)/stride)+1.
	Valid
)

// String implements fmt.Stringer.
func (p Padding) String() string {
	if p == Valid {
		return "valid"
	}
	return "same"
}

// geometry is the spatial arrangement of one 2D window operation (conv or
// pool): input size, window, stride and the resulting padding and output.
type geometry struct {
	n, h, w          int
	kh, kw, stride   int
	padTop, padLeft  int
	outH, outW       int
	padBottom, padRt int // implied, used only by the native paths
}

func newGeometry(n, h, w, kh, kw, stride int, pad Padding) (geometry, error) {
	g := geometry{n: n, h: h, w: w, kh: kh, kw: kw, stride: stride}
	if stride < 1 {
		return g, fmt.Errorf("nn: stride must be >= 1, got %d", stride)
	}
	if kh < 1 || kw < 1 {
		return g, fmt.Errorf("nn: window must be >= 1x1, got %dx%d", kh, kw)
	}
	switch pad {
	case Same:
		g.outH = (h + stride - 1) / stride
		g.outW = (w + stride - 1) / stride
		g.padTop = (kh - 1) / 2
		g.padLeft = (kw - 1) / 2
		g.padBottom = max((g.outH-1)*stride+kh-h-g.padTop, 0)
		g.padRt = max((g.outW-1)*stride+kw-w-g.padLeft, 0)
	case Valid:
		if h < kh || w < kw {
			return g, fmt.Errorf("nn: Valid window %dx%d larger than the %dx%d input", kh, kw, h, w)
		}
		g.outH = (h-kh)/stride + 1
		g.outW = (w-kw)/stride + 1
	default:
		return g, fmt.Errorf("nn: unknown padding %d", pad)
	}
	return g, nil
}

// patchKey identifies a set of im2col indices inside one graph, so that layers
// with the same geometry (e.g. the two convs of a ResNet block) share one
// index constant instead of each building its own.
type patchKey struct {
	geom geometry
}

// patchCache is stored in the graph state (key patchCacheKey{}).
type patchCacheKey struct{}

// patchIndices returns the Gather indices [N*outH*outW*kh*kw, 1] (int32) into
// the input flattened to [N*H*W+1, C], where row N*H*W is the fill row used
// for taps outside the image. The constant is built once per geometry per
// graph.
func patchIndices(g *graph.Graph, geom geometry) *graph.Node {
	cache, _ := g.State(patchCacheKey{}).(map[patchKey]*graph.Node)
	if cache == nil {
		cache = make(map[patchKey]*graph.Node)
		g.AttachState(patchCacheKey{}, cache)
	}
	key := patchKey{geom}
	if idx, ok := cache[key]; ok {
		return idx
	}
	total := geom.n * geom.outH * geom.outW * geom.kh * geom.kw
	if int64(geom.n)*int64(geom.h)*int64(geom.w) >= 1<<31 {
		exceptions.Panicf("nn: input of %d pixels is too large for int32 gather indices", geom.n*geom.h*geom.w)
	}
	flat := make([]int32, total)
	fill := int32(geom.n * geom.h * geom.w)
	i := 0
	for n := range geom.n {
		base := n * geom.h * geom.w
		for oy := range geom.outH {
			for ox := range geom.outW {
				for dy := range geom.kh {
					iy := oy*geom.stride - geom.padTop + dy
					for dx := range geom.kw {
						ix := ox*geom.stride - geom.padLeft + dx
						if iy < 0 || iy >= geom.h || ix < 0 || ix >= geom.w {
							flat[i] = fill
						} else {
							flat[i] = int32(base + iy*geom.w + ix)
						}
						i++
					}
				}
			}
		}
	}
	idx := graph.Reshape(graph.Const(g, flat), total, 1)
	cache[key] = idx
	return idx
}

// Conv2D is a 2D convolution of x [N,H,W,Cin] with kernel [kh,kw,Cin,Cout],
// plus bias [Cout] when bias is not nil. It returns [N,outH,outW,Cout].
//
// With the Differentiable formulation (the default on the Go backend) it is an
// im2col product with a hand-written gradient: fast on the Go backend and
// twice differentiable. With Native it is graph.Convolve, except for even
// kernel sizes, whose GoMLX input gradient is wrong. See SetFormulation.
//
// Like all graph-building functions, it panics (with an error) on bad shapes.
func Conv2D(x, kernel, bias *graph.Node, stride int, pad Padding) *graph.Node {
	if x.Rank() != 4 {
		exceptions.Panicf("nn.Conv2D: x must be [N,H,W,Cin], got %s", x.Shape())
	}
	if kernel.Rank() != 4 {
		exceptions.Panicf("nn.Conv2D: kernel must be [kh,kw,Cin,Cout], got %s", kernel.Shape())
	}
	xd, kd := x.Shape().Dimensions, kernel.Shape().Dimensions
	if xd[3] != kd[2] {
		exceptions.Panicf("nn.Conv2D: x has %d channels but kernel %s expects %d", xd[3], kernel.Shape(), kd[2])
	}
	geom, err := newGeometry(xd[0], xd[1], xd[2], kd[0], kd[1], stride, pad)
	if err != nil {
		exceptions.Panicf("nn.Conv2D(x=%s, kernel=%s): %v", x.Shape(), kernel.Shape(), err)
	}
	if bias != nil && (bias.Rank() != 1 || bias.Shape().Dimensions[0] != kd[3]) {
		exceptions.Panicf("nn.Conv2D: bias must be [%d], got %s", kd[3], bias.Shape())
	}
	// GoMLX v0.28.2's ConvGeneral input gradient is wrong for even kernel
	// sizes (checked against finite differences), so those always take the
	// im2col path.
	if FormulationOf(x.Graph()) != Native || kd[0]%2 == 0 || kd[1]%2 == 0 {
		return im2colConv(x, kernel, bias, geom)
	}
	y := nativeConv(x, kernel, geom)
	if bias != nil {
		y = graph.Add(y, graph.Reshape(bias, 1, 1, 1, kd[3]))
	}
	return y
}

// im2colConv is the Differentiable convolution: the patches of x as a matrix
// [N*outH*outW, kh*kw*Cin] times the kernel as [kh*kw*Cin, Cout].
//
// Its gradient is written by hand (withVJP) rather than derived op by op:
// GoMLX's DotGeneral VJP ends in a Transpose even when the permutation is the
// identity, which the Go backend executes as an element-by-element copy of
// the whole patch gradient, and the kernel gradient can be arranged so that
// only the smaller of its two operands is transposed.
func im2colConv(x, kernel, bias *graph.Node, geom geometry) *graph.Node {
	cin := x.Shape().Dimensions[3]
	cout := kernel.Shape().Dimensions[3]
	kdim := geom.kh * geom.kw * cin
	m := geom.n * geom.outH * geom.outW
	pointwise := geom.kh == 1 && geom.kw == 1 && geom.stride == 1

	var cols *graph.Node // [M, K], differentiable with respect to x
	if pointwise {
		cols = graph.Reshape(x, m, cin)
	} else {
		cols = patches(x, geom)
	}
	k2 := graph.Reshape(kernel, kdim, cout)

	// Forward product with the kernel as [Cout, K], the Go backend's fastest
	// matmul layout; StopGradient on the (single-use) product, not on cols,
	// so the backend need not copy cols for an Identity node.
	y := graph.StopGradient(graph.DotGeneral(cols, []int{1}, nil, graph.Transpose(k2, 0, 1), []int{1}, nil))
	y = withVJP(y, bias, []*graph.Node{x, kernel}, func(dy *graph.Node) []*graph.Node {
		// dx: dcols = dy·k2ᵀ ([M, K], both operands in the matmul's native
		// layouts), folded back onto the image.
		dcols := graph.DotGeneral(dy, []int{1}, nil, k2, []int{1}, nil)
		var dx *graph.Node
		if pointwise {
			dx = graph.Reshape(dcols, geom.n, geom.h, geom.w, cin)
		} else {
			dx = col2im(dcols, geom, cin)
		}
		// dk = colsᵀ·dy. The matmul wants its lhs as [cross, contracting],
		// and contracting over the rows axis of an operand costs the backend
		// far more than transposing one first, so transpose the smaller of
		// cols (M×K) and dy (M×Cout); dy is transposed in row blocks
		// (batchedRowsT), which keeps each transpose inside the cache.
		var dk *graph.Node
		if kdim < cout { // a first layer on grey images
			dk = graph.DotGeneral(graph.Transpose(cols, 0, 1), []int{1}, nil, dy, []int{0}, nil)
		} else {
			dk = graph.Transpose(batchedRowsT(dy, cols), 0, 1)
		}
		return []*graph.Node{dx, graph.Reshape(dk, geom.kh, geom.kw, cin, cout)}
	})
	return graph.Reshape(y, geom.n, geom.outH, geom.outW, cout)
}

// batchedRowsT returns aᵀ·b for a [M, A] and b [M, B] as [A, B]: the rows are
// split into up to 8 blocks, each block's aᵀ·b is one matmul of a batched
// DotGeneral after a per-block transpose of a, and the blocks are summed. The
// Go backend transposes a whole tall matrix with its output rows a page or
// more apart; per block the transpose stays in cache.
func batchedRowsT(a, b *graph.Node) *graph.Node {
	m, da, db := a.Shape().Dimensions[0], a.Shape().Dimensions[1], b.Shape().Dimensions[1]
	nb := 8
	for m%nb != 0 {
		nb /= 2
	}
	at := graph.Transpose(graph.Reshape(a, nb, m/nb, da), 1, 2) // [nb, A, M/nb]
	prod := graph.DotGeneral(at, []int{2}, []int{0}, graph.Reshape(b, nb, m/nb, db), []int{1}, []int{0})
	return graph.ReduceSum(prod, 0)
}

// gatherMinChannels is the channel count from which patches and col2im move
// whole pixels (rows of C values) with one Gather / ScatterSum instead of
// per-tap Slices: each row is one block copy, while Slice walks its output
// element by element; below it, rows are too short for the block copies to
// win.
const gatherMinChannels = 8

// patches returns the im2col matrix [N*outH*outW, kh*kw*Cin] of x, taps
// ordered (dy, dx, c) like the reshaped kernel. Wide inputs gather whole
// pixels from x flattened to [N*H*W+1, C] (the extra row is the zero
// padding); narrow ones (grey images) concatenate the strided Slices of
// sliceTaps. Both are differentiable again (Gather's VJP is ScatterSum and
// back; Slice's is Pad).
func patches(x *graph.Node, geom geometry) *graph.Node {
	c := x.Shape().Dimensions[3]
	m, k := geom.n*geom.outH*geom.outW, geom.kh*geom.kw*c
	if c >= gatherMinChannels {
		rows := geom.n * geom.h * geom.w
		flat := graph.Concatenate([]*graph.Node{graph.Reshape(x, rows, c),
			graph.Zeros(x.Graph(), shapes.Make(x.DType(), 1, c))}, 0)
		return graph.Reshape(graph.Gather(flat, patchIndices(x.Graph(), geom), true), m, k)
	}
	taps := sliceTaps(x, geom, 0)
	p := taps[0]
	if len(taps) > 1 {
		p = graph.Concatenate(taps, 3)
	}
	return graph.Reshape(p, m, k)
}

// sliceTaps returns, for each window offset (dy, dx) in row-major order, the
// [N, outH, outW, C] plane of x values that offset sees: one strided Slice of
// x padded with fill (by concatenating constant blocks, not Pad).
func sliceTaps(x *graph.Node, geom geometry, fill float64) []*graph.Node {
	g := x.Graph()
	c := x.Shape().Dimensions[3]
	block := func(dims ...int) *graph.Node {
		return graph.BroadcastToDims(graph.Scalar(g, x.DType(), fill), dims...)
	}
	xp := x
	if geom.padTop > 0 || geom.padBottom > 0 {
		var parts []*graph.Node
		if geom.padTop > 0 {
			parts = append(parts, block(geom.n, geom.padTop, geom.w, c))
		}
		parts = append(parts, xp)
		if geom.padBottom > 0 {
			parts = append(parts, block(geom.n, geom.padBottom, geom.w, c))
		}
		xp = graph.Concatenate(parts, 1)
	}
	hp := geom.h + geom.padTop + geom.padBottom
	if geom.padLeft > 0 || geom.padRt > 0 {
		var parts []*graph.Node
		if geom.padLeft > 0 {
			parts = append(parts, block(geom.n, hp, geom.padLeft, c))
		}
		parts = append(parts, xp)
		if geom.padRt > 0 {
			parts = append(parts, block(geom.n, hp, geom.padRt, c))
		}
		xp = graph.Concatenate(parts, 2)
	}
	taps := make([]*graph.Node, 0, geom.kh*geom.kw)
	for dy := range geom.kh {
		for dx := range geom.kw {
			taps = append(taps, graph.Slice(xp,
				graph.AxisRange(),
				graph.AxisRange(dy, dy+(geom.outH-1)*geom.stride+1).Stride(geom.stride),
				graph.AxisRange(dx, dx+(geom.outW-1)*geom.stride+1).Stride(geom.stride),
				graph.AxisRange()))
		}
	}
	return taps
}

// col2im is the adjoint of patch extraction: it sums the patch gradients
// dcols [N*outH*outW, kh*kw*C] back onto the image [N,H,W,C].
//
// Wide inputs and strided convolutions scatter-add whole pixels (rows of C
// values, block operations, like patches' Gather); narrow stride-1 inputs
// shift and add the taps with Slice, Concatenate (zeros) and Add, cheaper
// there than a scatter of rows a few values long. Both forms differentiate
// again (Slice's VJP is Pad, only needed at third order; ScatterSum's is
// Gather).
func col2im(dcols *graph.Node, geom geometry, c int) *graph.Node {
	if geom.stride == 1 && c < gatherMinChannels {
		return col2imShift(dcols, geom, c)
	}
	g := dcols.Graph()
	rows := geom.n * geom.h * geom.w
	updates := graph.Reshape(dcols, geom.n*geom.outH*geom.outW*geom.kh*geom.kw, c)
	acc := graph.Zeros(g, shapes.Make(dcols.DType(), rows+1, c))
	img := graph.ScatterSum(acc, patchIndices(g, geom), updates, false, false)
	img = graph.Slice(img, graph.AxisRange(0, rows))
	return graph.Reshape(img, geom.n, geom.h, geom.w, c)
}

// col2imShift is col2im for stride 1: tap (dy,dx) of output pixel (oy,ox)
// came from padded-image pixel (oy+dy, ox+dx), so each tap's gradient plane is
// placed at offset (dy,dx) of the padded frame [N, outH+kh-1, outW+kw-1, C]
// and the frames are summed; the padding border is cropped at the end. Taps
// of one kernel row are summed before the row is placed, saving frame-sized
// copies.
func col2imShift(dcols *graph.Node, geom geometry, c int) *graph.Node {
	g := dcols.Graph()
	dt := dcols.DType()
	hp, wp := geom.outH+geom.kh-1, geom.outW+geom.kw-1
	taps := graph.Reshape(dcols, geom.n, geom.outH, geom.outW, geom.kh*geom.kw, c)
	// place concatenates zeros before and after x on axis so that x starts at
	// offset and the result has size total there.
	place := func(x *graph.Node, axis, offset, total int) *graph.Node {
		size := x.Shape().Dimensions[axis]
		if offset == 0 && size == total {
			return x
		}
		zeros := func(n int) *graph.Node {
			dims := x.Shape().Clone().Dimensions
			dims[axis] = n
			return graph.Zeros(g, shapes.Make(dt, dims...))
		}
		var parts []*graph.Node
		if offset > 0 {
			parts = append(parts, zeros(offset))
		}
		parts = append(parts, x)
		if rest := total - offset - size; rest > 0 {
			parts = append(parts, zeros(rest))
		}
		return graph.Concatenate(parts, axis)
	}
	var frame *graph.Node
	for dy := range geom.kh {
		var row *graph.Node
		for dx := range geom.kw {
			t := dy*geom.kw + dx
			tap := graph.Slice(taps, graph.AxisRange(), graph.AxisRange(), graph.AxisRange(),
				graph.AxisRange(t, t+1), graph.AxisRange())
			tap = place(graph.Reshape(tap, geom.n, geom.outH, geom.outW, c), 2, dx, wp)
			if row == nil {
				row = tap
			} else {
				row = graph.Add(row, tap)
			}
		}
		row = place(row, 1, dy, hp)
		if frame == nil {
			frame = row
		} else {
			frame = graph.Add(frame, row)
		}
	}
	if geom.padTop == 0 && geom.padLeft == 0 && hp == geom.h && wp == geom.w {
		return frame
	}
	return graph.Slice(frame, graph.AxisRange(),
		graph.AxisRange(geom.padTop, geom.padTop+geom.h),
		graph.AxisRange(geom.padLeft, geom.padLeft+geom.w))
}

func nativeConv(x, kernel *graph.Node, geom geometry) *graph.Node {
	return graph.Convolve(x, kernel).Strides(geom.stride).
		PaddingPerDim([][2]int{{geom.padTop, geom.padBottom}, {geom.padLeft, geom.padRt}}).Done()
}

// lowest returns the most negative finite value of dtype, used as the fill of
// max-pooling windows that overhang the image (a finite value keeps 0*fill
// out of the gradients).
func lowest(dtype dtypes.DType) float64 {
	switch dtype {
	case dtypes.Float64:
		return -1.7976931348623157e308
	case dtypes.Float16:
		return -65504
	default:
		return -3.4028234663852886e38
	}
}
