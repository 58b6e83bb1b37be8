package omni

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/fernb/fernb/fernb/train"
)

// ScoreConfig configures ScorePool.
type ScoreConfig struct {
	// Centroids are the class centroids of the labelled anchor set.
	Centroids *CentroidSet
	// Model and Anchor describe the checkpoint and the labelled set, for the
	// headers.
	Model, Anchor string
	// Shard is the part of the pool this process scores (zero: all of it).
	Shard Shard
	// BatchSize is the number of images per Embed call (default
	// train.DefaultInferBatch).
	BatchSize int
	// CheckpointEvery is the number of batches between checkpoints
	// (default 16): a killed run redoes at most that many batches.
	CheckpointEvery int
	// Progress, when set, is called after every batch.
	Progress func(ScoreProgress)
}

// ScoreProgress reports how far a pool scoring run is.
type ScoreProgress struct {
	Shard Shard
	// Consumed counts the shard's pool images handled so far (scored or
	// corrupt), including those an earlier, interrupted run handled.
	Consumed int64
	Scored   int64
	Corrupt  int64
	// Resumed counts the images this run skipped because an earlier run had
	// already scored them.
	Resumed int64
	Done    bool
}

// scoreState is the small file, rewritten atomically at every checkpoint,
// that says how much of the scores file is committed. Rows past Offset were
// written after the last checkpoint; a resumed run truncates them and scores
// those images again, so no image is ever lost or written twice.
type scoreState struct {
	Format      string   `json:"format"`
	Key         runKey   `json:"key"`
	Offset      int64    `json:"offset"`
	Consumed    int64    `json:"consumed"`
	LastIndex   int64    `json:"last_index"`
	Scored      int64    `json:"scored"`
	Corrupt     int64    `json:"corrupt"`
	CorruptRefs []string `json:"corrupt_refs,omitempty"`
	Done        bool     `json:"done"`
}

// runKey identifies a scoring run; a resume with a different key is
// refused, so scores against another model, pool, shard or batch layout
// never end up in one file.
type runKey struct {
	Model     string `json:"model"`
	Pool      string `json:"pool"`
	Shard     string `json:"shard"`
	Centroids string `json:"centroids"`
	Shape     string `json:"shape"`
	BatchSize int    `json:"batch_size"`
}

const stateFormat = "fernb-score-state/1"

// maxCorruptRefs bounds how many corrupt images are named in the state (all
// are counted).
const maxCorruptRefs = 100

// ShardPath is the manifest path of shard s of a run whose merged manifest
// is out: "vas.jsonl" -> "vas.shard-2-of-4.jsonl" (out itself for the whole
// pool).
func ShardPath(out string, s Shard) string {
	if s.Whole() {
		return out
	}
	ext := filepath.Ext(out)
	return fmt.Sprintf("%s.shard-%d-of-%d%s", strings.TrimSuffix(out, ext), s.I, s.N, ext)
}

// ScoresPath is the scores file kept next to manifest: "vas.jsonl" ->
// "vas.scores.jsonl". Its state file is ScoresPath + ".state".
func ScoresPath(manifest string) string {
	ext := filepath.Ext(manifest)
	return strings.TrimSuffix(manifest, ext) + ".scores.jsonl"
}

// CentroidsPath is where the CLI keeps the centroids of a run whose merged
// manifest, or one of whose shard manifests, is manifest: "vas.jsonl" and
// "vas.shard-2-of-4.jsonl" -> "vas.centroids.json", shared by all shards.
func CentroidsPath(manifest string) string {
	ext := filepath.Ext(manifest)
	base := strings.TrimSuffix(manifest, ext)
	if i := strings.LastIndex(base, ".shard-"); i >= 0 {
		var a, b int
		if _, err := fmt.Sscanf(base[i:], ".shard-%d-of-%d", &a, &b); err == nil && base[i:] == fmt.Sprintf(".shard-%d-of-%d", a, b) {
			base = base[:i]
		}
	}
	return base + ".centroids.json"
}

func statePath(scores string) string { return scores + ".state" }

func readState(path string) (*scoreState, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st scoreState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("omni: %s: bad state file: %v (delete it and its scores file to start over)", path, err)
	}
	if st.Format != stateFormat {
		return nil, fmt.Errorf("omni: %s: format %q, want %q", path, st.Format, stateFormat)
	}
	return &st, nil
}

// ScoreStatus reports how far the scoring run writing scoresPath has got,
// from its state file.
func ScoreStatus(scoresPath string) (ScoreProgress, error) {
	st, err := readState(statePath(scoresPath))
	if err != nil {
		return ScoreProgress{}, err
	}
	sh, _ := ParseShard(st.Key.Shard)
	return ScoreProgress{Shard: sh, Consumed: st.Consumed, Scored: st.Scored, Corrupt: st.Corrupt, Done: st.Done}, nil
}

// countingWriter counts the bytes handed to the buffered writer, which is
// the committed file length once the buffer is flushed.
type countingWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// poolBatch is one batch of decoded shard images travelling from the loader
// goroutine to the embedder.
type poolBatch struct {
	x         []float32
	items     []PoolItem
	consumed  int64
	lastIndex int64
	corrupt   []string
	eof       bool
	err       error
}

// ScorePool embeds every image of cfg.Shard of pool with emb, computes its
// cosine similarity to every centroid and appends one Score per image to
// scoresPath, in pool order. Memory is a few batches, whatever the pool's
// size: a loader goroutine decodes the next batch while the current one is
// embedded. Every CheckpointEvery batches the scores file is synced and a
// small state file (scoresPath + ".state") is replaced atomically; when ctx
// is cancelled the run checkpoints its finished batches and returns
// ctx.Err(). Calling ScorePool again with the same arguments resumes where
// the last checkpoint left off, and a finished run returns at once, so the
// scores file is the same bytes as one uninterrupted run would write.
//
// It returns the scores file's header with the Scored and Corrupt totals.
func ScorePool(ctx context.Context, pool Pool, emb Embedder, scoresPath string, cfg ScoreConfig) (*Header, error) {
	c := cfg.Centroids
	if c == nil {
		return nil, errors.New("omni: ScorePool needs centroids")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if emb.FeatureDim() != c.Dim() {
		return nil, fmt.Errorf("omni: the embedder gives %d features, the centroids have %d", emb.FeatureDim(), c.Dim())
	}
	if cfg.Shard == (Shard{}) {
		cfg.Shard = Shard{I: 1, N: 1}
	}
	if err := cfg.Shard.Validate(); err != nil {
		return nil, err
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = train.DefaultInferBatch
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 16
	}
	shape := emb.InputShape()
	if shape.Size() <= 0 {
		return nil, fmt.Errorf("omni: embedder has empty input shape %s", shape)
	}
	h := &Header{
		Format: ScoresFormat, Model: cfg.Model, Anchor: cfg.Anchor, Pool: pool.String(),
		Classes: labelNames(c.Classes), ProbClasses: labelNames(emb.ProbClasses()), AnchorCounts: c.Counts,
		Centroids: c.Fingerprint(), FeatureDim: c.Dim(),
	}
	if !cfg.Shard.Whole() {
		h.Shard = cfg.Shard.String()
	}
	key := runKey{Model: cfg.Model, Pool: pool.String(), Shard: cfg.Shard.String(), Centroids: h.Centroids, Shape: shape.String(), BatchSize: cfg.BatchSize}
	sp := statePath(scoresPath)

	st, err := readState(sp)
	var f *os.File
	switch {
	case err == nil:
		if st.Key != key {
			return nil, fmt.Errorf("omni: %s belongs to another run (%+v, this run is %+v); delete it and %s to start over, or use another output path", sp, st.Key, key, scoresPath)
		}
		if st.Done {
			h.Scored, h.Corrupt = st.Scored, st.Corrupt
			if cfg.Progress != nil {
				cfg.Progress(ScoreProgress{Shard: cfg.Shard, Consumed: st.Consumed, Scored: st.Scored, Corrupt: st.Corrupt, Resumed: st.Consumed, Done: true})
			}
			return h, nil
		}
		f, err = os.OpenFile(scoresPath, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("omni: resume: %w (delete %s to start over)", err, sp)
		}
		fi, err := f.Stat()
		if err == nil && fi.Size() < st.Offset {
			err = fmt.Errorf("omni: %s has %d bytes, its state says %d were committed; delete both to start over", scoresPath, fi.Size(), st.Offset)
		}
		if err == nil {
			err = f.Truncate(st.Offset)
		}
		if err == nil {
			_, err = f.Seek(st.Offset, io.SeekStart)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("omni: resume %s: %w", scoresPath, err)
		}
	case errors.Is(err, os.ErrNotExist):
		// No checkpoint: whatever a scores file holds was never committed.
		f, err = os.Create(scoresPath)
		if err != nil {
			return nil, fmt.Errorf("omni: %w", err)
		}
		b, _ := json.Marshal(h)
		b = append(b, '\n')
		if _, err := f.Write(b); err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("omni: write %s: %w", scoresPath, err)
		}
		st = &scoreState{Format: stateFormat, Key: key, Offset: int64(len(b)), LastIndex: -1}
		if err := writeAtomicJSON(sp, st); err != nil {
			f.Close()
			return nil, err
		}
	default:
		return nil, err
	}
	defer f.Close()

	it, err := pool.Open(ctx, OpenOptions{Shape: shape, Shard: cfg.Shard, Start: st.LastIndex + 1})
	if err != nil {
		return nil, fmt.Errorf("omni: open pool %s: %w", pool, err)
	}
	defer it.Close()
	// Indices up to LastIndex were handled by an earlier run; the pool may
	// list them anyway, and they are passed over without decoding.
	startAfter := st.LastIndex
	last := startAfter
	resumed := st.Consumed

	// The loader decodes the next batch while the current one is embedded.
	lctx, stopLoader := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopLoader(); wg.Wait() }()
	size := shape.Size()
	free := make(chan *poolBatch, 2)
	for range 2 {
		free <- &poolBatch{x: make([]float32, cfg.BatchSize*size), items: make([]PoolItem, 0, cfg.BatchSize)}
	}
	full := make(chan *poolBatch, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(full)
		for {
			var b *poolBatch
			select {
			case b = <-free:
			case <-lctx.Done():
				return
			}
			b.items, b.consumed, b.corrupt, b.eof, b.err = b.items[:0], 0, b.corrupt[:0], false, nil
			for len(b.items) < cfg.BatchSize {
				item, err := it.Next(lctx)
				if err == io.EOF {
					b.eof = true
					break
				}
				if err != nil {
					b.err = fmt.Errorf("omni: list pool %s: %w", pool, err)
					break
				}
				if item.Index <= startAfter {
					continue
				}
				if item.Index <= last {
					b.err = fmt.Errorf("omni: pool %s lists index %d after %d; pools must list in increasing index order", pool, item.Index, last)
					break
				}
				last = item.Index
				if !cfg.Shard.Holds(item.Index) {
					continue
				}
				b.consumed++
				b.lastIndex = item.Index
				if err := it.Load(b.x[len(b.items)*size : (len(b.items)+1)*size]); err != nil {
					b.corrupt = append(b.corrupt, fmt.Sprintf("%s: %v", item.Ref, err))
					continue
				}
				b.items = append(b.items, item)
			}
			select {
			case full <- b:
			case <-lctx.Done():
				return
			}
			if b.eof || b.err != nil {
				return
			}
		}
	}()

	cw := &countingWriter{w: bufio.NewWriterSize(f, 1<<16)}
	checkpoint := func() error {
		if err := cw.w.Flush(); err != nil {
			return fmt.Errorf("omni: write %s: %w", scoresPath, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("omni: sync %s: %w", scoresPath, err)
		}
		st.Offset += cw.n
		cw.n = 0
		return writeAtomicJSON(sp, st)
	}
	report := func() {
		if cfg.Progress != nil {
			cfg.Progress(ScoreProgress{Shard: cfg.Shard, Consumed: st.Consumed, Scored: st.Scored, Corrupt: st.Corrupt, Resumed: resumed, Done: st.Done})
		}
	}
	nprob := len(emb.ProbClasses())
	dim := emb.FeatureDim()
	var sims []float32
	batches := 0
	for b := range full {
		if ctx.Err() != nil {
			break
		}
		if b.err != nil {
			if cerr := checkpoint(); cerr != nil {
				return nil, errors.Join(b.err, cerr)
			}
			return nil, b.err
		}
		if n := len(b.items); n > 0 {
			feats, probs, err := emb.Embed(ctx, b.x[:n*size], n)
			if err == nil {
				err = checkEmbedding(emb, n, feats, probs)
			}
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				cerr := checkpoint()
				return nil, errors.Join(fmt.Errorf("omni: embed pool images %s..%s: %w", b.items[0].Ref, b.items[n-1].Ref, err), cerr)
			}
			for i, item := range b.items {
				sims = c.Similarities(feats[i*dim:(i+1)*dim], sims)
				s := Score{Index: item.Index, Ref: item.Ref, Truth: item.Truth, Sims: sims}
				if nprob > 0 {
					s.Probs = probs[i*nprob : (i+1)*nprob]
				}
				if err := writeLine(cw, &s); err != nil {
					return nil, fmt.Errorf("omni: write %s: %w", scoresPath, err)
				}
			}
		}
		st.Consumed += b.consumed
		st.Scored += int64(len(b.items))
		st.Corrupt += int64(len(b.corrupt))
		for _, r := range b.corrupt {
			if len(st.CorruptRefs) < maxCorruptRefs {
				st.CorruptRefs = append(st.CorruptRefs, r)
			}
		}
		if b.consumed > 0 {
			st.LastIndex = b.lastIndex
		}
		st.Done = b.eof
		batches++
		if st.Done || batches%cfg.CheckpointEvery == 0 {
			if err := checkpoint(); err != nil {
				return nil, err
			}
		}
		report()
		if st.Done {
			h.Scored, h.Corrupt = st.Scored, st.Corrupt
			return h, nil
		}
		free <- b
	}
	// Cancelled (or the loader stopped): keep every finished batch.
	if err := checkpoint(); err != nil {
		return nil, errors.Join(ctx.Err(), err)
	}
	report()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("omni: scoring %s interrupted after %d images (resumable): %w", scoresPath, st.Consumed, err)
	}
	return nil, fmt.Errorf("omni: scoring %s stopped early", scoresPath)
}
