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
// GoMLX v0.28.2 on the pure-Go backend has two problems with its native ops:
// graph.ConvGeneral is a scalar loop (an order of magnitude slower than a
// matrix product), and neither ConvGeneral, MaxPool nor MeanPool can be
// differentiated twice (the VJP of ConvGeneral's VJP builds an invalid
// convolution; SelectAndScatterMax, Pad and Reverse have no VJP). Its
// ConvGeneral input gradient is also wrong for even kernel sizes, and its
// MeanPool gradient with padding crashes the Go backend (both found by this
// package's tests). This package therefore writes
//
//   - convolution as im2col: the k×k patches of the (zero-concatenated) input
//     are cut out with strided Slices and concatenated into a matrix
//     [N*outH*outW, k*k*Cin] that multiplies the reshaped kernel in one
//     DotGeneral on the Go backend's SIMD matmul path;
//   - its gradient by hand (see withVJP): dpatches = dy·Kᵀ folded back onto the
//     image by shift-and-add (stride 1) or one ScatterSum (strided), and
//     dK = (dyᵀ·patches)ᵀ. GoMLX's own derivation would add an identity
//     Transpose of the whole patch matrix, which the Go backend executes as an
//     element-wise copy, and a transpose of the patch matrix inside the matmul;
//   - pooling with window == stride (dividing the image) as Reshape followed by
//     ReduceMax/ReduceMean, and any other window/stride as Max/Add over the
//     strided Slices of the window taps (the border filled by concatenation,
//     not Pad), with a hand-written gradient folded back like the conv's;
//   - batch normalisation with the textbook gradient (through the batch
//     statistics, which GoMLX's norm.BatchNorm stops on this backend) and
//     group normalisation from plain arithmetic.
//
// Every op in a forward pass and in its hand-written gradient has a VJP that
// is itself differentiable (Slice's VJP is Pad, which has none, but Slice only
// appears in first-order gradients, and Pad is then only needed at third
// order), so the layers differentiate twice; the package tests check the
// gradient of a loss after 1 and 3 unrolled SGD steps with respect to the
// input images and the learning rate against finite differences.
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
// # GoMLX pitfall for callers
//
// With GoMLX v0.28.2's model.Exec on the Go backend, returning a variable's
// value node itself as a graph output while another bound variable is unused
// in that graph fails at execution ("index out of range"); return a computed
// value instead.
package nn
