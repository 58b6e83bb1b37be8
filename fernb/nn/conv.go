package nn

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
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

// extractPatches returns the k×k patches of x [N,H,W,C] as
// [N, outH, outW, kh*kw, C], with fill (a scalar) for taps outside the image.
// It is made of Reshape, Concatenate and Gather only, so it differentiates
// any number of times.
func extractPatches(x *graph.Node, geom geometry, fill float64) *graph.Node {
	g := x.Graph()
	c := x.Shape().Dimensions[3]
	flat := graph.Reshape(x, geom.n*geom.h*geom.w, c)
	fillRow := graph.BroadcastToDims(graph.Scalar(g, x.DType(), fill), 1, c)
	flat = graph.Concatenate([]*graph.Node{flat, fillRow}, 0)
	patches := graph.Gather(flat, patchIndices(g, geom), false)
	return graph.Reshape(patches, geom.n, geom.outH, geom.outW, geom.kh*geom.kw, c)
}

// Conv2D is a 2D convolution of x [N,H,W,Cin] with kernel [kh,kw,Cin,Cout],
// plus bias [Cout] when bias is not nil. It returns [N,outH,outW,Cout].
//
// With the Differentiable formulation (the default on the Go backend) it is an
// im2col Gather followed by one DotGeneral: fast on the Go backend and twice
// differentiable. With Native it is graph.Convolve. See SetFormulation.
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
	var y *graph.Node
	if FormulationOf(x.Graph()) == Native {
		y = nativeConv(x, kernel, geom)
	} else {
		y = im2colConv(x, kernel, geom)
	}
	if bias != nil {
		if bias.Rank() != 1 || bias.Shape().Dimensions[0] != kd[3] {
			exceptions.Panicf("nn.Conv2D: bias must be [%d], got %s", kd[3], bias.Shape())
		}
		y = graph.Add(y, graph.Reshape(bias, 1, 1, 1, kd[3]))
	}
	return y
}

func im2colConv(x, kernel *graph.Node, geom geometry) *graph.Node {
	cin := x.Shape().Dimensions[3]
	cout := kernel.Shape().Dimensions[3]
	k2 := graph.Reshape(kernel, geom.kh*geom.kw*cin, cout)
	if geom.kh == 1 && geom.kw == 1 && geom.stride == 1 {
		// A 1x1 convolution is a matrix product on the flattened pixels.
		y := graph.Dot(graph.Reshape(x, geom.n*geom.h*geom.w, cin), k2).Product()
		return graph.Reshape(y, geom.n, geom.h, geom.w, cout)
	}
	patches := extractPatches(x, geom, 0)
	cols := graph.Reshape(patches, geom.n*geom.outH*geom.outW, geom.kh*geom.kw*cin)
	y := graph.Dot(cols, k2).Product()
	return graph.Reshape(y, geom.n, geom.outH, geom.outW, cout)
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
