package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/face"
)

// Item is one labelled (or unlabelled) image of a data set, before
// decoding. Ref is stable across runs and machines: the slash path inside
// the data set directory or archive, "fer2013.csv:LINE" for CSV-embedded
// images, or "train.rec#KEY" for RecordIO records.
type Item struct {
	Ref     string
	Label   fernb.Label
	Subject string // subject/identity where the format knows it
	Split   string // "train", "test", ... where the format has splits
	// Soft is the FER+ vote distribution over the fernb labels (length
	// fernb.NumLabels), nil for other formats.
	Soft []float32

	pixels []byte // 48x48 grayscale pixels of CSV formats
	recOff int64  // byte offset of a RecordIO record, -1 otherwise
}

// Options tunes how a data set is read. The zero value is the default.
type Options struct {
	// MaxFileBytes bounds label files and other non-image members read
	// whole (default 2 GiB: fer2013.csv is 287 MB).
	MaxFileBytes int64
	// RAFImages picks RAF-DB's "aligned" (default) or "original" images.
	RAFImages string
	// Synth configures the synthetic format (see SynthSpec).
	Synth SynthSpec
}

func (o Options) maxFileBytes() int64 {
	if o.MaxFileBytes > 0 {
		return o.MaxFileBytes
	}
	return 2 << 30
}

// Dataset is an opened data set: its items (all splits) and the report of
// what was left out while reading its labels. Decode images with Load.
type Dataset struct {
	Format string
	Path   string
	Items  []Item
	Report *Report

	src     Source
	rec     io.ReaderAt // RecordIO data file, for format recordio
	closers []io.Closer
	synth   *synthSource
}

// Formats lists the formats Open understands.
func Formats() []string {
	return []string{"folder", "fer2013csv", "ferplus", "rafdb", "ckplus", "jaffe", "mmi", "pool", "recordio", "synthetic"}
}

// Open reads the labels (not the images) of the data set at path in the
// given format. Path is a directory, a .tar/.tar.gz/.zip archive, or for
// single-file formats the file itself (fer2013.csv, train.rec). For
// "synthetic" the path is a spec such as "lab,n=700,size=48,seed=1".
func Open(format, path string, opt Options) (*Dataset, error) {
	d := &Dataset{Format: format, Path: path, Report: &Report{}}
	if format == "synthetic" {
		if err := d.openSynthetic(path, opt); err != nil {
			return nil, err
		}
		return d, nil
	}
	if format == "recordio" {
		if err := d.openRecordIO(path, opt); err != nil {
			return nil, err
		}
		return d, nil
	}
	src, hint, err := OpenSource(path)
	if err != nil {
		return nil, err
	}
	d.src = src
	d.closers = append(d.closers, src)
	switch format {
	case "folder":
		err = d.readFolder()
	case "pool":
		err = d.readPool()
	case "fer2013csv":
		err = d.readFER2013(hint, opt)
	case "ferplus":
		err = d.readFERPlus(hint, opt)
	case "rafdb":
		err = d.readRAF(opt)
	case "ckplus":
		err = d.readCK(opt)
	case "jaffe":
		err = d.readJAFFE()
	case "mmi":
		err = d.readMMI(hint, opt)
	default:
		err = fmt.Errorf("dataset: unknown format %q (known: %s)", format, strings.Join(Formats(), ", "))
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close releases the files the data set holds open.
func (d *Dataset) Close() error {
	var first error
	for _, c := range d.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	d.closers = nil
	return first
}

// Splits returns the split names present, sorted ("" when the format has
// none).
func (d *Dataset) Splits() []string {
	seen := map[string]bool{}
	for _, it := range d.Items {
		seen[it.Split] = true
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Split returns the items of the named split ("" or "all" = every item).
// Common spellings are accepted: training, publictest (FER-2013's test),
// validation.
func (d *Dataset) Split(name string) ([]Item, error) {
	if name == "" || name == "all" {
		return d.Items, nil
	}
	want := normSplit(name)
	var out []Item
	for _, it := range d.Items {
		if it.Split == want {
			out = append(out, it)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dataset: %s has no split %q (splits: %q)", d.Path, name, d.Splits())
	}
	return out, nil
}

// normSplit maps the split spellings of distributed data sets onto train,
// test, val and privatetest.
func normSplit(s string) string {
	switch strings.ToLower(s) {
	case "train", "training":
		return "train"
	case "test", "testing", "publictest":
		return "test"
	case "val", "valid", "validation":
		return "val"
	case "privatetest":
		return "privatetest"
	}
	return strings.ToLower(s)
}

// ReadEncoded returns the encoded bytes of an item's image (nil for
// formats whose pixels are embedded in a CSV).
func (d *Dataset) ReadEncoded(it Item, limit int64) ([]byte, error) {
	if it.recOff >= 0 && d.rec != nil {
		rec, err := readRecordAt(d.rec, it.recOff, limit)
		if err != nil {
			return nil, err
		}
		return rec.Image, nil
	}
	if d.src == nil {
		return nil, fmt.Errorf("dataset: %s has no encoded image", it.Ref)
	}
	return readAll(d.src, it.Ref, limit)
}

// Load decodes the given items (e.g. d.Items or a Split) into Tensors, in
// parallel with bounded memory. An image that fails to decode or exceeds a
// limit is skipped and recorded in d.Report; loading goes on. The returned
// Tensors hold the images that loaded, in item order.
func (d *Dataset) Load(ctx context.Context, items []Item, pre Preprocess) (*Tensors, error) {
	if err := pre.validate(); err != nil {
		return nil, err
	}
	if pre.CacheDir != "" {
		if t, ok := d.loadCache(items, pre); ok {
			return t, nil
		}
	}
	t := NewTensors(len(items), pre.Height, pre.Width, pre.Channels)
	ok := make([]bool, len(items))
	err := d.decodeInto(ctx, items, pre, t, ok)
	if err != nil {
		return nil, err
	}
	for i, it := range items {
		t.Labels[i] = it.Label
		t.Refs[i] = it.Ref
		t.Subjects[i] = it.Subject
	}
	t = compact(t, ok)
	if pre.CacheDir != "" {
		if err := d.saveCache(items, pre, t); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// compact keeps the images whose ok flag is set, in place.
func compact(t *Tensors, ok []bool) *Tensors {
	s := t.ImageSize()
	j := 0
	for i := 0; i < t.N; i++ {
		if !ok[i] {
			continue
		}
		if i != j {
			copy(t.X[j*s:(j+1)*s], t.X[i*s:(i+1)*s])
			t.Labels[j], t.Refs[j], t.Subjects[j] = t.Labels[i], t.Refs[i], t.Subjects[i]
		}
		j++
	}
	t.N = j
	t.X = t.X[:j*s]
	t.Labels, t.Refs, t.Subjects = t.Labels[:j], t.Refs[:j], t.Subjects[:j]
	return t
}

// job is one image waiting to be decoded into slot idx.
type job struct {
	idx  int
	data []byte
	err  error
}

func (p Preprocess) workers() int {
	if p.Workers > 0 {
		return p.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// decodeInto fills t.X[i] for every item that decodes and sets ok[i]. At
// most 2*workers encoded images are in memory at once.
func (d *Dataset) decodeInto(ctx context.Context, items []Item, pre Preprocess, t *Tensors, ok []bool) error {
	if d.synth != nil {
		return d.synth.render(ctx, items, pre, t, ok, d.Report)
	}
	nw := pre.workers()
	jobs := make(chan job, nw)
	var wg sync.WaitGroup
	for w := 0; w < nw; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				it := items[j.idx]
				dst := t.Image(j.idx)
				err := j.err
				if err == nil {
					if it.pixels != nil {
						side := isqrt(len(it.pixels))
						err = pre.finish(grayFloat(it.pixels, pre.Channels), side, side, dst, it.Ref, d.Report)
					} else {
						err = pre.decodeItem(j.data, dst, it.Ref, d.Report)
					}
				}
				switch {
				case err == nil:
					ok[j.idx] = true
				case errors.Is(err, face.ErrNoFace): // listed by finish
				case errors.Is(err, fs.ErrNotExist):
					d.Report.addMissing(it.Ref)
				case errors.Is(err, ErrTooLarge), errors.Is(err, ErrImageTooLarge):
					d.Report.addTooLarge(it.Ref, err)
				default:
					d.Report.addCorrupt(it.Ref, err)
				}
			}
		}()
	}
	err := d.feed(ctx, items, pre, jobs)
	close(jobs)
	wg.Wait()
	if err != nil {
		return err
	}
	return ctx.Err()
}

// feed reads the encoded images in the cheapest order for the source and
// sends them to the decoders.
func (d *Dataset) feed(ctx context.Context, items []Item, pre Preprocess, jobs chan<- job) error {
	limit := pre.maxImageBytes()
	if d.src == nil || !d.src.Sequential() {
		for i, it := range items {
			if err := ctx.Err(); err != nil {
				return err
			}
			if it.pixels != nil {
				jobs <- job{idx: i}
				continue
			}
			data, err := d.ReadEncoded(it, limit)
			jobs <- job{idx: i, data: data, err: err}
		}
		return nil
	}
	// Compressed archive: one pass in archive order.
	want := map[string][]int{}
	for i, it := range items {
		if it.pixels != nil {
			jobs <- job{idx: i}
			continue
		}
		want[it.Ref] = append(want[it.Ref], i)
	}
	if len(want) == 0 {
		return nil
	}
	err := d.src.Walk(limit, func(f File, r io.Reader, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		idx, ok := want[f.Name]
		if !ok {
			return nil
		}
		delete(want, f.Name)
		var data []byte
		if err == nil {
			data, err = io.ReadAll(r)
		}
		for _, i := range idx {
			jobs <- job{idx: i, data: data, err: err}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, idx := range want {
		for _, i := range idx {
			jobs <- job{idx: i, err: fmt.Errorf("%s: %w", items[i].Ref, fs.ErrNotExist)}
		}
	}
	return nil
}

// grayFloat widens 8-bit grey pixels to c channels of float32.
func grayFloat(p []byte, c int) []float32 {
	out := make([]float32, len(p)*c)
	for i, v := range p {
		for k := range c {
			out[i*c+k] = float32(v)
		}
	}
	return out
}

// Verify decodes every item without keeping the pixels, filling d.Report
// with the corrupt, oversized and missing ones. It returns the number of
// items that decoded. `fernb data stats` uses it so that its counts are
// what a training run would get.
func (d *Dataset) Verify(ctx context.Context, items []Item, pre Preprocess) (int, error) {
	if pre.Height == 0 {
		pre.Height, pre.Width, pre.Channels = 8, 8, 1
	}
	if err := pre.validate(); err != nil {
		return 0, err
	}
	const chunk = 4096
	good := 0
	for lo := 0; lo < len(items); lo += chunk {
		part := items[lo:min(lo+chunk, len(items))]
		if d.src != nil && d.src.Sequential() {
			part = items[lo:] // one pass over a compressed archive
		}
		t := NewTensors(len(part), pre.Height, pre.Width, pre.Channels)
		ok := make([]bool, len(part))
		if err := d.decodeInto(ctx, part, pre, t, ok); err != nil {
			return good, err
		}
		for _, b := range ok {
			if b {
				good++
			}
		}
		if d.src != nil && d.src.Sequential() {
			break
		}
	}
	return good, nil
}

// LoadTensors opens a data set, takes one split ("" = all) and decodes it:
// the one call that `fernb eval`, training and notebooks need for a labelled
// set. The report lists what was skipped; the data set is closed again.
func LoadTensors(ctx context.Context, format, path, split string, pre Preprocess, opt Options) (*Tensors, *Report, error) {
	d, err := Open(format, path, opt)
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	items, err := d.Split(split)
	if err != nil {
		return nil, d.Report, err
	}
	t, err := d.Load(ctx, items, pre)
	if err != nil {
		return nil, d.Report, err
	}
	return t, d.Report, nil
}
