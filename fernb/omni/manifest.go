package omni

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/fernb/fernb/fernb/internal/atomicfile"

	"github.com/fernb/fernb/fernb"
)

// File formats. Both are JSON lines: the first line is a Header, every
// following line one row. JSON lines stream (a reader never holds the whole
// file), append safely (the scores file grows during a run), and load in one
// call from pandas (read_json(lines=True)) or jq.
const (
	// ManifestFormat marks a manifest: the selected pool images (the VAS),
	// one Entry per line, in pool order.
	ManifestFormat = "fernb-vas/1"
	// ScoresFormat marks a scores file: every scored pool image of a run or
	// shard, one Score per line, whatever the rule. Quality reports sweep
	// margins over it and a changed margin re-selects from it without
	// re-embedding the pool.
	ScoresFormat = "fernb-scores/1"
)

// Header records where a manifest or scores file came from, so that a VAS
// can always be traced to its model, anchor set, pool and rule.
type Header struct {
	Format string `json:"format"`
	// Model is the model checkpoint (path or description) that embedded the
	// images.
	Model string `json:"model"`
	// Anchor describes the labelled set the centroids came from.
	Anchor string `json:"anchor,omitempty"`
	// Pool describes the pool (format and path).
	Pool string `json:"pool"`
	// Selection is the rule and limits (manifests only).
	Selection *Selection `json:"selection,omitempty"`
	// Classes names the columns of the similarity vectors (centroid order);
	// ProbClasses those of the probabilities.
	Classes     []string `json:"classes"`
	ProbClasses []string `json:"prob_classes,omitempty"`
	// AnchorCounts[j] is the number of labelled images in centroid j.
	AnchorCounts []int `json:"anchor_counts,omitempty"`
	// Centroids is CentroidSet.Fingerprint of the centroids used.
	Centroids  string `json:"centroids"`
	FeatureDim int    `json:"feature_dim"`
	// Shard is "i/n" for the output of one shard, "" for a whole pool
	// (including a merge of all shards).
	Shard string `json:"shard,omitempty"`
	// Scored counts the pool images scored, Corrupt those skipped because
	// they could not be read; Selected the manifest rows and Counts the rows
	// per label name (manifests only).
	Scored   int64            `json:"scored"`
	Corrupt  int64            `json:"corrupt"`
	Selected int64            `json:"selected,omitempty"`
	Counts   map[string]int64 `json:"counts,omitempty"`
}

// Columns returns the label columns of the similarity and probability
// vectors.
func (h *Header) Columns() (Columns, error) {
	sims, err := parseLabels(h.Classes)
	if err != nil {
		return Columns{}, fmt.Errorf("header classes: %w", err)
	}
	probs, err := parseLabels(h.ProbClasses)
	if err != nil {
		return Columns{}, fmt.Errorf("header prob_classes: %w", err)
	}
	return Columns{Sims: sims, Probs: probs}, nil
}

// writeAtomicJSON writes v as indented JSON to path atomically.
func writeAtomicJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("omni: encode %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), atomicfile.Mode); err != nil {
		return fmt.Errorf("omni: %w", err)
	}
	return nil
}

// writeLine appends v as one JSON line.
func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteManifest writes a manifest (header, then entries in the given order)
// atomically: either the whole file appears at path or nothing changes
// there. It fills h.Format, Selected and Counts from entries.
func WriteManifest(path string, h Header, entries []Entry) error {
	h.Format = ManifestFormat
	h.Selected = int64(len(entries))
	h.Counts = map[string]int64{}
	for _, e := range entries {
		h.Counts[e.Label.String()]++
	}
	i := 0
	return writeManifestStream(path, h, func() (Entry, error) {
		if i == len(entries) {
			return Entry{}, io.EOF
		}
		i++
		return entries[i-1], nil
	})
}

// writeManifestStream writes header h and the entries next returns until
// io.EOF, atomically.
func writeManifestStream(path string, h Header, next func() (Entry, error)) error {
	a, err := atomicfile.Create(path, atomicfile.Mode)
	if err != nil {
		return fmt.Errorf("omni: %w", err)
	}
	defer a.Abort()
	if err := writeLine(a, h); err != nil {
		return fmt.Errorf("omni: write %s header: %w", path, err)
	}
	for {
		e, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("omni: write %s: %w", path, err)
		}
		e.Name = e.Label.String()
		if err := writeLine(a, e); err != nil {
			return fmt.Errorf("omni: write %s row %d: %w", path, e.Index, err)
		}
	}
	if err := a.Commit(); err != nil {
		return fmt.Errorf("omni: %w", err)
	}
	return nil
}

// lineReader reads a JSON-lines file with a header, keeping line numbers for
// error messages.
type lineReader struct {
	path string
	f    *os.File
	sc   *bufio.Scanner
	line int
}

func openLines(path, format string, h *Header) (*lineReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("omni: %w", err)
	}
	r := &lineReader{path: path, f: f, sc: bufio.NewScanner(f)}
	r.sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	b, err := r.next()
	if err == io.EOF {
		f.Close()
		return nil, fmt.Errorf("omni: %s: empty file, want a %s header line", path, format)
	}
	if err == nil {
		err = json.Unmarshal(b, h)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("omni: %s:1: bad header: %v", path, err)
	}
	if h.Format != format {
		f.Close()
		return nil, fmt.Errorf("omni: %s:1: format %q, want %q", path, h.Format, format)
	}
	return r, nil
}

func (r *lineReader) next() ([]byte, error) {
	for r.sc.Scan() {
		r.line++
		b := bytes.TrimSpace(r.sc.Bytes())
		if len(b) > 0 {
			return b, nil
		}
	}
	if err := r.sc.Err(); err != nil {
		return nil, fmt.Errorf("omni: %s:%d: %w", r.path, r.line+1, err)
	}
	return nil, io.EOF
}

func (r *lineReader) errorf(format string, args ...any) error {
	return fmt.Errorf("omni: %s:%d: %s", r.path, r.line, fmt.Sprintf(format, args...))
}

// ManifestReader streams a manifest's entries.
type ManifestReader struct {
	Header Header
	cols   Columns
	r      *lineReader
	last   int64
}

// OpenManifest opens a manifest and reads its header.
func OpenManifest(path string) (*ManifestReader, error) {
	m := &ManifestReader{last: -1}
	r, err := openLines(path, ManifestFormat, &m.Header)
	if err != nil {
		return nil, err
	}
	m.r = r
	if m.cols, err = m.Header.Columns(); err != nil {
		r.f.Close()
		return nil, fmt.Errorf("omni: %s:1: %w", path, err)
	}
	return m, nil
}

// Next returns the next entry, or io.EOF after the last. A malformed row
// stops with its file and line.
func (m *ManifestReader) Next() (Entry, error) {
	b, err := m.r.next()
	if err != nil {
		return Entry{}, err
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, m.r.errorf("bad entry: %v", err)
	}
	if e.Label, err = fernb.ParseLabel(e.Name); err != nil {
		return Entry{}, m.r.errorf("%v", err)
	}
	if len(e.Sims) != len(m.cols.Sims) {
		return Entry{}, m.r.errorf("%d similarities, header names %d classes", len(e.Sims), len(m.cols.Sims))
	}
	if e.Index <= m.last {
		return Entry{}, m.r.errorf("index %d after %d: entries must be in increasing pool order", e.Index, m.last)
	}
	m.last = e.Index
	return e, nil
}

// Close closes the file.
func (m *ManifestReader) Close() error { return m.r.f.Close() }

// ReadManifest reads a whole manifest: what the distillation and training
// stages call to get the VAS.
func ReadManifest(path string) (*Header, []Entry, error) {
	m, err := OpenManifest(path)
	if err != nil {
		return nil, nil, err
	}
	defer m.Close()
	var out []Entry
	for {
		e, err := m.Next()
		if err == io.EOF {
			return &m.Header, out, nil
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, e)
	}
}

// ScoresReader streams a scores file.
type ScoresReader struct {
	Header Header
	r      *lineReader
	nsims  int
	nprobs int
	last   int64
}

// OpenScores opens a scores file (the .scores file next to a manifest).
func OpenScores(path string) (*ScoresReader, error) {
	s := &ScoresReader{last: -1}
	r, err := openLines(path, ScoresFormat, &s.Header)
	if err != nil {
		return nil, err
	}
	s.r, s.nsims, s.nprobs = r, len(s.Header.Classes), len(s.Header.ProbClasses)
	return s, nil
}

// Next returns the next score, or io.EOF after the last.
func (s *ScoresReader) Next() (Score, error) {
	b, err := s.r.next()
	if err != nil {
		return Score{}, err
	}
	var sc Score
	if err := json.Unmarshal(b, &sc); err != nil {
		return Score{}, s.r.errorf("bad score row: %v", err)
	}
	if len(sc.Sims) != s.nsims || len(sc.Probs) != s.nprobs {
		return Score{}, s.r.errorf("%d similarities and %d probabilities, header names %d and %d classes", len(sc.Sims), len(sc.Probs), s.nsims, s.nprobs)
	}
	if sc.Index <= s.last {
		return Score{}, s.r.errorf("index %d after %d: scores must be in increasing pool order", sc.Index, s.last)
	}
	s.last = sc.Index
	return sc, nil
}

// Close closes the file.
func (s *ScoresReader) Close() error { return s.r.f.Close() }

// ReadScores reads a whole scores file.
func ReadScores(path string) (*Header, []Score, error) {
	s, err := OpenScores(path)
	if err != nil {
		return nil, nil, err
	}
	defer s.Close()
	var out []Score
	for {
		sc, err := s.Next()
		if err == io.EOF {
			return &s.Header, out, nil
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, sc)
	}
}
