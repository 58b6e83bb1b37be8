package experiment

import (
	"fmt"
	"strconv"
	"strings"
)

// PaperSetting is the experimental setting of the paper (its Sec. 4.1-4.3):
// what every number of its tables was measured with. fernb's own runs differ
// from it in ways the comparison tables spell out (Differences).
type PaperSetting struct {
	Backbones []string `json:"backbones"`
	// InputSize is the side of the square RGB input, after Alignment.
	InputSize int     `json:"input_size"`
	Alignment string  `json:"alignment"`
	FlipProb  float64 `json:"flip_prob"`
	Optimizer string  `json:"optimizer"`
	Momentum  float64 `json:"momentum"`
	// LR decays by DecayFactor every DecayEvery epochs, over Epochs.
	LR          float64 `json:"lr"`
	DecayFactor float64 `json:"decay_factor"`
	DecayEvery  int     `json:"decay_every"`
	Epochs      int     `json:"epochs"`
	Hardware    string  `json:"hardware"`
	Metric      string  `json:"metric"`
	// Pool is the unlabelled pool; PoolImages its size, VASImages how many
	// of them the selection kept (with RAF-DB 2.0 as the anchor).
	Pool       string `json:"pool"`
	PoolImages int    `json:"pool_images"`
	VASImages  int    `json:"vas_images"`
	// Distillation makes the DAS, DASPerClass images per class.
	Distillation string `json:"distillation"`
	DASPerClass  int    `json:"das_per_class"`
}

// Paper returns the paper's setting.
func Paper() PaperSetting {
	return PaperSetting{
		Backbones: []string{"VGG-F", "ResNet-34"},
		InputSize: 224, Alignment: "MTCNN", FlipProb: 0.5,
		Optimizer: "SGD", Momentum: 0.9, LR: 0.001, DecayFactor: 0.1, DecayEvery: 10, Epochs: 25,
		Hardware:     "PyTorch on four GTX 2080 Ti GPUs",
		Metric:       "mean classification accuracy",
		Pool:         "MS-Celeb-1M (face.evoLVe version: 85,742 identities, MTCNN-aligned, 112x112)",
		PoolImages:   5822653,
		VASImages:    137769,
		Distillation: "dataset distillation (Wang et al. 2018)",
		DASPerClass:  1,
	}
}

// String is the setting in one sentence, for table captions.
func (s PaperSetting) String() string {
	return fmt.Sprintf("%s at %dx%d px RGB aligned by %s, random horizontal flips (p = %g); %s momentum %g, "+
		"lr %g x%g every %d epochs, %d epochs (%s); pool %s, %s images, VAS %s images; DAS: %s, %d image per class",
		strings.Join(s.Backbones, " and "), s.InputSize, s.InputSize, s.Alignment, s.FlipProb, s.Optimizer, s.Momentum,
		s.LR, s.DecayFactor, s.DecayEvery, s.Epochs, s.Hardware, s.Pool, thousands(int64(s.PoolImages)), thousands(int64(s.VASImages)),
		s.Distillation, s.DASPerClass)
}

// PaperRow is one row of one of the paper's tables.
type PaperRow struct {
	// Method is the row's name as the paper prints it.
	Method string `json:"method"`
	// Source is what the model was trained on, Target what it was tested
	// on (the same data set for the inner-dataset tables).
	Source string `json:"source"`
	Target string `json:"target"`
	// Anchor is the labelled set the auxiliary samples were selected with,
	// where the paper names one apart from Source (Table 2).
	Anchor string `json:"anchor,omitempty"`
	// Backbone is "VGG-F" or "ResNet-34"; empty where the paper does not
	// say (most previous works).
	Backbone string `json:"backbone,omitempty"`
	// Ours is true for the paper's own rows, false for previous works.
	Ours bool `json:"ours"`
	// Variant is the arm of fernb's comparison the row measures (baseline,
	// +VAS, +DAS with the DAS distilled from the selected pool samples);
	// empty for previous works and for variants fernb does not run
	// (DAS-RAF: the anchor set itself distilled).
	Variant Variant `json:"variant,omitempty"`
	// Accuracy is in percent; Printed is the number as the paper prints it
	// (its digits: 71.2, 72.00).
	Accuracy float64 `json:"accuracy_percent"`
	Printed  string  `json:"printed"`
}

// Who says whose row it is: "paper" or "previous work (cited by the paper)".
func (r PaperRow) Who() string {
	if r.Ours {
		return "paper"
	}
	return "previous work"
}

// Series names the paper's rows of one model in a comparison (one bar
// colour): the backbone, with the anchor when the table has several.
func (r PaperRow) Series() string {
	s := "paper"
	if r.Backbone != "" {
		s += " " + r.Backbone
	}
	if r.Anchor != "" {
		s += ", anchor " + r.Anchor
	}
	return s
}

// PaperTable is one of the paper's tables: its protocol and every row.
type PaperTable struct {
	Table int    `json:"table"`
	Title string `json:"title"`
	// Protocol says how the table's models were trained and tested (data
	// sets, splits, folds); Setting is the paper's common setting.
	Protocol string `json:"protocol"`
	Setting  string `json:"setting"`
	// Cited is the paper's reference the previous works' numbers come
	// from ("[52]").
	Cited string     `json:"cited,omitempty"`
	Rows  []PaperRow `json:"rows"`
	// Note is a caveat about the transcription, if any.
	Note string `json:"note,omitempty"`
	// Needs are fernb's data-set keys (FindData) a real run of the table
	// needs besides the pool.
	Needs []string `json:"needs"`
}

// Own returns the paper's own rows that measure one of fernb's variants.
func (t PaperTable) Own() []PaperRow {
	var out []PaperRow
	for _, r := range t.Rows {
		if r.Ours && r.Variant != "" {
			out = append(out, r)
		}
	}
	return out
}

// The data sets' names as the paper prints them.
const (
	rafdb   = "RAF-DB 2.0"
	fer2013 = "FER-2013"
	ckplus  = "CK+"
	jaffe   = "JAFFE"
	mmi     = "MMI"
)

// prior builds rows of previous works from (method, printed accuracy)
// pairs.
func prior(source, target string, cells ...string) []PaperRow {
	var out []PaperRow
	for i := 0; i+1 < len(cells); i += 2 {
		out = append(out, PaperRow{Method: cells[i], Source: source, Target: target, Printed: cells[i+1]})
	}
	return out
}

// own is one of the paper's own rows.
func own(method, source, target, backbone string, v Variant, printed string) PaperRow {
	return PaperRow{Method: method, Source: source, Target: target, Backbone: backbone, Ours: true, Variant: v, Printed: printed}
}

// PaperTables returns the paper's Tables 1-7, every row, as printed. These
// are the paper's numbers, measured in the paper's setting (Paper); they are
// shown beside fernb's for context, never as fernb's results.
func PaperTables() []PaperTable {
	set := Paper().String()
	vgg, res := "VGG-F", "ResNet-34"
	const sixA = "6 data sets (MultiPIE, MMI, DISFA, FERA, SFEW, FER2013)"
	const sixB = "6 data sets (CK+, MMI, RaFD, KDEF, BU3DFE, ARFace)"
	const sixC = "6 data sets (MultiPIE, CK+, DISFA, FERA, SFEW, FER2013)"
	crossProtocol := func(target string) string {
		return "cross-dataset: trained on RAF-DB 2.0 (+ DAS), tested on " + target +
			" over the classes both have (following Li & Deng's CNN-Li); DAS-MS1M is the VAS selected from MS-Celeb-1M distilled, " +
			"DAS-RAF RAF-DB 2.0's own training set distilled"
	}
	t2 := append(prior(fer2013, fer2013, "ECNN", "69.96", "DLSVM", "71.2", "Ron et al.", "72.1",
		"PAT-VGG-F-(gender,race)", "72.16", "PAT-ResNet-(gender,race)", "72.00"),
		own("VGG-F (baseline)", fer2013, fer2013, vgg, Baseline, "71.79"),
		own("ResNet-34 (baseline)", fer2013, fer2013, res, Baseline, "70.89"))
	for _, a := range []struct {
		anchor  string
		numbers [4]string
	}{{rafdb, [4]string{"72.59", "70.31", "72.12", "71.23"}}, {fer2013, [4]string{"72.08", "70.98", "73.27", "71.20"}}} {
		for i, m := range []struct {
			v  Variant
			bb string
		}{{VAS, vgg}, {VAS, res}, {DAS, vgg}, {DAS, res}} {
			r := own(strings.TrimPrefix(string(m.v), "+")+" + "+m.bb+" (ours)", fer2013, fer2013, m.bb, m.v, a.numbers[i])
			r.Anchor = a.anchor
			t2 = append(t2, r)
		}
	}
	for i := range t2 {
		if t2[i].Variant == Baseline {
			t2[i].Anchor = fer2013
		}
	}
	das := func(method, target, acc string) PaperRow {
		r := own(method, rafdb, target, vgg, "", acc)
		if method == "DAS-MS1M + VGG-F" {
			r.Variant = DAS
		}
		return r
	}
	tables := []PaperTable{
		{Table: 1, Title: "RAF-DB 2.0 (inner-dataset)", Setting: set, Needs: []string{"rafdb"},
			Protocol: "inner-dataset: RAF-DB 2.0 basic set, 12,271 training and 3,068 test images; the VAS selected with RAF-DB 2.0 as the anchor",
			Cited:    "[52]",
			Rows: append(prior(rafdb, rafdb, "FSN", "81.10", "MRE-CNN", "82.63", "baseDCNN", "82.66", "DLP-CNN", "82.84",
				"Center Loss", "82.86", "PAT-VGG-F-(gender,race)", "83.83", "PAT-ResNet-(gender,race)", "84.19"),
				own("VGG-F (baseline)", rafdb, rafdb, vgg, Baseline, "85.15"),
				own("ResNet-34 (baseline)", rafdb, rafdb, res, Baseline, "84.63"),
				own("VAS + VGG-F (ours)", rafdb, rafdb, vgg, VAS, "85.84"),
				own("VAS + ResNet-34 (ours)", rafdb, rafdb, res, VAS, "85.84"),
				own("DAS + VGG-F (ours)", rafdb, rafdb, vgg, DAS, "86.55"),
				own("DAS + ResNet-34 (ours)", rafdb, rafdb, res, DAS, "85.24"))},
		{Table: 2, Title: "FER-2013 (inner-dataset)", Setting: set, Needs: []string{"fer2013"},
			Protocol: "inner-dataset: FER-2013, 28,709 training, 3,589 validation (PublicTest) and 3,589 test (PrivateTest) images at 48x48; " +
				"the VAS selected with RAF-DB 2.0 or with FER-2013 as the anchor (column anchor)",
			Cited: "[55]",
			Note: "the paper's text gives the previous works' names in this order and the extracted numbers in the same order; " +
				"the pairing of names and numbers is the transcription's reading",
			Rows: t2},
		{Table: 3, Title: "CK+ (10-fold subject-independent)", Setting: set, Needs: []string{"ckplus"},
			Protocol: "inner-dataset: CK+, 327 labelled sequences of 123 subjects; the first frame as neutral and the last three peak frames, " +
				"1,308 images in 10 subject-independent groups for 10-fold cross-validation (following Liu et al. CVPR 2014)",
			Cited: "[35]",
			Rows: append(prior(ckplus, ckplus, "Inception (Mollahosseini)", "93.2", "PAT-VGG-F-(gender,race)", "95.58"),
				own("VGG-F (baseline)", ckplus, ckplus, vgg, Baseline, "93.42"),
				own("DAS + VGG-F (ours)", ckplus, ckplus, vgg, DAS, "95.35"))},
		{Table: 4, Title: "Cross-dataset: tested on CK+", Setting: set, Needs: []string{"rafdb", "ckplus"},
			Protocol: crossProtocol(ckplus),
			Rows: []PaperRow{
				{Method: "Mollahosseini", Source: sixA, Target: ckplus, Printed: "64.2"},
				{Method: "Hasani et al.", Source: "MMI + JAFFE", Target: ckplus, Printed: "73.91"},
				{Method: "Wen", Source: fer2013, Target: ckplus, Printed: "76.05"},
				{Method: "Wang", Source: fer2013, Target: ckplus, Printed: "76.58"},
				{Method: "CNN-Li (VGG-F)", Source: rafdb, Target: ckplus, Backbone: vgg, Printed: "78.00"},
				das("DAS-MS1M + VGG-F", ckplus, "79.33"),
				das("DAS-RAF + VGG-F", ckplus, "79.33"),
				das("DAS-MS1M + DAS-RAF + VGG-F", ckplus, "79.41"),
			}},
		{Table: 5, Title: "Cross-dataset: tested on JAFFE", Setting: set, Needs: []string{"rafdb", "jaffe"},
			Protocol: crossProtocol(jaffe) + "; JAFFE: 213 images of 10 subjects",
			Rows: []PaperRow{
				{Method: "Zavarez", Source: sixB, Target: jaffe, Printed: "44.32"},
				{Method: "Wen", Source: fer2013, Target: jaffe, Printed: "50.70"},
				{Method: "Ali", Source: "RaFD", Target: jaffe, Printed: "48.67"},
				{Method: "CNN-Li", Source: rafdb, Target: jaffe, Printed: "54.26"},
				das("DAS-MS1M + VGG-F", jaffe, "54.93"),
				das("DAS-RAF + VGG-F", jaffe, "57.28"),
				das("DAS-MS1M + DAS-RAF + VGG-F", jaffe, "54.93"),
			}},
		{Table: 6, Title: "Cross-dataset: tested on MMI", Setting: set, Needs: []string{"rafdb", "mmi"},
			Protocol: crossProtocol(mmi) + "; MMI: 326 sequences, 213 with basic labels, onset-apex-offset. " +
				"The paper's own rows here name no backbone; its cross-dataset rows elsewhere use VGG-F",
			Rows: []PaperRow{
				{Method: "Zavarez", Source: sixB, Target: mmi, Printed: "67.03"},
				{Method: "Mollahosseini", Source: sixC, Target: mmi, Printed: "55.6"},
				{Method: "Wang", Source: fer2013, Target: mmi, Printed: "61.86"},
				{Method: "CNN-Li", Source: rafdb, Target: mmi, Printed: "64.13"},
				own("VGG-F (baseline)", rafdb, mmi, vgg, Baseline, "60.82"),
				own("DAS-RAF", rafdb, mmi, "", "", "63.7"),
				own("DAS-MS1M", rafdb, mmi, "", DAS, "63.34"),
			}},
		{Table: 7, Title: "Cross-dataset: tested on FER-2013", Setting: set, Needs: []string{"rafdb", "fer2013"},
			Protocol: crossProtocol(fer2013),
			Rows: []PaperRow{
				{Method: "Mollahosseini", Source: sixC, Target: fer2013, Printed: "34.0"},
				{Method: "CNN-Li", Source: rafdb, Target: fer2013, Printed: "55.38"},
				das("DAS-MS1M + VGG-F", fer2013, "55.17"),
				das("DAS-RAF + VGG-F", fer2013, "55.06"),
				das("DAS-MS1M + DAS-RAF + VGG-F", fer2013, "54.72"),
			}},
	}
	for _, t := range tables {
		for i, r := range t.Rows {
			acc, err := strconv.ParseFloat(r.Printed, 64)
			if err != nil {
				panic(fmt.Sprintf("experiment: the paper's Table %d row %q: %v", t.Table, r.Method, err))
			}
			t.Rows[i].Accuracy = acc
		}
	}
	return tables
}

// PaperTableN returns the paper's table n (1-7).
func PaperTableN(n int) (PaperTable, error) {
	for _, t := range PaperTables() {
		if t.Table == n {
			return t, nil
		}
	}
	return PaperTable{}, fmt.Errorf("experiment: the paper has tables 1-7, not %d", n)
}

// Cells is the paper's table as printed, with what each row is:
// who made it, what it trained and tested on, its backbone.
func (t PaperTable) Cells() (header []string, rows [][]string) {
	header = []string{"method", "by", "trained on", "tested on", "backbone", "accuracy (%)"}
	if t.Table == 2 {
		header = []string{"method", "by", "anchor", "trained on", "tested on", "backbone", "accuracy (%)"}
	}
	for _, r := range t.Rows {
		bb := r.Backbone
		if bb == "" {
			bb = "—"
		}
		row := []string{r.Method, r.Who(), r.Source, r.Target, bb, r.Printed}
		if t.Table == 2 {
			row = append([]string{r.Method, r.Who(), r.Anchor}, row[2:]...)
		}
		rows = append(rows, row)
	}
	return header, rows
}

// Caption is the table's title, protocol and setting in one paragraph,
// labelled as the paper's.
func (t PaperTable) Caption() string {
	s := fmt.Sprintf("**The paper's Table %d: %s.** Protocol: %s. Setting of the paper's own rows: %s.", t.Table, t.Title, t.Protocol, t.Setting)
	if t.Cited != "" {
		s += " The paper takes the previous works' numbers from its reference " + t.Cited + "."
	}
	if t.Note != "" {
		s += " Note: " + t.Note + "."
	}
	return s
}

// Markdown formats the paper's whole table for display, always labelled as
// the paper's.
func (t PaperTable) Markdown() string {
	h, rows := t.Cells()
	return t.Caption() + "\n\n" + Markdown(h, rows)
}
