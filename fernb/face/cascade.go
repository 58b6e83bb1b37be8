package face

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	pigo "github.com/esimov/pigo/core"
)

// PigoModule is the module whose cascade files the detector reads.
const PigoModule = "github.com/esimov/pigo"

// CascadeDir returns the cascade directory of the pigo module this binary
// was built with, inside the Go module cache: the version comes from the
// build info, the cache from $GOMODCACHE or `go env GOMODCACHE`. It fails
// with a message naming the way out (a --cascade directory) when either is
// unknown or the files are absent (the module cache was cleaned: `go mod
// download` puts them back).
func CascadeDir() (string, error) {
	dir, err := ModuleDir()
	if err != nil {
		return "", err
	}
	c := filepath.Join(dir, "cascade")
	if _, err := os.Stat(filepath.Join(c, "facefinder")); err != nil {
		return "", fmt.Errorf("face: pigo cascades not in the module cache (%w); run `go mod download %s` or pass a cascade directory", err, PigoModule)
	}
	return c, nil
}

// ModuleDir returns the directory of the pigo module in the Go module cache
// (where its cascade/ and testdata/ folders are).
func ModuleDir() (string, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", errors.New("face: this binary has no build info to find the pigo module; pass a cascade directory")
	}
	version := ""
	for _, d := range bi.Deps {
		if d.Path != PigoModule {
			continue
		}
		if d.Replace != nil {
			if d.Replace.Version == "" { // replaced by a local directory
				return d.Replace.Path, nil
			}
			d = d.Replace
		}
		version = d.Version
	}
	if version == "" {
		return "", fmt.Errorf("face: %s is not among this binary's modules; pass a cascade directory", PigoModule)
	}
	cache, err := modCache()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, escapePath(PigoModule)+"@"+version), nil
}

// modCache finds the module cache the way the go command does.
func modCache() (string, error) {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return c, nil
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err == nil && strings.TrimSpace(string(out)) != "" {
		return strings.TrimSpace(string(out)), nil
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"), nil
	}
	home, herr := os.UserHomeDir()
	if herr != nil {
		return "", fmt.Errorf("face: cannot locate the Go module cache (go env: %v; home: %v); pass a cascade directory", err, herr)
	}
	return filepath.Join(home, "go", "pkg", "mod"), nil
}

// escapePath applies the module cache's case encoding (an upper-case
// letter becomes '!' and its lower case).
func escapePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// cascades holds the unpacked detectors and a digest of their files, which
// is part of every cache key: a different cascade gives different crops.
type cascades struct {
	face   *pigo.Pigo
	pupil  *puploc
	digest string
}

func loadCascades(dir string) (*cascades, error) {
	if dir == "" {
		var err error
		if dir, err = CascadeDir(); err != nil {
			return nil, err
		}
	}
	ff, err := os.ReadFile(filepath.Join(dir, "facefinder"))
	if err != nil {
		return nil, fmt.Errorf("face: reading the facefinder cascade: %w", err)
	}
	pl, err := os.ReadFile(filepath.Join(dir, "puploc"))
	if err != nil {
		return nil, fmt.Errorf("face: reading the puploc cascade: %w", err)
	}
	fc, err := unpackFacefinder(ff)
	if err != nil {
		return nil, fmt.Errorf("face: %s: %w", filepath.Join(dir, "facefinder"), err)
	}
	pc, err := unpackPuploc(pl)
	if err != nil {
		return nil, fmt.Errorf("face: %s: %w", filepath.Join(dir, "puploc"), err)
	}
	h := sha256.New()
	h.Write(ff)
	h.Write(pl)
	return &cascades{face: fc, pupil: pc, digest: fmt.Sprintf("%x", h.Sum(nil)[:8])}, nil
}

// unpackFacefinder checks the layout of a facefinder file before pigo
// unpacks it: pigo indexes the bytes without bounds checks, so a truncated
// file would panic.
func unpackFacefinder(b []byte) (*pigo.Pigo, error) {
	if len(b) < 16 {
		return nil, fmt.Errorf("%d bytes: too short for a facefinder cascade", len(b))
	}
	depth := binary.LittleEndian.Uint32(b[8:])
	trees := binary.LittleEndian.Uint32(b[12:])
	if depth == 0 || depth > 12 {
		return nil, fmt.Errorf("tree depth %d: not a facefinder cascade", depth)
	}
	leaves := uint64(1) << depth
	per := 4*leaves - 4 + 4*leaves + 4
	if want := 16 + uint64(trees)*per; uint64(len(b)) < want {
		return nil, fmt.Errorf("%d bytes, want %d for %d trees of depth %d", len(b), want, trees, depth)
	}
	return pigo.NewPigo().Unpack(b)
}

// puploc is pigo's pupil-localisation cascade: stages of regression trees
// whose nodes compare two pixels at offsets scaled by the current estimate.
type puploc struct {
	stages, trees, depth int
	scale                float32
	codes                []int8
	preds                []float32
}

func unpackPuploc(b []byte) (*puploc, error) {
	if len(b) < 16 {
		return nil, fmt.Errorf("%d bytes: too short for a puploc cascade", len(b))
	}
	p := &puploc{
		stages: int(binary.LittleEndian.Uint32(b[0:])),
		scale:  math.Float32frombits(binary.LittleEndian.Uint32(b[4:])),
		trees:  int(binary.LittleEndian.Uint32(b[8:])),
		depth:  int(binary.LittleEndian.Uint32(b[12:])),
	}
	if p.depth <= 0 || p.depth > 12 || p.stages <= 0 || p.trees <= 0 {
		return nil, fmt.Errorf("stages %d, trees %d, depth %d: not a puploc cascade", p.stages, p.trees, p.depth)
	}
	leaves := 1 << p.depth
	per := 4*leaves - 4 + 8*leaves
	if want := 16 + p.stages*p.trees*per; len(b) != want {
		return nil, fmt.Errorf("%d bytes, want %d for %d stages of %d trees of depth %d", len(b), want, p.stages, p.trees, p.depth)
	}
	pos := 16
	for range p.stages * p.trees {
		for _, c := range b[pos : pos+4*leaves-4] {
			p.codes = append(p.codes, int8(c))
		}
		pos += 4*leaves - 4
		for range 2 * leaves {
			p.preds = append(p.preds, math.Float32frombits(binary.LittleEndian.Uint32(b[pos:])))
			pos += 4
		}
	}
	return p, nil
}

// regress refines a pupil estimate (row r, column c, scale s) on a
// rows x cols greyscale image, as pigo's classifyRegion does.
func (p *puploc) regress(r, c, s float32, pix []uint8, rows, cols int) (float32, float32) {
	leaves := 1 << p.depth
	root := 0
	clampR := func(v int) int { return min(rows-1, max(0, v)) }
	clampC := func(v int) int { return min(cols-1, max(0, v)) }
	for i := range p.stages {
		var dr, dc float32
		si := int(math.Round(float64(s)))
		for j := range p.trees {
			idx := 0
			for range p.depth {
				code := p.codes[root+4*idx:]
				r1 := clampR((256*int(r) + int(code[0])*si) >> 8)
				c1 := clampC((256*int(c) + int(code[1])*si) >> 8)
				r2 := clampR((256*int(r) + int(code[2])*si) >> 8)
				c2 := clampC((256*int(c) + int(code[3])*si) >> 8)
				idx = 2*idx + 1
				if pix[r1*cols+c1] > pix[r2*cols+c2] {
					idx++
				}
			}
			lut := 2 * (p.trees*leaves*i + leaves*j + idx - (leaves - 1))
			dr += p.preds[lut]
			dc += p.preds[lut+1]
			root += 4*leaves - 4
		}
		r += dr * s
		c += dc * s
		s *= p.scale
	}
	return r, c
}
