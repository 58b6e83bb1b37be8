package dataset

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Test fixtures are generated here, never read from disk: small images of
// known content, corrupt and bomb images, and every archive format.

// grayImage returns a w x h image whose pixel (x,y) is (base+3x+5y) mod 256.
func grayImage(w, h, base int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetGray(x, y, color.Gray{Y: uint8((base + 3*x + 5*y) % 256)})
		}
	}
	return img
}

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bombPNG is a valid PNG signature and IHDR claiming w x h pixels, with no
// image data: decoding it for real would allocate w*h bytes.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte("\x89PNG\r\n\x1a\n"))
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit grayscale
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// writeTree writes files (slash paths) under dir.
func writeTree(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// writeTar writes files into a .tar (gz=false) or .tar.gz archive.
func writeTar(t testing.TB, path string, files map[string][]byte, gz bool) {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	dirs := map[string]bool{}
	for _, name := range sortedNames(files) {
		if d := filepath.ToSlash(filepath.Dir(name)); d != "." && !dirs[d] {
			dirs[d] = true
			w.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755})
		}
		data := files[name]
		if err := w.WriteHeader(&tar.Header{Name: name, Size: int64(len(data)), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		zw.Close()
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeZip(t testing.TB, path string, files map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, name := range sortedNames(files) {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(files[name])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// allLayouts writes files as a directory and as .tar, .tar.gz and .zip
// archives and returns the four paths.
func allLayouts(t testing.TB, files map[string][]byte) map[string]string {
	t.Helper()
	root := t.TempDir()
	out := map[string]string{
		"dir":    filepath.Join(root, "tree"),
		"tar":    filepath.Join(root, "set.tar"),
		"tar.gz": filepath.Join(root, "set.tar.gz"),
		"zip":    filepath.Join(root, "set.zip"),
	}
	writeTree(t, out["dir"], files)
	writeTar(t, out["tar"], files, false)
	writeTar(t, out["tar.gz"], files, true)
	writeZip(t, out["zip"], files)
	return out
}

func mustOpen(t testing.TB, format, path string) *Dataset {
	t.Helper()
	d, err := Open(format, path, Options{})
	if err != nil {
		t.Fatalf("Open(%s, %s): %v", format, path, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
