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
//     (BindVariables) so that they are trained by an optimizer and saved in a
//     checkpoint, and
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
// graph.ConvGeneral is a scalar loop (5-20x slower than a matrix product), and
// neither ConvGeneral, MaxPool nor MeanPool can be differentiated twice (the
// VJP of ConvGeneral's VJP builds an invalid convolution; SelectAndScatterMax,
// Pad and Reverse have no VJP). This package therefore writes
//
//   - convolution as im2col: the k×k patches of the input are collected by one
//     Gather with precomputed indices (out-of-image taps point at an extra
//     zero row, which is how padding is done without Pad) and multiplied by the
//     reshaped kernel with a single DotGeneral, which runs on the Go backend's
//     SIMD matrix-multiply path; 1×1 stride-1 convolutions are a plain Dot;
//   - pooling with window == stride (dividing the image) as Reshape followed by
//     ReduceMax/ReduceMean, and any other window/stride as the same Gather of
//     patches followed by a reduction;
//   - batch and group normalisation from plain arithmetic, so that the gradient
//     flows through the batch statistics (GoMLX's norm.BatchNorm stops it on
//     this backend).
//
// All of Gather (VJP: ScatterSum, whose VJP is Gather again), Concatenate,
// Reshape, DotGeneral and the reductions have VJPs that are themselves
// differentiable, so the whole layer set differentiates twice.
//
// On other backends (XLA) the native ops are faster (cuDNN, XLA's fused
// convolutions), so Conv2D and the pools use graph.Convolve / MaxPool /
// MeanPool there — but those are only once-differentiable in GoMLX. A graph
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
// Padding, Valid being PyTorch's default floor rule.
package nn
