package experiment

import "fmt"

// PaperRow is one number printed in the paper.
type PaperRow struct {
	Model    string  `json:"model"`
	Variant  Variant `json:"variant"`
	Test     string  `json:"test"`
	Accuracy float64 `json:"accuracy_percent"`
}

// PaperTable is what the paper reports for one of its tables, with the
// setting it was measured in. Rows holds only numbers that were transcribed
// with certainty; a table whose numbers are not recorded here has no rows and
// says so in Note, rather than showing a number that might be wrong.
type PaperTable struct {
	Table   int        `json:"table"`
	Title   string     `json:"title"`
	Setting string     `json:"setting"`
	Rows    []PaperRow `json:"rows"`
	Note    string     `json:"note,omitempty"`
}

// paperSetting is the training setting common to every table of the paper.
const paperSetting = "paper's setting: VGG-Face (VGG-F) and ResNet-34 initialised from face-recognition weights, " +
	"224 px inputs, SGD momentum 0.9, lr 0.001 x0.1 every 10 epochs, 25 epochs, horizontal flips, GPUs; " +
	"auxiliary samples selected from MS-Celeb-1M by the cosine margin (VAS) and distilled to one image per class (DAS)"

const notTranscribed = "the paper's numbers for this table are not recorded in fernb (they were not " +
	"transcribed with certainty); see the paper"

// PaperTables returns the paper's Tables 1-7 as data: their titles, settings
// and the numbers fernb records. These are the paper's numbers, measured in
// the paper's setting; they are shown beside fernb's for context, never as
// fernb's results.
func PaperTables() []PaperTable {
	return []PaperTable{
		{Table: 1, Title: "RAF-DB (inner-dataset)", Setting: "anchor and test: RAF-DB basic (7 classes), official train/test split; " + paperSetting, Note: notTranscribed},
		{Table: 2, Title: "FER-2013 (inner-dataset)", Setting: "anchor: FER-2013 train; test: FER-2013 test; " + paperSetting,
			Rows: []PaperRow{
				{Model: "VGG-F", Variant: Baseline, Test: "FER-2013", Accuracy: 71.79},
				{Model: "VGG-F", Variant: VAS, Test: "FER-2013", Accuracy: 72.08},
				{Model: "VGG-F", Variant: DAS, Test: "FER-2013", Accuracy: 73.27},
			}},
		{Table: 3, Title: "CK+ (10-fold subject-independent)", Setting: "CK+ peak frames, 10 subject-independent folds; " + paperSetting, Note: notTranscribed},
		{Table: 4, Title: "Cross-dataset: test on CK+", Setting: "cross-dataset: trained on another data set (+ auxiliary samples), tested on CK+ over the shared classes; " + paperSetting, Note: notTranscribed},
		{Table: 5, Title: "Cross-dataset: test on JAFFE", Setting: "cross-dataset: trained on another data set (+ auxiliary samples), tested on JAFFE over the shared classes; " + paperSetting, Note: notTranscribed},
		{Table: 6, Title: "Cross-dataset: test on MMI", Setting: "cross-dataset: trained on another data set (+ auxiliary samples), tested on MMI over the shared classes; " + paperSetting, Note: notTranscribed},
		{Table: 7, Title: "Cross-dataset: test on FER-2013", Setting: "cross-dataset: trained on another data set (+ auxiliary samples), tested on FER-2013 over the shared classes; " + paperSetting, Note: notTranscribed},
	}
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

// Markdown formats the paper's table for display: its rows, or its note
// when fernb records no numbers for it, always labelled as the paper's.
func (t PaperTable) Markdown() string {
	s := fmt.Sprintf("**The paper's Table %d: %s** (%s)\n\n", t.Table, t.Title, t.Setting)
	if len(t.Rows) == 0 {
		return s + "_" + t.Note + "._\n"
	}
	rows := make([][]string, len(t.Rows))
	for i, r := range t.Rows {
		rows[i] = []string{r.Model, string(r.Variant), r.Test, fmt.Sprintf("%.2f", r.Accuracy)}
	}
	return s + Markdown([]string{"model", "variant", "test", "accuracy (%, paper)"}, rows)
}
