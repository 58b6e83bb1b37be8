// Package distill compresses a labelled set — in the omni-supervised
// pipeline the VAS, the pool images the selection stage pseudo-labelled —
// into a handful of synthetic images per class (the DAS), and helps train
// with either set as auxiliary samples.
//
// # DD and DM
//
// Dataset Distillation (DD; Wang, Zhu, Torralba, Efros 2018, Eq. 8) learns
// the images x̃ and one learning rate η_t per inner step so that a network
// trained on x̃ for T unrolled SGD steps from an initialisation θ0,
//
//	θ_{t+1} = θ_t − η_t ∇θ ℓ(x̃, ỹ; θ_t),   t = 0..T−1,
//
// has a low loss ℓ(x, y; θ_T) on a batch of real images. The outer gradient
// with respect to x̃ and η passes through every inner gradient, so it is a
// second-order computation over T copies of the network: costly, but it
// optimises exactly "what a network learns from these images". θ0 is drawn
// afresh every outer iteration by default (Config.FixedInit keeps one), so
// the images must teach any initialisation, not one. Learning rates are
// learned as log η (positive, scale-free steps for Adam).
//
// Distribution Matching (DM; Zhao & Bilen 2023) instead draws a fresh
// random network every outer iteration and moves x̃ so that, per class, the
// mean embedding (the network's Features) of the synthetic images matches
// the mean embedding of a real batch: loss = Σ_c ‖mean φ(x_c) − mean φ(x̃_c)‖².
// Only first-order gradients of one forward pass are needed, so an outer
// iteration costs about as much as an inference pass over the real batch,
// and it scales to larger networks and images. It does not learn learning
// rates; a DM DAS is used like any small labelled set.
//
// Both methods take the same inputs (a labelled dataset.Tensors: a VAS
// loaded with omni.LoadVAS, or any labelled set) and write the same outputs (a
// DAS directory), through Run.
//
// # Choices
//
//   - One set of images for all inner steps. Wang et al. learn a separate
//     batch for every distill step (steps x classes x ipc images); here
//     every step trains on the same IPC images per class, which is what
//     "one image per class" (the paper's DAS) means. T = Steps x Epochs
//     learning rates are still learned, one per inner step.
//   - Batch norm in DD's unrolled network runs in training mode: every inner
//     step normalises with the statistics of the synthetic batch, and the
//     final real-data loss with those of the real batch, as Wang et al.'s
//     code does; running statistics are never used, and the gradient flows
//     through the batch statistics (nn.BatchNorm is written for that).
//     EvaluateUnrolled scores held-out data the same way.
//   - DM's networks use batch norm in inference mode with the fresh
//     network's running statistics (mean 0, variance 1), which makes it the
//     identity: an image's embedding does not depend on the rest of its
//     batch. DM's own BN variant (Config.DMBatchStats) normalises the real
//     and the synthetic batch with their own statistics; with K synthetic
//     images against K x RealPerClass real ones those statistics differ in
//     a way the images cannot undo, so the matching loss under unseen
//     networks falls far less that way than with running statistics.
//   - DM's differentiable Siamese augmentation (DSA; Config.DSA, CLI
//     --dsa) is implemented as DSA's "S" mode: every class draws one family
//     (colour, crop, cut-out, flip, scale, rotate) per iteration, every real
//     image its own parameters, and synthetic image j shares real image j's
//     (augment.go). Geometry is a nearest-neighbour index map applied with
//     Gather, so the matching gradient reaches the synthetic pixels. A DAS
//     distilled with DSA records it (DAS.DSA), and training with it (Aux,
//     `fernb train --aux das:DIR`) applies the same transformations to the
//     distilled images in every batch (DSA's evaluation protocol;
//     AuxOptions.NoAugment turns that off). Both halves are on by default
//     because on the synthetic default only the two together helped
//     (notebooks/RESULTS.md gives the numbers). DSA is DM only: DD's
//     unrolled graph would need the augmentation inside every inner step.
//   - Adam normalises every pixel's step, so a large step size (DM's
//     0.05) quickly adds high-frequency texture to the images: it lowers
//     the matching loss further but leaves images that no longer look like
//     faces and teach less (notebooks/RESULTS.md compares the two). DM's
//     default ImageLR is therefore 0.01; a lower matching loss is not the
//     goal, images that teach are.
//   - Graphs are pure functions: θ0 is drawn by a small init graph
//     (nn.InitParams) and passed in as tensors, so resampled and fixed
//     initialisations share one compiled step, and Adam runs on the host
//     (the parameters are a few images and T scalars), where its moments
//     are checkpointed next to the images. DD's graphs ask for
//     nn.Differentiable layers, so they differentiate twice on XLA too.
//   - Everything random derives from Config.Seed and the iteration number
//     (real batches, θ0), so a run resumed from its checkpoint (OutDir)
//     continues exactly as an uninterrupted one would.
//   - Outer iterations whose loss or gradients are not finite (an inner
//     learning rate that diverged) are skipped and marked Skipped in the
//     history.
//
// # On disk
//
// A DAS directory holds das.json (DAS: classes, labels, shape, learned
// learning rates, value range, configuration), images.f32 (N·H·W·C
// little-endian float32 values, NHWC; numpy:
// np.fromfile(p, "<f4").reshape(N, H, W, C)), png/NNN_class.png, grid.png
// (one column per class: the paper's Fig. 4), history.json and loss.png
// (the loss per outer iteration), snapshots/iter_NNNNNN/ (das.json,
// images.f32, grid.png every Config.SnapshotEvery iterations) and
// checkpoint/ (resume state). PNGs are drawn in the real data's value
// range; images.f32 keeps the values unclipped.
//
// # Training with auxiliary samples
//
// Aux turns "vas:MANIFEST" or "das:DIR" into train.Fit's hook. A VAS is
// large, so a fixed fraction (AuxOptions.Ratio) of every batch is drawn
// from it (train.AuxMix). A DAS is tiny: added to the training set as extra
// samples, its 7 images would be 7 of thousands seen once per epoch and
// could not matter, so by default the whole DAS is appended to every batch
// (train.AuxAppend): every step sees every class's distilled image, at
// the cost of K extra images per step (experiment.Compare measures it,
// with experiment.CostBars drawing Fig. 5); AuxOptions.DASExtra adds them
// as extra samples instead. SnapshotCheck is the paper's Fig. 7: a
// small CNN trained on the run's snapshots, split 5:1, and its test
// accuracy per epoch (CheckPlot).
//
// # Backends
//
// Both methods run on the pure-Go backend (im2col convolutions, which
// differentiate twice) and on XLA. The DD step graph is large (T unrolled
// forward and backward passes and their derivatives); if it ever stalls
// on the parallel executor of the Go backend, GOMLX_BACKEND=go:ops_sequential
// runs it one op at a time. It has not been needed in the tests here.
package distill
