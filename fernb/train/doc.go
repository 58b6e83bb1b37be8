// Package train fits a fernb model (package models) to a labelled
// dataset.Tensors, and runs trained models: Predict, Features, Evaluate.
//
// The loop is the paper's recipe by default (SGD with momentum 0.9, learning
// rate 0.001 multiplied by 0.1 every 10 epochs, 25 epochs, random horizontal
// flips), written directly over a model.Exec rather than GoMLX's train.Loop
// because later stages need things that loop does not give: exact resumption
// mid-epoch, auxiliary samples mixed into or appended to each batch (the
// +VAS / +DAS experiments), and a wall time per epoch.
//
// # The FER recipe
//
// Config's Crop, Rotate, Scale, Erase, LabelSmoothing, Schedule ("cosine",
// with WarmupEpochs and MinLR) and Balance add what FER training usually
// runs with beyond the paper's flips; EvalOptions.TenCrop is the matching
// test-time augmentation. All are off at their zero values, so a Config
// written before them trains the same batches to the same weights. The
// augmentation runs on the host, one affine resampling per image written
// straight into the batch buffer (augment.go gives the reasons), and Fit
// assembles the next batch in a goroutine while the current step runs, so
// that host work overlaps the step; nothing is allocated per image.
// The cosine schedule is GoMLX's (package cosineschedule), computed inside
// the step graph.
//
// # Determinism and resumption
//
// Everything random is derived from Config.Seed: the initial weights, the
// shuffling of epoch e (a permutation, or class-first draws, seeded by
// (Seed, e)) and the flips, augmentation and auxiliary draws of step s
// (seeded by (Seed, e, s)); the cosine schedule's counter is set from
// (e, s) when a run starts. Nothing random lives
// in the process, so a run killed after step s of epoch e and restarted from
// its checkpoint sees exactly the batches the uninterrupted run would have.
//
// Fit saves a GoMLX checkpoint at the end of every epoch, inside an epoch
// once Config.CheckpointEvery has passed since the last one (so a killed
// run loses minutes, not an epoch), and when its context is cancelled. The
// resume state (epoch, step, the running sums of the unfinished epoch and
// the history) is stored in the checkpoint's own parameters, so it can
// never disagree with the weights it was saved with, and a run resumed from
// any of them ends with the same bytes as one never interrupted.
//
// GoMLX writes checkpoint files in place, so a kill during a save can leave
// the latest one cut short. Fit syncs each checkpoint it saves, and on
// resuming reads the latest one through (gzip's CRC and length); a damaged
// one is renamed aside with the suffix .damaged and the previous one, kept
// for this (Config.Keep), is used instead, with a message.
//
// Between epochs a run may continue with another batch composition (an
// auxiliary mix added or dropped, hence another number of steps per epoch):
// nothing of an unfinished epoch is kept then, and the weights, optimizer
// state and history carry over, so a variant can continue a baseline's
// checkpoint for the same remaining epochs. Inside an epoch, and for another
// seed, batch size or training set, resuming is refused.
//
// # Self-describing checkpoints
//
// Next to GoMLX's checkpoint files Fit writes fernb-model.json (Meta): the
// model configuration, input size and channels, the normalisation the
// pixels went through, and the label order of the logits. LoadModel needs
// nothing else, which is what lets `fernb eval` and the selection stage take
// a checkpoint directory as their only description of a model.
//
// # Branching off a primitive learner
//
// Config.Init (`fernb train --init DIR`) starts a run from the weights of
// another checkpoint instead of random ones, with a fresh optimizer and epoch
// count. It is how the real-data comparison branches its variants: baseline,
// +VAS and +DAS all continue one primitive learner (the model that selected
// the VAS) for the same epochs with the same recipe, so that they differ
// only in their training data. An anchor-only branch is the control.
//
// Every compiled graph has one shape: training drops the remainder of each
// shuffled epoch (a different remainder every epoch), and inference pads the
// last batch and discards the padding.
package train
