package dataset

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/fernb/fernb/fernb"
)

// MXNet RecordIO (dmlc-core recordio.h), the format of the MS-Celeb-1M
// release face.evoLVe and InsightFace distribute (train.rec + train.idx).
// Each physical record is: uint32 magic 0xced7230a, uint32 lrecord (upper 3
// bits cflag, lower 29 bits length), the data, zero padding to 4 bytes. A
// logical record whose data contains the magic word at a 4-byte aligned
// position is split there into parts with cflag 1 (first), 2 (middle) and 3
// (last); the reader puts the magic word back between parts. The logical
// record of an image is an IRHeader {uint32 flag; float32 label; uint64 id;
// uint64 id2} (24 bytes, little-endian), then flag float32 extra labels when
// flag > 0, then the encoded image.
const (
	RecordIOMagic uint32 = 0xced7230a
	irHeaderSize         = 24
	maxRecordLen         = 1<<29 - 1
)

// Record is one logical RecordIO record.
type Record struct {
	Offset int64 // byte offset of its first part (what .idx stores)
	Flag   uint32
	Label  float32
	Labels []float32 // the flag extra labels when Flag > 0
	ID     uint64
	ID2    uint64
	Image  []byte // the encoded image; empty for meta records
}

// ErrRecordIO wraps every malformed-RecordIO error.
var ErrRecordIO = errors.New("malformed RecordIO")

// RecordReader reads logical records one by one from a stream with memory
// bounded by the largest record (and by the limit).
type RecordReader struct {
	r     *bufio.Reader
	off   int64
	limit int64
}

// NewRecordReader reads records from r, which starts at byte offset start
// of the .rec file. Records longer than limit bytes (<= 0: 64 MiB) are
// rejected before they are read.
func NewRecordReader(r io.Reader, start, limit int64) *RecordReader {
	if limit <= 0 {
		limit = DefaultMaxImageBytes
	}
	return newRecordReaderSize(r, start, limit, 256<<10)
}

func newRecordReaderSize(r io.Reader, start, limit int64, bufSize int) *RecordReader {
	if limit <= 0 {
		limit = DefaultMaxImageBytes
	}
	return &RecordReader{r: bufio.NewReaderSize(r, bufSize), off: start, limit: limit}
}

// Offset is the byte offset of the next record.
func (rr *RecordReader) Offset() int64 { return rr.off }

// Next returns the next record, or io.EOF at a clean end of file.
func (rr *RecordReader) Next() (*Record, error) {
	start := rr.off
	var data []byte
	tooBig, total := false, int64(0)
	for part := 0; ; part++ {
		var h [8]byte
		n, err := io.ReadFull(rr.r, h[:])
		if err == io.EOF && part == 0 {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("offset %d: %w: truncated record header (%d of 8 bytes)", rr.off, ErrRecordIO, n)
		}
		if m := binary.LittleEndian.Uint32(h[:4]); m != RecordIOMagic {
			return nil, fmt.Errorf("offset %d: %w: expected magic 0xced7230a, got %#08x", rr.off, ErrRecordIO, m)
		}
		lrec := binary.LittleEndian.Uint32(h[4:])
		cflag, length := lrec>>29, int64(lrec&maxRecordLen)
		if (part == 0 && cflag != 0 && cflag != 1) || (part > 0 && cflag != 2 && cflag != 3) {
			return nil, fmt.Errorf("offset %d: %w: continuation flag %d out of order (part %d)", rr.off, ErrRecordIO, cflag, part)
		}
		padded := (length + 3) &^ 3
		if tooBig || int64(len(data))+length > rr.limit {
			// Skip the rest of the record without holding it, so the
			// stream stays usable after the rejection.
			if !tooBig {
				total += int64(len(data))
				data = nil
			}
			tooBig = true
			total += length
			if k, err := io.CopyN(io.Discard, rr.r, padded); err != nil {
				return nil, fmt.Errorf("offset %d: %w: truncated record data (%d of %d bytes)", rr.off, ErrRecordIO, k, padded)
			}
			rr.off += 8 + padded
			if cflag == 0 || cflag == 3 {
				return nil, fmt.Errorf("offset %d: record of %d bytes: %w (%d bytes)", start, total, ErrTooLarge, rr.limit)
			}
			continue
		}
		buf := make([]byte, padded)
		if k, err := io.ReadFull(rr.r, buf); err != nil {
			return nil, fmt.Errorf("offset %d: %w: truncated record data (%d of %d bytes)", rr.off, ErrRecordIO, k, padded)
		}
		rr.off += 8 + padded
		data = append(data, buf[:length]...)
		if cflag == 0 || cflag == 3 {
			break
		}
		data = binary.LittleEndian.AppendUint32(data, RecordIOMagic)
	}
	rec, err := ParseIRRecord(data)
	if err != nil {
		return nil, fmt.Errorf("offset %d: %w", start, err)
	}
	rec.Offset = start
	return rec, nil
}

// ParseIRRecord splits a logical record into its IRHeader, extra labels and
// image bytes (which alias data).
func ParseIRRecord(data []byte) (*Record, error) {
	if len(data) < irHeaderSize {
		return nil, fmt.Errorf("%w: record of %d bytes is shorter than the 24-byte IRHeader", ErrRecordIO, len(data))
	}
	r := &Record{
		Flag:  binary.LittleEndian.Uint32(data[0:]),
		Label: math.Float32frombits(binary.LittleEndian.Uint32(data[4:])),
		ID:    binary.LittleEndian.Uint64(data[8:]),
		ID2:   binary.LittleEndian.Uint64(data[16:]),
	}
	rest := data[irHeaderSize:]
	if r.Flag > 0 {
		if uint64(r.Flag)*4 > uint64(len(rest)) {
			return nil, fmt.Errorf("%w: IRHeader flag %d announces %d label bytes, only %d left", ErrRecordIO, r.Flag, uint64(r.Flag)*4, len(rest))
		}
		r.Labels = make([]float32, r.Flag)
		for i := range r.Labels {
			r.Labels[i] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))
		}
		rest = rest[4*r.Flag:]
	}
	r.Image = rest
	return r, nil
}

// readRecordAt reads the logical record starting at off.
func readRecordAt(ra io.ReaderAt, off, limit int64) (*Record, error) {
	// A small buffer: random access reads one record, often a few KB.
	rr := newRecordReaderSize(io.NewSectionReader(ra, off, math.MaxInt64-off), off, limit, 16<<10)
	rec, err := rr.Next()
	if err == io.EOF {
		return nil, fmt.Errorf("offset %d: %w: no record there", off, ErrRecordIO)
	}
	return rec, err
}

// RecordWriter writes records exactly as MXNet's MXIndexedRecordIO does
// (dmlc RecordIOWriter::WriteRecord plus "key\toffset\n" index lines), so
// that fixtures and exported pools read in MXNet and here alike.
type RecordWriter struct {
	w   io.Writer
	idx io.Writer
	off int64
}

// NewRecordWriter writes records to rec and, if idx is not nil, the index.
func NewRecordWriter(rec, idx io.Writer) *RecordWriter { return &RecordWriter{w: rec, idx: idx} }

// PackIR builds the logical record recordio.pack(IRHeader, img) makes: the
// 24-byte header, then the extra labels (flag = len(labels)), then img.
func PackIR(label float32, labels []float32, id, id2 uint64, img []byte) []byte {
	b := make([]byte, irHeaderSize, irHeaderSize+4*len(labels)+len(img))
	binary.LittleEndian.PutUint32(b[0:], uint32(len(labels)))
	if len(labels) > 0 {
		label = 0
	}
	binary.LittleEndian.PutUint32(b[4:], math.Float32bits(label))
	binary.LittleEndian.PutUint64(b[8:], id)
	binary.LittleEndian.PutUint64(b[16:], id2)
	for _, l := range labels {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(l))
	}
	return append(b, img...)
}

// Write appends one logical record with the given index key.
func (w *RecordWriter) Write(key int, data []byte) error {
	if len(data) > maxRecordLen {
		return fmt.Errorf("recordio: record of %d bytes exceeds 2^29-1", len(data))
	}
	if w.idx != nil {
		if _, err := fmt.Fprintf(w.idx, "%d\t%d\n", key, w.off); err != nil {
			return err
		}
	}
	var magic [4]byte
	binary.LittleEndian.PutUint32(magic[:], RecordIOMagic)
	put := func(cflag uint32, part []byte) error {
		var h [8]byte
		copy(h[:4], magic[:])
		binary.LittleEndian.PutUint32(h[4:], cflag<<29|uint32(len(part)))
		if _, err := w.w.Write(h[:]); err != nil {
			return err
		}
		if _, err := w.w.Write(part); err != nil {
			return err
		}
		w.off += 8 + int64(len(part))
		return nil
	}
	dptr := 0
	lower := len(data) &^ 3
	for i := 0; i < lower; i += 4 {
		if bytes.Equal(data[i:i+4], magic[:]) {
			flag := uint32(2)
			if dptr == 0 {
				flag = 1
			}
			if err := put(flag, data[dptr:i]); err != nil {
				return err
			}
			dptr = i + 4
		}
	}
	flag := uint32(0)
	if dptr != 0 {
		flag = 3
	}
	if err := put(flag, data[dptr:]); err != nil {
		return err
	}
	if pad := (4 - len(data)%4) % 4; pad > 0 {
		if _, err := w.w.Write(make([]byte, pad)); err != nil {
			return err
		}
		w.off += int64(pad)
	}
	return nil
}

// IndexEntry is one line of a .idx file.
type IndexEntry struct {
	Key    int
	Offset int64
}

// ParseRecordIndex reads a .idx file ("key\toffset" lines) and returns the
// entries sorted by offset, the order records appear in the .rec file.
func ParseRecordIndex(r io.Reader, name string) ([]IndexEntry, error) {
	var out []IndexEntry
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: expected \"<key>\\t<offset>\", got %q", name, line, truncate(sc.Text(), 60))
		}
		k, err1 := strconv.Atoi(f[0])
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || o < 0 || o%4 != 0 {
			return nil, fmt.Errorf("%s:%d: expected an integer key and a non-negative offset that is a multiple of 4, got %q", name, line, truncate(sc.Text(), 60))
		}
		out = append(out, IndexEntry{k, o})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	return out, nil
}

// recordFile is an opened .rec (and optional .idx).
type recordFile struct {
	name  string // base name, used in refs
	ra    io.ReaderAt
	size  int64
	index []IndexEntry // nil without .idx
	close func() error
}

// openRecordFile finds the .rec at p: the file itself, or train.rec (or the
// only .rec) in a directory or uncompressed tar.
func openRecordFile(p string) (*recordFile, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	lower := strings.ToLower(p)
	if !st.IsDir() && strings.HasSuffix(lower, ".tar") {
		src, err := openTar(p)
		if err != nil {
			return nil, err
		}
		recName, ok := findRec(src)
		if !ok {
			src.Close()
			return nil, fmt.Errorf("dataset: %s: no .rec file inside", p)
		}
		sec, _ := src.section(recName)
		rf := &recordFile{name: recName, ra: sec, size: sec.Size(), close: src.Close}
		idxName := strings.TrimSuffix(recName, ".rec") + ".idx"
		if isec, ok := src.section(idxName); ok {
			rf.index, err = ParseRecordIndex(io.NewSectionReader(isec, 0, isec.Size()), idxName)
			if err != nil {
				src.Close()
				return nil, fmt.Errorf("dataset: %w", err)
			}
		}
		return rf, nil
	}
	if strings.HasSuffix(lower, ".zip") || strings.HasSuffix(lower, ".gz") || strings.HasSuffix(lower, ".tgz") {
		return nil, fmt.Errorf("dataset: %s: RecordIO is read in place from a directory or an uncompressed .tar (it is already an archive)", p)
	}
	if st.IsDir() {
		d, err := openDir(p)
		if err != nil {
			return nil, err
		}
		recName, ok := findRec(d)
		if !ok {
			return nil, fmt.Errorf("dataset: %s: no .rec file found", p)
		}
		p = filepath.Join(p, filepath.FromSlash(recName))
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	st, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dataset: %w", err)
	}
	rf := &recordFile{name: filepath.Base(p), ra: f, size: st.Size(), close: f.Close}
	idxPath := strings.TrimSuffix(p, filepath.Ext(p)) + ".idx"
	if fi, err := os.Open(idxPath); err == nil {
		rf.index, err = ParseRecordIndex(fi, idxPath)
		fi.Close()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("dataset: %w", err)
		}
	}
	return rf, nil
}

func findRec(s Source) (string, bool) {
	if n, ok := findFile(s, "", "train.rec"); ok {
		return n, true
	}
	var only string
	for _, f := range s.Files() {
		if strings.HasSuffix(strings.ToLower(f.Name), ".rec") {
			if only != "" {
				return "", false
			}
			only = f.Name
		}
	}
	return only, only != ""
}

// recordRef names record key in file name: "train.rec#123".
func recordRef(name string, key int) string { return fmt.Sprintf("%s#%d", filepathBase(name), key) }

func filepathBase(n string) string {
	if i := strings.LastIndexAny(n, "/\\"); i >= 0 {
		return n[i+1:]
	}
	return n
}

// isMeta reports records that carry no image: the header record of an
// InsightFace/face.evoLVe .rec (index 0, flag > 0, label = [#images+1,
// #ids]) and the identity-range records after the images.
func (r *Record) isMeta() bool { return len(r.Image) == 0 }

// subject returns the identity of an MS-Celeb record: its label (the class
// id), or the first extra label.
func (r *Record) subject() string {
	l := r.Label
	if len(r.Labels) > 0 {
		l = r.Labels[0]
	}
	return strconv.FormatInt(int64(l), 10)
}

// openRecordIO lists the records of a .rec as items (identity as subject,
// no expression label). For pools too large to list, use Pool.Stream.
func (d *Dataset) openRecordIO(p string, opt Options) error {
	rf, err := openRecordFile(p)
	if err != nil {
		return err
	}
	d.closers = append(d.closers, closerFunc(rf.close))
	d.rec = rf.ra
	rr := NewRecordReader(io.NewSectionReader(rf.ra, 0, rf.size), 0, 0)
	keys := rf.keyOf()
	for i := 0; ; i++ {
		rec, err := rr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, ErrTooLarge) {
			d.Report.addTooLarge(fmt.Sprintf("%s@%d", rf.name, rr.Offset()), err)
			continue
		}
		if err != nil {
			d.Close()
			return fmt.Errorf("dataset: %s: %w", rf.name, err)
		}
		key := i
		if k, ok := keys[rec.Offset]; ok {
			key = k
		}
		ref := recordRef(rf.name, key)
		if rec.isMeta() {
			d.Report.addIgnored(ref, "meta record (no image)")
			continue
		}
		d.Items = append(d.Items, Item{Ref: ref, Label: fernb.Unlabelled, Subject: rec.subject(), recOff: rec.Offset})
	}
	return nil
}

func (rf *recordFile) keyOf() map[int64]int {
	m := make(map[int64]int, len(rf.index))
	for _, e := range rf.index {
		m[e.Offset] = e.Key
	}
	return m
}

type closerFunc func() error

func (c closerFunc) Close() error { return c() }
