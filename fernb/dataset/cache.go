package dataset

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/fernb/fernb/fernb/internal/atomicfile"

	"github.com/fernb/fernb/fernb"
)

// The decoded-tensor cache lets every epoch after the first, and every
// later run, skip JPEG decoding: a cache file is keyed by the data set path
// and its size and modification time, the items (refs and labels) and every
// Preprocess field that changes pixels, face alignment settings included.
// Files are written to a temporary name inside CacheDir and renamed, so an
// interrupted run never leaves a half-written cache that a later run would
// trust; nothing is written outside CacheDir.

const cacheMagic = "FERNBT1\n"

type cacheMeta struct {
	N, H, W, C int
	Labels     []fernb.Label
	Refs       []string
	Subjects   []string
	Corrupt    []Problem
	TooLarge   []Problem
	Missing    []string
	// Face alignment outcomes (Report fields of the same names).
	Aligned       int
	NoFace        []string
	CentreCropped []string
	SeveralFaces  []Problem
}

func (d *Dataset) cacheKey(items []Item, pre Preprocess) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", d.Format, d.Path)
	if abs, err := filepath.Abs(d.Path); err == nil {
		if st, err := os.Stat(abs); err == nil {
			fmt.Fprintf(h, "%s\x00%d\x00%d\x00", abs, st.Size(), st.ModTime().UnixNano())
		}
	}
	fmt.Fprintf(h, "%d %d %d %v %v %v %d\x00", pre.Height, pre.Width, pre.Channels, pre.CenterCrop, pre.Mean, pre.Std, pre.maxPixels())
	if pre.Align != nil {
		fmt.Fprintf(h, "align %s\x00", pre.Align.Key())
	}
	for _, it := range items {
		fmt.Fprintf(h, "%s\x00%d\x00", it.Ref, it.Label)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func (d *Dataset) cachePath(items []Item, pre Preprocess) string {
	return filepath.Join(pre.CacheDir, "fernb-"+d.cacheKey(items, pre)+".tensors")
}

// loadCache returns cached Tensors and replays the cached report entries.
// A missing or unreadable cache file is a miss, never an error.
func (d *Dataset) loadCache(items []Item, pre Preprocess) (*Tensors, bool) {
	f, err := os.Open(d.cachePath(items, pre))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	magic := make([]byte, len(cacheMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != cacheMagic {
		return nil, false
	}
	var meta cacheMeta
	if err := gob.NewDecoder(r).Decode(&meta); err != nil {
		return nil, false
	}
	t := &Tensors{N: meta.N, H: meta.H, W: meta.W, C: meta.C, Labels: meta.Labels, Refs: meta.Refs, Subjects: meta.Subjects}
	t.X = make([]float32, t.N*t.ImageSize())
	buf := make([]byte, 4*t.ImageSize())
	for i := 0; i < t.N; i++ {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, false
		}
		img := t.Image(i)
		for j := range img {
			img[j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
		}
	}
	if t.Validate() != nil {
		return nil, false
	}
	d.Report.mu.Lock()
	d.Report.Corrupt = append(d.Report.Corrupt, meta.Corrupt...)
	d.Report.TooLarge = append(d.Report.TooLarge, meta.TooLarge...)
	d.Report.Missing = append(d.Report.Missing, meta.Missing...)
	d.Report.Aligned += meta.Aligned
	d.Report.NoFace = append(d.Report.NoFace, meta.NoFace...)
	d.Report.CentreCropped = append(d.Report.CentreCropped, meta.CentreCropped...)
	d.Report.SeveralFaces = append(d.Report.SeveralFaces, meta.SeveralFaces...)
	d.Report.mu.Unlock()
	return t, true
}

func (d *Dataset) saveCache(items []Item, pre Preprocess, t *Tensors) error {
	d.Report.mu.Lock()
	meta := cacheMeta{N: t.N, H: t.H, W: t.W, C: t.C, Labels: t.Labels, Refs: t.Refs, Subjects: t.Subjects,
		Corrupt: d.Report.Corrupt, TooLarge: d.Report.TooLarge, Missing: d.Report.Missing,
		Aligned: d.Report.Aligned, NoFace: d.Report.NoFace, CentreCropped: d.Report.CentreCropped, SeveralFaces: d.Report.SeveralFaces}
	d.Report.mu.Unlock()
	err := atomicfile.Write(d.cachePath(items, pre), atomicfile.Mode, func(w io.Writer) error {
		if _, err := io.WriteString(w, cacheMagic); err != nil {
			return err
		}
		if err := gob.NewEncoder(w).Encode(&meta); err != nil {
			return err
		}
		var b [4]byte
		for _, v := range t.X {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			if _, err := w.Write(b[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dataset: cache: %w", err)
	}
	return nil
}
