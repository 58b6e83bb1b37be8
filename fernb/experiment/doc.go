// Package experiment runs the paper's experiments end to end and records
// what they measured: the protocol runners (inner-dataset, cross-dataset over
// the shared classes, CK+ 10-fold subject-independent, JAFFE leave-one-subject-
// out), the three variants (baseline, +VAS, +DAS) over several seeds, and the
// whole omni-supervised pipeline behind `fernb reproduce` (primitive learner,
// selection, distillation, training with auxiliary samples, evaluation).
//
// It is the top of the stack: every other package provides one stage, this
// one wires them in the order of the paper and keeps the bookkeeping a
// results table needs (configuration, data, model, epochs, backend, machine,
// wall time, accuracy per fold and seed, mean ± std, confusion matrices).
// Results are written as JSON and as a Markdown table. Each variant is
// compared with the baseline of the same seed and fold (Paired): seeds move
// one model's accuracy by more than the gains the paper reports, and pairing
// removes the spread a variant and its baseline share. The paper's own
// numbers, every row of its Tables 1-7 and its setting (PaperTables, Paper),
// stand beside fernb's with what differs between the two (ComparisonRows),
// always labelled as the paper's, never mixed up with the numbers computed
// here.
//
// # Caching and resumption
//
// Every expensive artefact lives in the output directory under a name that
// includes a hash of everything that determines it (data, model, recipe,
// seed): checkpoints (train.Fit resumes them), the pool scores and VAS
// manifest (omni resumes them), the distilled set (distill resumes it).
// Re-running with the same settings reuses them; changing a setting gives new
// names instead of silently reusing stale artefacts. The notebooks share one
// cache directory in quick mode, so a later notebook picks up what an earlier
// one trained.
//
// # The synthetic default
//
// With no data set downloaded, the pipeline runs on the procedurally drawn
// faces of package dataset/synth: labelled "lab" faces as the anchor set,
// held-out lab faces for the inner test, "wild" faces for the cross test and
// an unlabelled "pool". Its numbers show that the code works; they are not
// results about human facial expressions and are never the paper's. Every
// report made from them says so.
package experiment
