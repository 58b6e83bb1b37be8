package nbrun

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Notebook is the part of the nbformat 4 document this package reads.
type Notebook struct {
	NBFormat int    `json:"nbformat"`
	Cells    []Cell `json:"cells"`
	Metadata struct {
		KernelSpec struct {
			Name        string `json:"name"`
			DisplayName string `json:"display_name"`
			Language    string `json:"language"`
		} `json:"kernelspec"`
	} `json:"metadata"`
}

// Cell is one notebook cell.
type Cell struct {
	CellType       string   `json:"cell_type"`
	Source         Text     `json:"source"`
	Outputs        []Output `json:"outputs"`
	ExecutionCount *int     `json:"execution_count"`
}

// Output is one cell output: a stream, display data, an execute result or
// an error.
type Output struct {
	OutputType string          `json:"output_type"`
	Name       string          `json:"name"` // stream: stdout or stderr
	Text       Text            `json:"text"`
	Data       map[string]Text `json:"data"` // MIME type -> content (base64 for images)
	EName      string          `json:"ename"`
	EValue     string          `json:"evalue"`
	Traceback  []string        `json:"traceback"`
}

// Text is a multi-line string, stored by nbformat as one string or a list of
// lines.
type Text string

// UnmarshalJSON accepts both forms.
func (t *Text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = Text(s)
		return nil
	}
	var lines []string
	if err := json.Unmarshal(b, &lines); err != nil {
		// Some MIME bundles (application/json) hold objects: keep them raw.
		*t = Text(b)
		return nil
	}
	*t = Text(strings.Join(lines, ""))
	return nil
}

// ReadFile parses the notebook at path.
func ReadFile(path string) (*Notebook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notebook: %w", err)
	}
	var nb Notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		return nil, fmt.Errorf("notebook: parsing %s: %w", path, err)
	}
	if nb.NBFormat != 4 {
		return nil, fmt.Errorf("notebook: %s: nbformat %d, want 4", path, nb.NBFormat)
	}
	return &nb, nil
}

// HasOutput reports whether any output of the notebook carries the MIME
// type (e.g. "image/png").
func (nb *Notebook) HasOutput(mime string) bool {
	for _, c := range nb.Cells {
		for _, o := range c.Outputs {
			if _, ok := o.Data[mime]; ok {
				return true
			}
		}
	}
	return false
}

// OutputText joins the text of every stream, text/plain output and error of
// the notebook, as a reader of the executed copy would see it.
func (nb *Notebook) OutputText() string {
	var b strings.Builder
	for _, c := range nb.Cells {
		b.WriteString(c.outputText())
	}
	return b.String()
}

func (c Cell) outputText() string {
	var b strings.Builder
	for _, o := range c.Outputs {
		switch o.OutputType {
		case "stream":
			b.WriteString(string(o.Text))
		case "error":
			if len(o.Traceback) > 0 {
				b.WriteString(strings.Join(o.Traceback, "\n"))
			} else {
				fmt.Fprintf(&b, "%s: %s", o.EName, o.EValue)
			}
			b.WriteString("\n")
		default:
			if t, ok := o.Data["text/plain"]; ok {
				b.WriteString(string(t))
				b.WriteString("\n")
			}
		}
	}
	return stripANSI(b.String())
}

// firstError returns the first cell with an error output, or nil.
func (nb *Notebook) firstError() *CellError {
	var first *CellError
	failed := 0
	for i, c := range nb.Cells {
		for _, o := range c.Outputs {
			if o.OutputType == "error" {
				failed++
				if first == nil {
					first = &CellError{Cell: i, Source: string(c.Source), Text: c.outputText()}
				}
				break
			}
		}
	}
	if first != nil {
		first.Failed = failed
	}
	return first
}

// CheckCommitted reports why a notebook may not be committed as it is: it
// must be nbformat 4, declare the gonb-fernb kernel (so nbconvert and Jupyter
// pick the repo's kernel), and carry no outputs or execution counts, so no
// image from a real data set ever lands in the repository.
func CheckCommitted(path string) error {
	nb, err := ReadFile(path)
	if err != nil {
		return err
	}
	if nb.Metadata.KernelSpec.Name != KernelName {
		return fmt.Errorf("notebook: %s: kernelspec name %q, want %q", path, nb.Metadata.KernelSpec.Name, KernelName)
	}
	code := 0
	for i, c := range nb.Cells {
		if len(c.Outputs) > 0 {
			return fmt.Errorf("notebook: %s: cell %d has %d outputs; clear outputs before committing (jupyter nbconvert --clear-output --inplace %s)", path, i, len(c.Outputs), path)
		}
		if c.ExecutionCount != nil {
			return fmt.Errorf("notebook: %s: cell %d has an execution count; clear outputs before committing", path, i)
		}
		if c.CellType == "code" {
			code++
		}
	}
	if code == 0 {
		return fmt.Errorf("notebook: %s: no code cells", path)
	}
	return nil
}
