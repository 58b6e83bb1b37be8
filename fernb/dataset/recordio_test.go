package dataset

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// le32 is a little-endian uint32, for spelling expected bytes by hand.
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestRecordWriterBytes checks the writer against the layout of dmlc-core's
// RecordIOWriter::WriteRecord and MXNet's recordio.pack, spelled out byte by
// byte: magic, lrecord, IRHeader {flag, label, id, id2}, image, padding; and
// the split into cflag 1/2/3 parts where the data holds the magic word.
func TestRecordWriterBytes(t *testing.T) {
	var rec, idx bytes.Buffer
	w := NewRecordWriter(&rec, &idx)
	img := []byte{1, 2, 3, 4, 5} // 24+5 = 29 bytes: 3 bytes of padding
	if err := w.Write(7, PackIR(42, nil, 9, 0, img)); err != nil {
		t.Fatal(err)
	}
	want := cat(le32(0xced7230a), le32(29), le32(0), le32(math.Float32bits(42)), le64(9), le64(0), img, []byte{0, 0, 0})
	if !bytes.Equal(rec.Bytes(), want) {
		t.Fatalf("record bytes\n got %x\nwant %x", rec.Bytes(), want)
	}
	// Multi-label header (flag = 2, label field 0) and an image containing
	// the magic word at an aligned offset (24+8+4 = 36).
	img2 := cat([]byte{9, 9, 9, 9}, le32(0xced7230a), []byte{8, 8})
	data := PackIR(0, []float32{5, 6}, 1, 2, img2)
	off := rec.Len()
	if err := w.Write(8, data); err != nil {
		t.Fatal(err)
	}
	head := cat(le32(2), le32(0), le64(1), le64(2), le32(math.Float32bits(5)), le32(math.Float32bits(6)), []byte{9, 9, 9, 9})
	want2 := cat(
		le32(0xced7230a), le32(1<<29|uint32(len(head))), head, // cflag 1: up to the magic word
		le32(0xced7230a), le32(3<<29|2), []byte{8, 8, 0, 0}, // cflag 3: the rest, padded
	)
	if !bytes.Equal(rec.Bytes()[off:], want2) {
		t.Fatalf("split record\n got %x\nwant %x", rec.Bytes()[off:], want2)
	}
	if idx.String() != "7\t0\n8\t"+strconv.Itoa(off)+"\n" {
		t.Errorf("idx %q", idx.String())
	}
	rr := NewRecordReader(bytes.NewReader(rec.Bytes()), 0, 0)
	r1, err := rr.Next()
	if err != nil || r1.Label != 42 || r1.ID != 9 || !bytes.Equal(r1.Image, img) {
		t.Fatalf("record 1: %+v %v", r1, err)
	}
	r2, err := rr.Next()
	if err != nil || r2.Flag != 2 || !reflect.DeepEqual(r2.Labels, []float32{5, 6}) || !bytes.Equal(r2.Image, img2) || r2.Offset != int64(off) {
		t.Fatalf("record 2: %+v %v", r2, err)
	}
	if _, err := rr.Next(); err != io.EOF {
		t.Fatalf("after last record: %v", err)
	}
}

// writeMSCeleb writes a face.evoLVe-style train.rec/train.idx: record 0 is
// the header (flag 2, labels [first id record, end]), then images, then an
// identity record; one image is corrupt.
func writeMSCeleb(t testing.TB, dir string, n int) {
	t.Helper()
	var rec, idx bytes.Buffer
	w := NewRecordWriter(&rec, &idx)
	w.Write(0, PackIR(0, []float32{float32(n + 1), float32(n + 2)}, 0, 0, nil))
	for i := 1; i <= n; i++ {
		img := pngBytes(t, grayImage(20, 20, i))
		if i == 3 {
			img = []byte("corrupt image bytes")
		}
		if err := w.Write(i, PackIR(float32(i%2), nil, uint64(i), 0, img)); err != nil {
			t.Fatal(err)
		}
	}
	w.Write(n+1, PackIR(0, []float32{1, 3}, 0, 0, nil))
	writeTree(t, dir, map[string][]byte{"train.rec": rec.Bytes(), "train.idx": idx.Bytes()})
}

func TestRecordIODatasetAndPool(t *testing.T) {
	dir := t.TempDir()
	writeMSCeleb(t, dir, 9)
	d := mustOpen(t, "recordio", dir)
	if len(d.Items) != 9 || len(d.Report.Ignored) != 2 || d.Items[0].Ref != "train.rec#1" || d.Items[1].Subject != "0" {
		t.Fatalf("items %+v ignored %v", d.Items, d.Report.Ignored)
	}
	x, err := d.Load(context.Background(), d.Items, Preprocess{Height: 20, Width: 20, Channels: 1})
	if err != nil || x.N != 8 || len(d.Report.Corrupt) != 1 || d.Report.Corrupt[0].Ref != "train.rec#3" {
		t.Fatalf("load: n=%d err=%v report %s", x.N, err, d.Report)
	}
	// The same file inside an uncompressed tar, read in place.
	tarPath := filepath.Join(t.TempDir(), "ms1m.tar")
	recB, _ := os.ReadFile(filepath.Join(dir, "train.rec"))
	idxB, _ := os.ReadFile(filepath.Join(dir, "train.idx"))
	writeTar(t, tarPath, map[string][]byte{"faces_emore/train.rec": recB, "faces_emore/train.idx": idxB}, false)
	dt := mustOpen(t, "recordio", tarPath)
	if !reflect.DeepEqual(dt.Items, d.Items) {
		t.Errorf("tar items differ")
	}
	// Streaming with and without the index, in shards.
	pre := Preprocess{Height: 8, Width: 8, Channels: 1}
	all := streamRefs(t, "recordio", filepath.Join(dir, "train.rec"), pre, StreamOptions{Batch: 4})
	if len(all) != 8 || all[0] != "train.rec#1" {
		t.Fatalf("stream: %v", all)
	}
	os.Remove(filepath.Join(dir, "train.idx"))
	noIdx := streamRefs(t, "recordio", dir, pre, StreamOptions{Batch: 3})
	if !reflect.DeepEqual(noIdx, all) {
		t.Errorf("stream without idx %v, with %v", noIdx, all)
	}
	var union []string
	for s := 0; s < 3; s++ {
		union = append(union, streamRefs(t, "recordio", tarPath, pre, StreamOptions{Shard: s, NumShards: 3, Batch: 2})...)
	}
	if len(union) != len(all) {
		t.Errorf("shards give %v", union)
	}
}

func TestRecordIOMalformed(t *testing.T) {
	var rec bytes.Buffer
	w := NewRecordWriter(&rec, nil)
	w.Write(0, PackIR(1, nil, 0, 0, []byte("abcdefgh")))
	good := rec.Bytes()
	bad := append([]byte(nil), good...)
	bad[0] = 0
	if _, err := NewRecordReader(bytes.NewReader(bad), 0, 0).Next(); !errors.Is(err, ErrRecordIO) || !strings.Contains(err.Error(), "magic") {
		t.Errorf("bad magic: %v", err)
	}
	if _, err := NewRecordReader(bytes.NewReader(good[:len(good)-4]), 0, 0).Next(); !errors.Is(err, ErrRecordIO) {
		t.Errorf("truncated: %v", err)
	}
	// A record over the limit is rejected without reading it, and the
	// stream goes on with the next record.
	w.Write(1, PackIR(2, nil, 0, 0, []byte("ok")))
	rr := NewRecordReader(bytes.NewReader(rec.Bytes()), 0, 30)
	if _, err := rr.Next(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized record: %v", err)
	}
	if r, err := rr.Next(); err != nil || string(r.Image) != "ok" {
		t.Errorf("record after an oversized one: %v %v", r, err)
	}
	if _, err := ParseRecordIndex(strings.NewReader("0\t0\n1\tx\n"), "train.idx"); err == nil || !strings.Contains(err.Error(), "train.idx:2") {
		t.Errorf("bad idx: %v", err)
	}
}

func streamRefs(t testing.TB, format, path string, pre Preprocess, so StreamOptions) []string {
	t.Helper()
	p, err := OpenPool(format, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var refs []string
	err = p.Stream(context.Background(), pre, so, func(b Batch) error {
		if b.N > max(so.Batch, 1) || len(b.Ordinals) != b.N || b.Validate() != nil {
			t.Errorf("batch of %d (limit %d), %d ordinals", b.N, so.Batch, len(b.Ordinals))
		}
		refs = append(refs, b.Refs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return refs
}
