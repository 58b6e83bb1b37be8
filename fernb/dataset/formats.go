package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/fernb/fernb/fernb"
)

// findFile returns the source file with the given base name (case
// insensitive), preferring hint and then the shortest path, so that loaders
// work whether or not the archive wraps the data set in a top folder.
func findFile(src Source, hint string, names ...string) (string, bool) {
	best := ""
	for _, f := range src.Files() {
		if hint != "" && f.Name == hint {
			return hint, true
		}
		base := strings.ToLower(path.Base(f.Name))
		for _, n := range names {
			if base == strings.ToLower(n) && (best == "" || len(f.Name) < len(best)) {
				best = f.Name
			}
		}
	}
	return best, best != ""
}

// isSplitDir reports folder names that mean a split rather than a class.
func isSplitDir(s string) bool {
	switch strings.ToLower(s) {
	case "train", "training", "test", "testing", "publictest", "privatetest", "val", "valid", "validation":
		return true
	}
	return false
}

var ckNameRE = regexp.MustCompile(`^(S\d+)_(\d+)_(\d+)\.(?i:png|jpg|jpeg)$`)

// ParseFolderPath maps a file path of the folder layout
// ([...]/[split/]class/file) to its label and split. It is the "filename
// code" parser of the folder format; an unknown class folder is an error
// that names the known classes.
func ParseFolderPath(name string) (label fernb.Label, split, subject string, err error) {
	parts := strings.Split(name, "/")
	if len(parts) < 2 {
		return fernb.Unlabelled, "", "", fmt.Errorf("%s: image outside a class folder (expected ROOT/[train|test/]<class>/<image>)", name)
	}
	label, err = fernb.ParseLabel(parts[len(parts)-2])
	if err != nil {
		return fernb.Unlabelled, "", "", fmt.Errorf("%s: class folder: %w", name, err)
	}
	if len(parts) >= 3 && isSplitDir(parts[len(parts)-3]) {
		split = normSplit(parts[len(parts)-3])
	}
	if m := ckNameRE.FindStringSubmatch(parts[len(parts)-1]); m != nil {
		subject = m[1] // CK+48 and similar crops keep CK+ file names
	}
	return label, split, subject, nil
}

func (d *Dataset) readFolder() error {
	for _, f := range d.src.Files() {
		if !IsImageName(f.Name) {
			continue
		}
		l, split, subj, err := ParseFolderPath(f.Name)
		if err != nil {
			return fmt.Errorf("dataset: folder %s: %w", d.src.Root(), err)
		}
		d.Items = append(d.Items, Item{Ref: f.Name, Label: l, Split: split, Subject: subj, recOff: -1})
	}
	if len(d.Items) == 0 {
		return fmt.Errorf("dataset: folder %s: no images found (expected ROOT/[train|test/]<class>/<image>)", d.src.Root())
	}
	return nil
}

func (d *Dataset) readPool() error {
	for _, f := range d.src.Files() {
		if IsImageName(f.Name) {
			d.Items = append(d.Items, Item{Ref: f.Name, Label: fernb.Unlabelled, recOff: -1})
		}
	}
	if len(d.Items) == 0 {
		return fmt.Errorf("dataset: pool %s: no images found (for MXNet RecordIO use format recordio)", d.src.Root())
	}
	return nil
}

// csvErr puts the file and line of a CSV syntax error first, as every
// other label-file error does.
func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: expected well-formed CSV: %w", name, pe.Line, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// ---- FER-2013 CSV ----

// FER2013Row is one parsed row of fer2013.csv.
type FER2013Row struct {
	Line   int
	Label  fernb.Label
	Usage  string // Training, PublicTest, PrivateTest
	Pixels []byte // 48*48 grayscale, row-major
}

// fer2013Labels maps the csv's emotion codes to fernb labels.
var fer2013Labels = [...]fernb.Label{fernb.Angry, fernb.Disgust, fernb.Fear, fernb.Happy, fernb.Sad, fernb.Surprise, fernb.Neutral}

// ParseFER2013CSV reads fer2013.csv (header emotion,pixels,Usage; columns
// in any order) calling fn per row. A malformed row stops the parse with
// name:line and what was expected, because a silently shifted CSV would
// mislabel everything after it.
func ParseFER2013CSV(r io.Reader, name string, fn func(FER2013Row) error) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s:1: expected header emotion,pixels,Usage: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	ie, ok1 := col["emotion"]
	ip, ok2 := col["pixels"]
	iu, ok3 := col["usage"]
	if !ok1 || !ok2 {
		return fmt.Errorf("%s:1: expected header emotion,pixels,Usage, got %q", name, strings.Join(head, ","))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(head) {
			return fmt.Errorf("%s:%d: expected %d fields (%s), got %d", name, line, len(head), strings.Join(head, ","), len(rec))
		}
		code, err := strconv.Atoi(strings.TrimSpace(rec[ie]))
		if err != nil || code < 0 || code >= len(fer2013Labels) {
			return fmt.Errorf("%s:%d: expected emotion code 0-6, got %q", name, line, rec[ie])
		}
		px, err := parsePixels(rec[ip])
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		row := FER2013Row{Line: line, Label: fer2013Labels[code], Pixels: px}
		if ok3 {
			row.Usage = strings.TrimSpace(rec[iu])
		}
		if err := fn(row); err != nil {
			return err
		}
	}
}

func parsePixels(s string) ([]byte, error) {
	px := make([]byte, 0, 48*48)
	n := 0
	for _, f := range strings.Fields(s) {
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 || v > 255 {
			return nil, fmt.Errorf("expected pixel values 0-255, got %q at position %d", f, n)
		}
		px = append(px, byte(v))
		n++
	}
	if len(px) != 48*48 {
		return nil, fmt.Errorf("expected 2304 pixels (48x48), got %d", len(px))
	}
	return px, nil
}

func usageSplit(u string) string {
	switch strings.ToLower(u) {
	case "training":
		return "train"
	case "publictest":
		return "test"
	case "privatetest":
		return "privatetest"
	}
	return strings.ToLower(u)
}

func (d *Dataset) readFER2013(hint string, opt Options) error {
	name, ok := findFile(d.src, hint, "fer2013.csv")
	if !ok {
		return fmt.Errorf("dataset: %s: no fer2013.csv found", d.src.Root())
	}
	rc, err := d.src.Open(name, opt.maxFileBytes())
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer rc.Close()
	base := path.Base(name)
	return ParseFER2013CSV(rc, name, func(r FER2013Row) error {
		d.Items = append(d.Items, Item{Ref: fmt.Sprintf("%s:%d", base, r.Line), Label: r.Label, Split: usageSplit(r.Usage), pixels: r.Pixels, recOff: -1})
		return nil
	})
}

// ---- FER+ ----

// ferPlusOrder is the vote column order of fer2013new.csv.
var ferPlusOrder = [...]fernb.Label{fernb.Neutral, fernb.Happy, fernb.Surprise, fernb.Sad, fernb.Angry, fernb.Disgust, fernb.Fear, fernb.Contempt}

// FERPlusRow is one parsed row of fer2013new.csv.
type FERPlusRow struct {
	Line  int
	Usage string
	Image string // FER+ image name, "" for rows FER+ removed
	// Votes in fernb label order (8 emotions), then Unknown and NotFace.
	Votes            [fernb.NumLabels]float32
	Unknown, NotFace float32
}

// Majority applies FER+'s majority rule (its reference reader): votes of
// one are treated as noise, and the image gets the emotion holding more
// than half the remaining votes; otherwise (or when unknown / not-a-face
// wins) ok is false. Soft is the cleaned vote distribution.
func (r FERPlusRow) Majority() (label fernb.Label, soft []float32, ok bool) {
	var clean [fernb.NumLabels + 2]float32
	all := append(r.Votes[:], r.Unknown, r.NotFace)
	var sum float32
	for i, v := range all {
		if v > 1 {
			clean[i] = v
			sum += v
		}
	}
	if sum == 0 {
		return fernb.Unlabelled, nil, false
	}
	best := 0
	for i := range clean {
		if clean[i] > clean[best] {
			best = i
		}
	}
	if best >= fernb.NumLabels || clean[best] <= sum/2 {
		return fernb.Unlabelled, nil, false
	}
	var emo float32
	for i := 0; i < fernb.NumLabels; i++ {
		emo += clean[i]
	}
	soft = make([]float32, fernb.NumLabels)
	for i := range soft {
		soft[i] = clean[i] / emo
	}
	return fernb.Label(best), soft, true
}

// ParseFERPlusCSV reads fer2013new.csv (Usage,Image name,neutral,
// happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF).
func ParseFERPlusCSV(r io.Reader, name string, fn func(FERPlusRow) error) error {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s:1: expected header Usage,Image name,neutral,...,NF: %w", name, err)
	}
	if len(head) != 12 || !strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(head[0], "\ufeff")), "usage") {
		return fmt.Errorf("%s:1: expected 12 columns Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF; got %q", name, strings.Join(head, ","))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 12 {
			return fmt.Errorf("%s:%d: expected 12 fields, got %d", name, line, len(rec))
		}
		row := FERPlusRow{Line: line, Usage: strings.TrimSpace(rec[0]), Image: strings.TrimSpace(rec[1])}
		for i := 0; i < 10; i++ {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[2+i]), 32)
			if err != nil || v < 0 || v != v {
				return fmt.Errorf("%s:%d: expected a vote count in column %q, got %q", name, line, head[2+i], rec[2+i])
			}
			switch {
			case i < 8:
				row.Votes[ferPlusOrder[i]] = float32(v)
			case i == 8:
				row.Unknown = float32(v)
			default:
				row.NotFace = float32(v)
			}
		}
		if err := fn(row); err != nil {
			return err
		}
	}
}

func (d *Dataset) readFERPlus(hint string, opt Options) error {
	newName, ok := findFile(d.src, "", "fer2013new.csv")
	if !ok {
		return fmt.Errorf("dataset: %s: no fer2013new.csv (FER+ labels) found", d.src.Root())
	}
	if err := d.readFER2013(hint, opt); err != nil {
		return err
	}
	base := d.Items
	d.Items = nil
	rc, err := d.src.Open(newName, opt.maxFileBytes())
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer rc.Close()
	i := 0
	err = ParseFERPlusCSV(rc, newName, func(r FERPlusRow) error {
		if i >= len(base) {
			return fmt.Errorf("%s:%d: more rows than fer2013.csv (%d)", newName, r.Line, len(base))
		}
		it := base[i]
		i++
		if r.Image == "" {
			d.Report.addDropped("ferplus: removed by FER+ (no image name)", 1)
			return nil
		}
		l, soft, ok := r.Majority()
		if !ok {
			d.Report.addDropped("ferplus: no majority emotion (unknown, not a face or split vote)", 1)
			return nil
		}
		it.Label, it.Soft = l, soft
		if r.Usage != "" {
			it.Split = usageSplit(r.Usage)
		}
		d.Items = append(d.Items, it)
		return nil
	})
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if i != len(base) {
		return fmt.Errorf("dataset: %s has %d rows but fer2013.csv has %d: they are joined row by row", newName, i, len(base))
	}
	return nil
}

// ---- RAF-DB ----

var rafLabels = [...]fernb.Label{fernb.Surprise, fernb.Fear, fernb.Disgust, fernb.Happy, fernb.Sad, fernb.Angry, fernb.Neutral}

// RAFEntry is one line of RAF-DB's list_patition_label.txt.
type RAFEntry struct {
	Line  int
	Image string // e.g. train_00001.jpg
	Label fernb.Label
}

// ParseRAFList reads list_patition_label.txt ("train_00001.jpg 5", labels
// 1 Surprise .. 7 Neutral).
func ParseRAFList(data []byte, name string) ([]RAFEntry, error) {
	var out []RAFEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: expected \"<image> <label 1-7>\", got %q", name, line, sc.Text())
		}
		code, err := strconv.Atoi(f[1])
		if err != nil || code < 1 || code > 7 {
			return nil, fmt.Errorf("%s:%d: expected label 1-7 (1 Surprise, 2 Fear, 3 Disgust, 4 Happiness, 5 Sadness, 6 Anger, 7 Neutral), got %q", name, line, f[1])
		}
		if !IsImageName(f[0]) || strings.ContainsAny(f[0], "/\\") {
			return nil, fmt.Errorf("%s:%d: expected an image file name, got %q", name, line, f[0])
		}
		out = append(out, RAFEntry{Line: line, Image: f[0], Label: rafLabels[code-1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return out, nil
}

func (d *Dataset) readRAF(opt Options) error {
	var list string
	for _, f := range d.src.Files() {
		if strings.HasSuffix(strings.ToLower(f.Name), "emolabel/list_patition_label.txt") && (list == "" || len(f.Name) < len(list)) {
			list = f.Name
		}
	}
	if list == "" {
		return fmt.Errorf("dataset: %s: no EmoLabel/list_patition_label.txt found", d.src.Root())
	}
	root := path.Dir(path.Dir(list))
	if root == "." {
		root = ""
	} else {
		root += "/"
	}
	data, err := readAll(d.src, list, opt.maxFileBytes())
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	entries, err := ParseRAFList(data, list)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	have := map[string]bool{}
	for _, f := range d.src.Files() {
		have[f.Name] = true
	}
	kind := opt.RAFImages
	if kind == "" {
		kind = "aligned"
	}
	for _, e := range entries {
		stem := strings.TrimSuffix(e.Image, path.Ext(e.Image))
		var ref string
		switch kind {
		case "aligned":
			ref = root + "Image/aligned/" + stem + "_aligned.jpg"
		case "original":
			ref = root + "Image/original/" + e.Image
		default:
			return fmt.Errorf("dataset: RAF-DB images %q: expected aligned or original", kind)
		}
		if !have[ref] {
			d.Report.addMissing(ref)
			continue
		}
		split := ""
		if i := strings.Index(e.Image, "_"); i > 0 {
			split = normSplit(e.Image[:i])
		}
		d.Items = append(d.Items, Item{Ref: ref, Label: e.Label, Split: split, recOff: -1})
	}
	if len(d.Items) == 0 {
		return fmt.Errorf("dataset: RAF-DB %s: none of the %d listed images found under %sImage/%s/", d.src.Root(), len(entries), root, kind)
	}
	return nil
}

// ---- CK+ ----

// ckLabels maps CK+ emotion codes (0 neutral .. 7 surprise) to fernb labels.
var ckLabels = [...]fernb.Label{fernb.Neutral, fernb.Angry, fernb.Contempt, fernb.Disgust, fernb.Fear, fernb.Happy, fernb.Sad, fernb.Surprise}

var ckEmotionRE = regexp.MustCompile(`^(S\d+)_(\d+)_(\d+)_emotion\.txt$`)

// CKName is a parsed CK+ file name: S005_001_00000011.png.
type CKName struct {
	Subject, Sequence string
	Frame             int
}

// ParseCKFrameName parses a CK+ frame or emotion file name.
func ParseCKFrameName(base string) (CKName, bool) {
	m := ckNameRE.FindStringSubmatch(base)
	if m == nil {
		m = ckEmotionRE.FindStringSubmatch(base)
	}
	if m == nil {
		return CKName{}, false
	}
	fr, err := strconv.Atoi(m[3])
	if err != nil {
		return CKName{}, false
	}
	return CKName{Subject: m[1], Sequence: m[2], Frame: fr}, true
}

// ParseCKEmotion reads an Emotion/*_emotion.txt file: one number, the CK+
// code 0-7 written as a float ("   3.0000000e+00").
func ParseCKEmotion(data []byte, name string) (fernb.Label, error) {
	f := strings.Fields(string(data))
	if len(f) != 1 {
		return fernb.Unlabelled, fmt.Errorf("%s:1: expected one emotion code 0-7, got %q", name, truncate(string(data), 60))
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v != float64(int(v)) || v < 0 || v > 7 {
		return fernb.Unlabelled, fmt.Errorf("%s:1: expected an emotion code 0-7 (0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise), got %q", name, f[0])
	}
	return ckLabels[int(v)], nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func (d *Dataset) readCK(opt Options) error {
	type seqKey struct{ s, q string }
	type frame struct {
		n    int
		name string
	}
	frames := map[seqKey][]frame{}
	emotions := map[seqKey]string{}
	for _, f := range d.src.Files() {
		base := path.Base(f.Name)
		if m := ckEmotionRE.FindStringSubmatch(base); m != nil {
			k := seqKey{m[1], m[2]}
			if prev, dup := emotions[k]; dup {
				return fmt.Errorf("dataset: CK+ %s: two emotion files for %s_%s: %s and %s", d.src.Root(), m[1], m[2], prev, f.Name)
			}
			emotions[k] = f.Name
			continue
		}
		if n, ok := ParseCKFrameName(base); ok && IsImageName(base) {
			k := seqKey{n.Subject, n.Sequence}
			frames[k] = append(frames[k], frame{n.Frame, f.Name})
		}
	}
	if len(emotions) == 0 {
		return fmt.Errorf("dataset: CK+ %s: no Emotion/Sxxx/yyy/*_emotion.txt files found", d.src.Root())
	}
	keys := make([]seqKey, 0, len(emotions))
	for k := range emotions {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].s != keys[j].s {
			return keys[i].s < keys[j].s
		}
		return keys[i].q < keys[j].q
	})
	for _, k := range keys {
		data, err := readAll(d.src, emotions[k], 1<<20)
		if err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		label, err := ParseCKEmotion(data, emotions[k])
		if err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		fr := frames[k]
		if len(fr) == 0 {
			d.Report.addMissing(fmt.Sprintf("cohn-kanade-images/%s/%s/ (frames of %s)", k.s, k.q, emotions[k]))
			continue
		}
		sort.Slice(fr, func(i, j int) bool { return fr[i].n < fr[j].n })
		// The paper's protocol: first frame neutral, last three frames
		// with the sequence's label.
		d.Items = append(d.Items, Item{Ref: fr[0].name, Label: fernb.Neutral, Subject: k.s, recOff: -1})
		start := max(1, len(fr)-3)
		if len(fr) < 4 {
			d.Report.addDropped("ckplus: sequence shorter than 4 frames (fewer peak frames used)", 1)
		}
		for _, f := range fr[start:] {
			d.Items = append(d.Items, Item{Ref: f.name, Label: label, Subject: k.s, recOff: -1})
		}
	}
	return nil
}

// ---- JAFFE ----

var jaffeRE = regexp.MustCompile(`^([A-Za-z]{2})\.([A-Za-z]{2})(\d*)\.(\d+)\.(?i:tiff?)$`)

var jaffeCodes = map[string]fernb.Label{"AN": fernb.Angry, "DI": fernb.Disgust, "FE": fernb.Fear, "HA": fernb.Happy, "NE": fernb.Neutral, "SA": fernb.Sad, "SU": fernb.Surprise}

// ParseJAFFEName parses a JAFFE file name such as KA.AN1.39.tiff into the
// subject (KA) and label (AN = angry).
func ParseJAFFEName(base string) (subject string, label fernb.Label, err error) {
	m := jaffeRE.FindStringSubmatch(base)
	if m == nil {
		return "", fernb.Unlabelled, fmt.Errorf("%s: expected a JAFFE name SUBJECT.EXPRn.SERIAL.tiff (e.g. KA.AN1.39.tiff)", base)
	}
	l, ok := jaffeCodes[strings.ToUpper(m[2])]
	if !ok {
		return "", fernb.Unlabelled, fmt.Errorf("%s: unknown JAFFE expression code %q (known: AN, DI, FE, HA, NE, SA, SU)", base, m[2])
	}
	return strings.ToUpper(m[1]), l, nil
}

func (d *Dataset) readJAFFE() error {
	for _, f := range d.src.Files() {
		if !IsImageName(f.Name) {
			continue
		}
		subj, l, err := ParseJAFFEName(path.Base(f.Name))
		if err != nil {
			d.Report.addIgnored(f.Name, err.Error())
			continue
		}
		d.Items = append(d.Items, Item{Ref: f.Name, Label: l, Subject: subj, recOff: -1})
	}
	if len(d.Items) == 0 {
		return fmt.Errorf("dataset: JAFFE %s: no images named like KA.AN1.39.tiff", d.src.Root())
	}
	return nil
}

// ---- MMI frame export ----

// MMIRow is one row of an MMI frame export CSV (file,subject,label[,split]).
type MMIRow struct {
	Line                 int
	File, Subject, Split string
	Label                fernb.Label
}

// ParseMMICSV reads the frame-export CSV described in data/README.md:
// header file,subject,label with an optional split column; label is a
// class name in any spelling fernb.ParseLabel knows.
func ParseMMICSV(r io.Reader, name string) ([]MMIRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s:1: expected header file,subject,label[,split]: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	fi, ok1 := col["file"]
	si, ok2 := col["subject"]
	li, ok3 := col["label"]
	pi, hasSplit := col["split"]
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("%s:1: expected header file,subject,label[,split], got %q", name, strings.Join(head, ","))
	}
	var out []MMIRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(head) {
			return nil, fmt.Errorf("%s:%d: expected %d fields (%s), got %d", name, line, len(head), strings.Join(head, ","), len(rec))
		}
		file := strings.TrimSpace(rec[fi])
		if file == "" || strings.HasPrefix(file, "/") || strings.Contains(file, "..") {
			return nil, fmt.Errorf("%s:%d: expected an image path relative to the CSV, got %q", name, line, file)
		}
		l, err := fernb.ParseLabel(rec[li])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		row := MMIRow{Line: line, File: file, Subject: strings.TrimSpace(rec[si]), Label: l}
		if hasSplit {
			row.Split = normSplit(strings.TrimSpace(rec[pi]))
		}
		out = append(out, row)
	}
}

func (d *Dataset) readMMI(hint string, opt Options) error {
	name, ok := findFile(d.src, hint, "labels.csv", "mmi.csv")
	if !ok {
		for _, f := range d.src.Files() {
			if strings.HasSuffix(strings.ToLower(f.Name), ".csv") {
				if ok {
					return fmt.Errorf("dataset: MMI %s: several CSV files; name one (labels.csv)", d.src.Root())
				}
				name, ok = f.Name, true
			}
		}
	}
	if !ok {
		return fmt.Errorf("dataset: MMI %s: no labels.csv (file,subject,label) found", d.src.Root())
	}
	rc, err := d.src.Open(name, opt.maxFileBytes())
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer rc.Close()
	rows, err := ParseMMICSV(rc, name)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	dir := path.Dir(name)
	have := map[string]bool{}
	for _, f := range d.src.Files() {
		have[f.Name] = true
	}
	for _, r := range rows {
		ref := path.Clean(path.Join(dir, r.File))
		if !have[ref] {
			d.Report.addMissing(ref)
			continue
		}
		d.Items = append(d.Items, Item{Ref: ref, Label: r.Label, Subject: r.Subject, Split: r.Split, recOff: -1})
	}
	if len(d.Items) == 0 && len(rows) > 0 {
		return errors.New("dataset: MMI: none of the files named in " + name + " exist")
	}
	return nil
}
