// Package nn holds fernb's neural-network building blocks: functional layers,
// parameter declarations, and SGD with momentum.
//
// # Why functional layers
//
// Every layer takes its weights as *graph.Node arguments instead of creating
// hidden variables. The same network code then serves two very different
// callers:
//
//   - normal training, where the weights are bound to model.Scope variables
//     (BindVariables) so that they are trained by an optimizer (SGDMomentum)
//     and saved in a checkpoint, and
//   - dataset distillation (DD), which unrolls T SGD steps of the network inside
//     one graph and differentiates the final loss with respect to synthetic
//     images and learning rates. There the weights are plain nodes (InitParams
//     draws them in-graph from an RNG state), and every layer must be
//     differentiable twice: the outer gradient passes through the inner
//     gradients.
//
// # Why these formulations
//
// On the pure-Go backend (compute v0.1.14 under GoMLX v0.28.16)
// graph.ConvGeneral is a scalar loop, ConvGeneral, MaxPool and MeanPool do
// not differentiate twice, and most time goes to data movement rather than
// arithmetic: Slice and BroadcastInDim walk their output element by element,
// a tall 2-D Transpose writes rows a page apart, while Gather, ScatterSum,
// Concatenate and Pad move whole blocks and the matmul is SIMD. One line per
// choice:
//
//   - convolution is im2col: one DotGeneral of the patch matrix
//     [N*outH*outW, kh*kw*Cin] with the kernel laid out as [Cout, K], the
//     matmul's fastest layout;
//   - patches of inputs with 8 or more channels are one Gather of whole
//     pixels (a block copy each), with the zero padding as an extra row;
//     grey inputs, whose pixels are one value, concatenate strided Slices;
//   - the convolution's gradient is written by hand (see withVJP): the patch
//     gradient dy·Kᵀ is scatter-added back by pixel (ScatterSum, or
//     shift-and-add of Slices for narrow inputs), and the kernel gradient
//     transposes the smaller of the patch matrix and dy, dy in row blocks
//     (batchedRowsT) so that each transpose stays in cache;
//   - pooling with window == stride (dividing the image) is Reshape then
//     Max over the taps of each window axis, whole rows gathered (tiledMax;
//     ReduceMax over the window axes and Slice walk generic per-element
//     iterators) or ReduceMean; any other window/stride is Max/Add over the
//     strided Slices of the window taps (the border filled by
//     concatenation, not Pad), with a hand-written gradient folded back
//     like the conv's;
//   - per-channel vectors meet [rows, C] tensors as [1, C] (channelWise):
//     the backend broadcasts that in its row loop, where an explicit
//     BroadcastInDim costs a generic per-element pass of its own;
//   - ReLU is Where(x > 0, x, 0), a compare and a select: GoMLX's Max VJP
//     takes several passes, and x·[x>0] a bool-to-float conversion pass;
//   - batch normalisation has the textbook gradient (through the batch
//     statistics) and sums over rows as products with a ones vector; group
//     normalisation is plain arithmetic.
//
// Every op in a forward pass and in its hand-written gradient has a VJP that
// is itself differentiable (Slice's VJP is Pad, only needed at third order;
// Gather's is ScatterSum and ScatterSum's Gather), so the layers
// differentiate twice; the package tests check the gradient of a loss after
// 1 and 3 unrolled SGD steps with respect to the input images and the
// learning rate against finite differences.
//
// On other backends (XLA) the native ops are faster (cuDNN, XLA's fused
// convolutions), so Conv2D and the pools use graph.Convolve / MaxPool /
// MeanPool there, but those are only once-differentiable in GoMLX. A graph
// that needs second-order gradients must ask for the im2col formulation with
// SetFormulation(g, Differentiable) before building the network; on the Go
// backend that is already the default. See Formulation.
//
// # Conventions
//
// Layout is NHWC. Same padding follows PyTorch/GoMLX: (k-1)/2 zeros before and
// what is needed after so that the output size is ceil(H/stride) (for odd k
// this is PyTorch's padding=k//2). MaxPool2D and AvgPool2D use the same
// Same-style ceil rule (AvgPool2D divides by the number of in-image taps, like
// GoMLX's MeanPool and Keras); MaxPool2DWith / AvgPool2DWith take an explicit
// Padding, Valid being PyTorch's default floor rule. Max-pool gradients go to
// every element equal to its window's maximum (GoMLX's ReduceMax rule), where
// PyTorch picks one; ties only occur among equal values, e.g. zeros after a
// ReLU, whose own gradient is zero there.
//
// # GoMLX pitfalls for callers
//
// On a backend that prefers constants (the Go backend), GoMLX compiles the
// variables of a graph not marked as training into it as constants: a
// training step must call scope.SetTraining(g, true) before binding any
// variable (SGDMomentum refuses a step graph without it), and an inference
// graph must be rebuilt after the weights change (train.Model does).
//
// With model.Exec on the Go backend, returning a variable's value node
// itself as a graph output while another bound variable is unused in that
// graph failed at execution ("index out of range") in GoMLX v0.28.2; return
// a computed value instead.
package nn
