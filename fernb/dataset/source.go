package dataset

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// File is one regular file of a Source: its slash-separated path relative to
// the source root (the stable reference results use to name an image) and
// its size in bytes as declared by the directory entry or archive header.
type File struct {
	Name string
	Size int64
}

// Source is a read-only tree of files: a directory, or a .tar, .tar.gz/.tgz
// or .zip archive read in place. Data sets are distributed as archives of
// tens of thousands of small images; reading them without extracting saves
// disk, time and the risk of a half-extracted copy drifting from the
// original.
//
// Open rejects a member whose declared size exceeds the limit it is given
// before reading any of it, and never returns more than that many bytes even
// if a header lies (decompression bombs).
type Source interface {
	// Root names the directory or archive.
	Root() string
	// Files lists the regular files: directories in lexical order, archives
	// in member order. Hidden files and macOS resource forks are left out.
	Files() []File
	// Open opens the named file for reading, at most limit bytes.
	Open(name string, limit int64) (io.ReadCloser, error)
	// Sequential reports that Open is slow (each call rescans a compressed
	// stream) and bulk reads should go through Walk.
	Sequential() bool
	// Walk calls fn for every file in Files order with a reader of its
	// content; fn may ignore the reader. Members larger than limit are
	// passed with a nil reader and ErrTooLarge.
	Walk(limit int64, fn func(f File, r io.Reader, err error) error) error
	Close() error
}

// ErrTooLarge is returned for archive members or records larger than the
// configured limit; they are rejected before they are inflated or decoded.
var ErrTooLarge = errors.New("larger than the configured limit")

// OpenSource opens a directory or an archive (by extension: .tar, .tar.gz,
// .tgz, .zip). A path to any other regular file opens its parent directory,
// and the file's base name is returned as hint, so a loader can be pointed
// at fer2013.csv or train.rec directly.
func OpenSource(p string) (src Source, hint string, err error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, "", fmt.Errorf("dataset: %w", err)
	}
	if st.IsDir() {
		s, err := openDir(p)
		return s, "", err
	}
	lower := strings.ToLower(p)
	switch {
	case strings.HasSuffix(lower, ".zip"):
		s, err := openZip(p)
		return s, "", err
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		s, err := openTarGz(p)
		return s, "", err
	case strings.HasSuffix(lower, ".tar"):
		s, err := openTar(p)
		return s, "", err
	}
	s, err := openDir(filepath.Dir(p))
	return s, filepath.Base(p), err
}

// skipName reports names that are never data: hidden files, macOS resource
// forks and AppleDouble files that zip tools on macOS add.
func skipName(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if part == "" {
			continue
		}
		if strings.HasPrefix(part, ".") || part == "__MACOSX" {
			return true
		}
	}
	return false
}

// cleanMember normalises an archive member name and rejects names that
// would climb out of the archive root (they are never followed, but a
// reference must not pretend to be outside the data set either).
func cleanMember(name string) (string, bool) {
	name = strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(name, "\\", "/")), "/")
	if name == "" || name == "." {
		return "", false
	}
	return name, true
}

func tooLarge(name string, size, limit int64) error {
	return fmt.Errorf("%s: %d bytes, %w (%d bytes)", name, size, ErrTooLarge, limit)
}

// limitedReader returns at most limit bytes and reports ErrTooLarge when the
// stream holds more, so a member whose header understates its size cannot
// inflate past the limit.
type limitedReader struct {
	r     io.Reader
	n     int64 // bytes still allowed
	name  string
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Probe one byte: more data means the member lied about its size.
		var b [1]byte
		if k, _ := l.r.Read(b[:]); k > 0 {
			return 0, tooLarge(l.name, l.limit+1, l.limit)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error {
	if r.close == nil {
		return nil
	}
	return r.close()
}

// ---- directory ----

type dirSource struct {
	root  string
	files []File
}

func openDir(root string) (*dirSource, error) {
	// A symlinked data set root is common; WalkDir would not enter it.
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	d := &dirSource{root: root}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel != "." && skipName(rel) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		var info fs.FileInfo
		switch {
		case e.Type().IsRegular():
			if info, err = e.Info(); err != nil {
				return err
			}
		case e.Type()&fs.ModeSymlink != 0:
			// Data sets are often symlinked into place: follow links to
			// files (not to directories, which could loop).
			if info, err = os.Stat(p); err != nil || !info.Mode().IsRegular() {
				return nil
			}
		default:
			return nil
		}
		d.files = append(d.files, File{Name: rel, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: listing %s: %w", root, err)
	}
	return d, nil
}

func (d *dirSource) Root() string     { return d.root }
func (d *dirSource) Files() []File    { return d.files }
func (d *dirSource) Sequential() bool { return false }
func (d *dirSource) Close() error     { return nil }

func (d *dirSource) Open(name string, limit int64) (io.ReadCloser, error) {
	clean, ok := cleanMember(name)
	if !ok {
		return nil, fmt.Errorf("dataset: bad file name %q", name)
	}
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(clean)))
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && limit > 0 && st.Size() > limit {
		f.Close()
		return nil, tooLarge(name, st.Size(), limit)
	}
	return readCloser{Reader: &limitedReader{r: bufio.NewReaderSize(f, 64<<10), n: limitOr(limit), name: name, limit: limit}, close: f.Close}, nil
}

func (d *dirSource) Walk(limit int64, fn func(File, io.Reader, error) error) error {
	return walkByOpen(d, limit, fn)
}

func limitOr(limit int64) int64 {
	if limit <= 0 {
		return 1 << 62
	}
	return limit
}

// walkByOpen implements Walk for random-access sources.
func walkByOpen(s Source, limit int64, fn func(File, io.Reader, error) error) error {
	for _, f := range s.Files() {
		if limit > 0 && f.Size > limit {
			if err := fn(f, nil, tooLarge(f.Name, f.Size, limit)); err != nil {
				return err
			}
			continue
		}
		rc, err := s.Open(f.Name, limit)
		if err != nil {
			if err := fn(f, nil, err); err != nil {
				return err
			}
			continue
		}
		err = fn(f, rc, nil)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// ---- zip ----

type zipSource struct {
	root   string
	zr     *zip.ReadCloser
	files  []File
	byName map[string]*zip.File
}

func openZip(p string) (*zipSource, error) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, fmt.Errorf("dataset: opening zip %s: %w", p, err)
	}
	z := &zipSource{root: p, zr: zr, byName: map[string]*zip.File{}}
	for _, f := range zr.File {
		if !f.Mode().IsRegular() {
			continue
		}
		name, ok := cleanMember(f.Name)
		if !ok || skipName(name) {
			continue
		}
		if _, dup := z.byName[name]; dup {
			continue
		}
		z.byName[name] = f
		z.files = append(z.files, File{Name: name, Size: int64(f.UncompressedSize64)})
	}
	return z, nil
}

func (z *zipSource) Root() string     { return z.root }
func (z *zipSource) Files() []File    { return z.files }
func (z *zipSource) Sequential() bool { return false }
func (z *zipSource) Close() error     { return z.zr.Close() }

func (z *zipSource) Open(name string, limit int64) (io.ReadCloser, error) {
	f, ok := z.byName[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	if limit > 0 && f.UncompressedSize64 > uint64(limit) {
		return nil, tooLarge(name, int64(f.UncompressedSize64), limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return readCloser{Reader: &limitedReader{r: rc, n: limitOr(limit), name: name, limit: limit}, close: rc.Close}, nil
}

func (z *zipSource) Walk(limit int64, fn func(File, io.Reader, error) error) error {
	return walkByOpen(z, limit, fn)
}

// ---- plain tar: indexed once, members read in place ----

type tarSource struct {
	root  string
	f     *os.File
	files []File
	off   map[string]int64
	sizes map[string]int64
}

func openTar(p string) (*tarSource, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	t := &tarSource{root: p, f: f, off: map[string]int64{}, sizes: map[string]int64{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("dataset: reading tar %s: %w", p, err)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		name, ok := cleanMember(h.Name)
		if !ok || skipName(name) {
			continue
		}
		// archive/tar reads whole 512-byte blocks only, so the file
		// position after Next is the start of the member's data.
		pos, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("dataset: %w", err)
		}
		if _, dup := t.off[name]; dup {
			continue
		}
		t.off[name] = pos
		t.sizes[name] = h.Size
		t.files = append(t.files, File{Name: name, Size: h.Size})
	}
	return t, nil
}

func (t *tarSource) Root() string     { return t.root }
func (t *tarSource) Files() []File    { return t.files }
func (t *tarSource) Sequential() bool { return false }
func (t *tarSource) Close() error     { return t.f.Close() }

func (t *tarSource) Open(name string, limit int64) (io.ReadCloser, error) {
	off, ok := t.off[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	return t.openAt(name, off, t.sizes[name], limit)
}

func (t *tarSource) openAt(name string, off, size, limit int64) (io.ReadCloser, error) {
	if limit > 0 && size > limit {
		return nil, tooLarge(name, size, limit)
	}
	return io.NopCloser(io.NewSectionReader(t.f, off, size)), nil
}

// section returns the member as an io.ReaderAt, for RecordIO files inside
// an uncompressed tar that are read by offset.
func (t *tarSource) section(name string) (*io.SectionReader, bool) {
	off, ok := t.off[name]
	if !ok {
		return nil, false
	}
	return io.NewSectionReader(t.f, off, t.sizes[name]), true
}

func (t *tarSource) Walk(limit int64, fn func(File, io.Reader, error) error) error {
	for _, f := range t.files {
		rc, err := t.openAt(f.Name, t.off[f.Name], f.Size, limit)
		if err != nil {
			if err := fn(f, nil, err); err != nil {
				return err
			}
			continue
		}
		if err := fn(f, bufio.NewReaderSize(rc, 64<<10), nil); err != nil {
			return err
		}
	}
	return nil
}

// ---- compressed tar: no random access ----

// smallCacheLimit bounds the label files (.txt, .csv, .idx, .lst) that a
// .tar.gz source keeps in memory while indexing, so that loaders can read
// their label lists without rescanning the compressed stream per file.
const (
	smallFileLimit  = 4 << 20
	smallCacheLimit = 64 << 20
)

type tarGzSource struct {
	root   string
	files  []File
	small  map[string][]byte
	exists map[string]int64
}

func isLabelFile(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".txt", ".csv", ".idx", ".lst", ".json", ".tsv":
		return true
	}
	return false
}

func openTarGz(p string) (*tarGzSource, error) {
	t := &tarGzSource{root: p, small: map[string][]byte{}, exists: map[string]int64{}}
	cached := 0
	err := t.scan(0, func(f File, r io.Reader, err error) error {
		if _, dup := t.exists[f.Name]; dup {
			return nil
		}
		t.exists[f.Name] = f.Size
		t.files = append(t.files, f)
		if err == nil && isLabelFile(f.Name) && f.Size <= smallFileLimit && cached+int(f.Size) <= smallCacheLimit {
			b, err := io.ReadAll(r)
			if err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
			t.small[f.Name] = b
			cached += len(b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// scan streams the archive once; members are offered in archive order.
func (t *tarGzSource) scan(limit int64, fn func(File, io.Reader, error) error) error {
	f, err := os.Open(t.root)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return fmt.Errorf("dataset: %s: %w", t.root, err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("dataset: reading %s: %w", t.root, err)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		name, ok := cleanMember(h.Name)
		if !ok || skipName(name) {
			continue
		}
		file := File{Name: name, Size: h.Size}
		if limit > 0 && h.Size > limit {
			// Skipping needs no inflation of the member into memory.
			err = fn(file, nil, tooLarge(name, h.Size, limit))
		} else {
			err = fn(file, tr, nil)
		}
		if err != nil {
			if errors.Is(err, errStopWalk) {
				return nil
			}
			return err
		}
	}
}

var errStopWalk = errors.New("stop walk")

func (t *tarGzSource) Root() string     { return t.root }
func (t *tarGzSource) Files() []File    { return t.files }
func (t *tarGzSource) Sequential() bool { return true }
func (t *tarGzSource) Close() error     { return nil }

func (t *tarGzSource) Open(name string, limit int64) (io.ReadCloser, error) {
	size, ok := t.exists[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	if limit > 0 && size > limit {
		return nil, tooLarge(name, size, limit)
	}
	if b, ok := t.small[name]; ok {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	var data []byte
	err := t.scan(limit, func(f File, r io.Reader, err error) error {
		if f.Name != name {
			return nil
		}
		if err != nil {
			return err
		}
		data, err = io.ReadAll(r)
		if err != nil {
			return err
		}
		return errStopWalk
	})
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (t *tarGzSource) Walk(limit int64, fn func(File, io.Reader, error) error) error {
	seen := map[string]bool{}
	return t.scan(limit, func(f File, r io.Reader, err error) error {
		if seen[f.Name] {
			return nil
		}
		seen[f.Name] = true
		return fn(f, r, err)
	})
}

// readAll reads a whole (label) file from a source.
func readAll(s Source, name string, limit int64) ([]byte, error) {
	rc, err := s.Open(name, limit)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}
