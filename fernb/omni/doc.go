// Package omni is the selection stage of omni-supervised facial expression
// recognition: it turns a model trained on a small labelled anchor set and a
// large unlabelled face pool into a manifest of pseudo-labelled pool images,
// the virtual auxiliary samples (VAS) that the distillation and training
// stages read.
//
// # The method (paper, Sec. 3.3)
//
// The primitive learner, trained on the anchor set, embeds every labelled
// image; its penultimate-layer features are averaged per class into
// centroids c_k (Eq. 4, Centroids). A pool image with feature f gets the
// cosine similarity s_k = c_k.f / (|c_k| |f|) to every centroid (Eq. 5,
// CentroidSet.Similarities) and is given the label k^ = argmax_k s_k when
// k^ wins by a margin m:
//
//	s_k^ >= s_k + m   for every k != k^
//
// The paper writes this rule (Eq. 6) as d_k^ <= d_k - m with a "distance"
// d. Read literally with d = s it would keep images that are *less*
// similar to their own class; it only makes sense for a distance such as
// the cosine distance d = 1 - s, for which d_k^ <= d_k - m is exactly the
// inequality above. omni implements it on similarities, so Decision.Margin
// is s_best - s_second and an image is kept when Margin >= m (compared in
// float32, the precision the similarities are stored in).
//
// Why a margin on centroid similarity rather than the classifier's softmax
// confidence: the softmax of a network trained on a small set is
// over-confident on faces unlike its training data, while the margin asks
// that a pool face sit clearly nearer one class's region of feature space
// than any other's. The softmax rule (label = argmax p, kept when p >=
// threshold) is implemented too (Rule{Kind: Softmax}), so that both can be
// compared on the same scores (Quality, QualityFigure).
//
// Kept images are ranked by confidence: their margin, then their similarity
// to their own centroid (RankByConfidence; the softmax rule ranks by
// probability, then margin). Selection can cap the images kept per class
// (the most confident) and balance the classes (each keeps as many as the
// smallest), and keep at most Total images over all classes: a threshold
// sets the count only indirectly, so comparing the softmax rule with the
// cosine margin at the same number of kept images takes the softmax rule
// at threshold 0 with Total set to the cosine VAS's size.
//
// # Scoring a pool at scale
//
// ScorePool streams a Pool through an Embedder in batches, with a loader
// goroutine decoding the next batch while the current one is embedded, so
// memory is a few batches whatever the pool's size (BenchmarkScorePoolMemory
// compares 10k and 100k images). Every image's similarities (and softmax
// probabilities) go to an append-only scores file (JSON lines); every
// CheckpointEvery batches that file is synced and a small state file is
// replaced atomically with the committed length and the last pool index
// done. A run stopped by cancellation checkpoints its finished batches; a
// killed run loses at most CheckpointEvery batches. Running again resumes:
// rows past the committed length are truncated and the pool is reopened
// after the last index done, so no image is skipped or written twice and
// the result is byte-identical to an uninterrupted run.
//
// Shard{I, N} scores the pool images whose stable index satisfies
// index % N == I-1; shards can run in separate processes or machines and
// Merge joins their manifests (checking that they come from one run and
// that none is missing) into the manifest an unsharded run would write. The
// scores are rule-independent: a new margin, cap or rule re-selects from
// the scores file (SelectScores) without re-embedding the pool.
//
// Byte-identity across resumes, and between merged shards and an unsharded
// run, assumes that an image's features do not depend on the other images
// in its batch, which holds for a model in inference mode in exact
// arithmetic; a backend whose float rounding changes with the batch shape
// can move the last bits of a similarity where batches differ (shards, the
// final short batch). ModelEmbedder therefore pads every call to its batch
// size, so one compiled shape embeds every image; runs with different batch
// sizes (or devices) can still differ in the last bits. Resumed runs always
// restart on the same batch boundaries as the uninterrupted run.
//
// On a cluster, each task of a Slurm job array or pod of a Kubernetes
// Indexed Job scores one shard: ShardFromEnv reads which from the
// scheduler's variables (`fernb select --shard auto`; job files in
// docker/), and ShareCentroids makes the shards, which start together, use
// the centroids the first of them computed.
//
// # Files
//
// A manifest (ManifestFormat) and a scores file (ScoresFormat) are JSON
// lines: a Header (model checkpoint, anchor set, pool, rule and limits,
// class columns, centroid fingerprint, counts) and then one row per image
// in pool order, naming it by its stable reference (path inside the pool or
// archive, "file.rec#key" for RecordIO) with its similarity to every
// centroid, its margin and (for manifests) its label. Manifests are written
// to a temporary file and renamed into place, so a failed run never leaves
// a partial manifest. ReadManifest / OpenManifest read them back for the
// distillation and training stages. For a manifest vas.jsonl, the scores
// are in vas.scores.jsonl and the progress in vas.scores.jsonl.state; shard
// i of n writes vas.shard-i-of-n.jsonl.
//
// # Quality
//
// When pool images carry a label the rules never see (a labelled set used
// as a pool; SMILEsmileD's smile / non-smile folders via PathTruth), Quality
// sweeps the margin and the softmax threshold and reports, per class, how
// many pseudo-labels each keeps and how many are right; with
// ReportConfig.Positive ("happy") it also scores agreement with a binary
// truth. QualityFigure, ScatterFigure (anchor features, centroids and
// selected pool samples under one PCA), MarginHistogramFigure and
// SelectedGrid (the paper's Fig. 3) draw it with fernb/plot.
//
// # Connecting models and data
//
// The core works on feature vectors and on two small interfaces, Embedder
// and Pool, so it can be tested with generated features and used with any
// model. ModelEmbedder wraps a train.Model checkpoint, DatasetPool a
// dataset.Pool (folder, archive, RecordIO, synthetic), ArrayPool in-memory
// images; AnchorCentroids embeds a labelled data set. The CLI (`fernb
// select`) and notebooks call Run, Merge and Quality.
package omni
