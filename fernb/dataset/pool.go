package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset/synth"
	"github.com/fernb/fernb/fernb/face"
)

// Pool streams an unlabelled (or any) data set batch by batch with memory
// that does not grow with its size: the selection stage scores millions of
// pool faces (MS-Celeb-1M has 5.8M) and must neither hold them nor list
// them twice. Items come in a stable order (directory: lexical walk;
// archive: member order; RecordIO: record order; synthetic: index), each
// with its ordinal and a stable Ref, so that shards, resumed runs and
// manifests name the same image the same way.
type Pool struct {
	Format string
	Path   string
	Report *Report

	ds   *Dataset    // listed formats (folder trees, archives, labelled sets)
	rec  *recordFile // recordio: streamed, never listed
	gen  *synth.Generator
	spec SynthSpec
}

// OpenPool opens path for streaming. Format is "pool" (recursive images in
// a directory or archive; a directory holding a .rec is read as RecordIO),
// "recordio", "synthetic" (spec as for Open; pool domain by default) or any
// labelled format Open reads (labels are passed through, e.g. to measure
// pseudo-label precision).
func OpenPool(format, path string, opt Options) (*Pool, error) {
	p := &Pool{Format: format, Path: path}
	switch format {
	case "recordio":
		rf, err := openRecordFile(path)
		if err != nil {
			return nil, err
		}
		p.rec = rf
		p.Report = &Report{}
		return p, nil
	case "synthetic":
		spec, err := ParseSynthSpec("domain=pool," + path)
		if err != nil {
			return nil, err
		}
		p.spec = spec
		p.Report = &Report{}
		return p, nil
	}
	ds, err := Open(format, path, opt)
	if err != nil && format == "pool" {
		if rf, rerr := openRecordFile(path); rerr == nil {
			p.Format, p.rec, p.Report = "recordio", rf, &Report{}
			return p, nil
		}
	}
	if err != nil {
		return nil, err
	}
	p.ds, p.Report = ds, ds.Report
	return p, nil
}

// Close releases the pool's files.
func (p *Pool) Close() error {
	switch {
	case p.ds != nil:
		return p.ds.Close()
	case p.rec != nil:
		return p.rec.close()
	}
	return nil
}

// Len returns the number of items, or -1 when it is only known after a
// full pass (RecordIO without .idx).
func (p *Pool) Len() int {
	switch {
	case p.ds != nil:
		return len(p.ds.Items)
	case p.rec != nil && p.rec.index != nil:
		return len(p.rec.index)
	case p.rec != nil:
		return -1
	}
	return p.spec.Config.N
}

// StreamOptions selects what Stream visits.
type StreamOptions struct {
	// Shard and NumShards select the items whose ordinal o has
	// o % NumShards == Shard (NumShards <= 1: all), so n processes can
	// split a pool without coordinating.
	Shard, NumShards int
	// Start skips items with ordinal < Start (resume after a checkpoint).
	Start int
	// Batch is the number of images per callback (default 256).
	Batch int
}

// Batch is one decoded batch: the Tensors and each image's ordinal in the
// pool's stable order. Images that failed to decode are absent (and in the
// pool's Report).
type Batch struct {
	*Tensors
	Ordinals []int
	// Next is the ordinal to resume from after this batch.
	Next int
}

// encoded is one item read but not yet decoded.
type encoded struct {
	ord  int
	item Item
	data []byte
	err  error
	synt int // synthetic index, -1 otherwise
}

// Stream decodes the selected items in batches and calls fn for each, in
// order. At most two batches of encoded images and one of decoded images
// are held at a time. Returning an error from fn stops the stream.
func (p *Pool) Stream(ctx context.Context, pre Preprocess, so StreamOptions, fn func(Batch) error) error {
	if err := pre.validate(); err != nil {
		return err
	}
	if so.NumShards <= 1 {
		so.Shard, so.NumShards = 0, 1
	}
	if so.Shard < 0 || so.Shard >= so.NumShards {
		return fmt.Errorf("dataset: shard %d of %d out of range", so.Shard, so.NumShards)
	}
	if so.Batch <= 0 {
		so.Batch = 256
	}
	if p.spec.Config.N > 0 && p.gen == nil {
		cfg := p.spec.Config
		if cfg.Size == 0 {
			cfg.Size = max(pre.Height, pre.Width, 16)
		}
		cfg.Channels = pre.Channels
		g, err := synth.New(cfg)
		if err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		p.gen = g
	}
	want := func(ord int) bool { return ord >= so.Start && ord%so.NumShards == so.Shard }

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []encoded, 1)
	var prodErr error
	go func() {
		defer close(batches)
		var cur []encoded
		emit := func(e encoded) error {
			cur = append(cur, e)
			if len(cur) == so.Batch {
				select {
				case batches <- cur:
				case <-ctx.Done():
					return ctx.Err()
				}
				cur = nil
			}
			return nil
		}
		prodErr = p.produce(ctx, pre, want, emit)
		if prodErr == nil && len(cur) > 0 {
			select {
			case batches <- cur:
			case <-ctx.Done():
			}
		}
	}()
	for b := range batches {
		out := p.decodeBatch(pre, b)
		if err := fn(out); err != nil {
			cancel()
			for range batches {
			}
			return err
		}
	}
	if prodErr != nil {
		return prodErr
	}
	return ctx.Err()
}

// produce reads the selected items in stable order.
func (p *Pool) produce(ctx context.Context, pre Preprocess, want func(int) bool, emit func(encoded) error) error {
	limit := pre.maxImageBytes()
	switch {
	case p.gen != nil:
		for i := 0; i < p.spec.Config.N; i++ {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if want(i) {
				it := Item{Ref: p.gen.Ref(i), Label: fernb.Unlabelled, recOff: -1}
				if err := emit(encoded{ord: i, item: it, synt: i}); err != nil {
					return err
				}
			}
		}
		return nil
	case p.rec != nil:
		return p.produceRecords(ctx, limit, want, emit)
	}
	d := p.ds
	if d.src != nil && d.src.Sequential() {
		pos := map[string]int{}
		for i, it := range d.Items {
			if want(i) {
				pos[it.Ref] = i
			}
		}
		return d.src.Walk(limit, func(f File, r io.Reader, err error) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			i, ok := pos[f.Name]
			if !ok {
				return nil
			}
			var data []byte
			if err == nil {
				data, err = io.ReadAll(r)
			}
			return emit(encoded{ord: i, item: d.Items[i], data: data, err: err, synt: -1})
		})
	}
	for i, it := range d.Items {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !want(i) {
			continue
		}
		var data []byte
		var err error
		if it.pixels == nil {
			data, err = d.ReadEncoded(it, limit)
		}
		if err := emit(encoded{ord: i, item: it, data: data, err: err, synt: -1}); err != nil {
			return err
		}
	}
	return nil
}

// produceRecords streams a .rec: by offset from the .idx when sharding
// lets it skip records, else sequentially.
func (p *Pool) produceRecords(ctx context.Context, limit int64, want func(int) bool, emit func(encoded) error) error {
	rf := p.rec
	if rf.index != nil {
		for ord, e := range rf.index {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !want(ord) {
				continue
			}
			ref := recordRef(rf.name, e.Key)
			rec, err := readRecordAt(rf.ra, e.Offset, limit)
			if err == nil && rec.isMeta() {
				continue
			}
			it := Item{Ref: ref, Label: fernb.Unlabelled, recOff: e.Offset}
			var data []byte
			if err == nil {
				it.Subject, data = rec.subject(), rec.Image
			}
			if err := emit(encoded{ord: ord, item: it, data: data, err: err, synt: -1}); err != nil {
				return err
			}
		}
		return nil
	}
	rr := NewRecordReader(io.NewSectionReader(rf.ra, 0, rf.size), 0, limit)
	for ord := 0; ; ord++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		off := rr.Offset()
		rec, err := rr.Next()
		if err == io.EOF {
			return nil
		}
		ref := recordRef(rf.name, ord)
		if err != nil && !errors.Is(err, ErrTooLarge) {
			return fmt.Errorf("dataset: %s: %w", rf.name, err) // the stream cannot resync
		}
		if !want(ord) || (err == nil && rec.isMeta()) {
			continue
		}
		it := Item{Ref: ref, Label: fernb.Unlabelled, recOff: off}
		var data []byte
		if err == nil {
			it.Subject, data = rec.subject(), rec.Image
		}
		if err := emit(encoded{ord: ord, item: it, data: data, err: err, synt: -1}); err != nil {
			return err
		}
	}
}

// decodeBatch decodes one batch in parallel, dropping (and reporting)
// images that fail.
func (p *Pool) decodeBatch(pre Preprocess, b []encoded) Batch {
	t := NewTensors(len(b), pre.Height, pre.Width, pre.Channels)
	ok := make([]bool, len(b))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(pre.workers(), len(b)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sbuf []float32
			for i := range next {
				e := b[i]
				err := e.err
				if err == nil {
					switch {
					case e.synt >= 0:
						size := p.gen.Config().Size
						if sbuf == nil {
							sbuf = make([]float32, size*size*pre.Channels)
						}
						var f synth.Face
						if f, err = p.gen.Float32(e.synt, sbuf); err == nil {
							for j := range sbuf {
								sbuf[j] *= 255
							}
							err = pre.finish(sbuf, size, size, t.Image(i), e.item.Ref, p.Report)
							t.Subjects[i] = f.Subject()
						}
					case e.item.pixels != nil:
						side := isqrt(len(e.item.pixels))
						err = pre.finish(grayFloat(e.item.pixels, pre.Channels), side, side, t.Image(i), e.item.Ref, p.Report)
					default:
						err = pre.decodeItem(e.data, t.Image(i), e.item.Ref, p.Report)
					}
				}
				switch {
				case err == nil:
					ok[i] = true
				case errors.Is(err, face.ErrNoFace): // listed by finish
				case errors.Is(err, fs.ErrNotExist):
					p.Report.addMissing(e.item.Ref)
				case errors.Is(err, ErrTooLarge), errors.Is(err, ErrImageTooLarge):
					p.Report.addTooLarge(e.item.Ref, err)
				default:
					p.Report.addCorrupt(e.item.Ref, err)
				}
			}
		}()
	}
	for i := range b {
		next <- i
	}
	close(next)
	wg.Wait()
	ords := make([]int, len(b))
	for i, e := range b {
		t.Labels[i], t.Refs[i] = e.item.Label, e.item.Ref
		if e.synt < 0 {
			t.Subjects[i] = e.item.Subject
		}
		ords[i] = e.ord
	}
	nextOrd := 0
	if len(b) > 0 {
		nextOrd = b[len(b)-1].ord + 1
	}
	kept := ords[:0]
	for i, o := range ords {
		if ok[i] {
			kept = append(kept, o)
		}
	}
	return Batch{Tensors: compact(t, ok), Ordinals: kept, Next: nextOrd}
}

func isqrt(n int) int {
	s := 0
	for (s+1)*(s+1) <= n {
		s++
	}
	return s
}
