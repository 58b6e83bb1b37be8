// Package models is fernb's registry of networks: the CPU-sized FER CNN that
// is the default primitive learner, a deeper variant of it (fer-cnn-deep,
// two convolutions per resolution) for trading depth against images/s, and
// the VGG-Face (VGG-16) and ResNet-18/34 topologies the paper's larger runs
// use.
//
// A model is chosen by name (New(Config{Name: "fer-cnn"})) so that the CLI,
// the notebooks and the benchmark build exactly the same network. Every model
// is functional: New returns the parameter specifications (nn.ParamSpec) and
// an Apply function that takes the parameters as graph nodes. That is what
// lets the same network be trained normally (parameters bound to checkpointed
// model.Scope variables) and unrolled inside one graph for dataset
// distillation (parameters as plain nodes, differentiated twice).
//
// Every model returns both the logits and the penultimate feature vector,
// because the omni-supervised selection stage embeds pool images with it and
// compares them with per-class centroids.
//
// Layers are recorded while a model is built, so the forward FLOPs per image
// (multiply-adds of convolutions and dense layers, times two) are computed
// from the actual layer shapes rather than quoted; the benchmark divides
// measured throughput by them to report a fraction of the machine's peak.
package models
