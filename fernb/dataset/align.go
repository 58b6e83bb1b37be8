package dataset

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// AlignCounts is what ExportAligned did: how many images it read, in how
// many it found a face (and of those, how many had several), how many had
// none (and were skipped or kept as centre crops), and how many others
// could not be read at all.
type AlignCounts struct {
	Images        int    `json:"images"`
	Found         int    `json:"found"`
	Several       int    `json:"several"`
	NoFace        int    `json:"no_face_skipped"`
	CentreCropped int    `json:"no_face_centre_cropped"`
	Unreadable    int    `json:"unreadable"`
	Written       int    `json:"written"`
	Out           string `json:"out"`
}

// alignReportName is the report ExportAligned leaves next to the crops.
const alignReportName = "align-report.txt"

// ExportAligned cuts the face out of every item with pre (whose Align must
// be set; Mean and Std are ignored so that the files hold plain pixels)
// and writes each as a PNG under dir, at the item's Ref with the extension
// replaced, so that a folder data set comes out as one (labels in its
// directory names) and every crop can be traced to its source. The load
// report, which lists the images without a face, is written to
// dir/align-report.txt. Items are decoded a chunk at a time, so memory does
// not grow with the data set.
func (d *Dataset) ExportAligned(ctx context.Context, items []Item, pre Preprocess, dir string) (AlignCounts, error) {
	if pre.Align == nil {
		return AlignCounts{}, errors.New("dataset: ExportAligned needs Preprocess.Align")
	}
	pre.Mean, pre.Std = nil, nil
	n := AlignCounts{Images: len(items), Out: dir}
	const chunk = 1024
	for lo := 0; lo < len(items); lo += chunk {
		t, err := d.Load(ctx, items[lo:min(lo+chunk, len(items))], pre)
		if err != nil {
			return n, err
		}
		for i := range t.N {
			name := filepath.Join(dir, filepath.FromSlash(exportName(t.Refs[i])))
			if err := writePNG(name, t, i); err != nil {
				return n, err
			}
			n.Written++
		}
	}
	r := d.Report
	r.mu.Lock()
	n.Found, n.Several, n.NoFace, n.CentreCropped = r.Aligned, len(r.SeveralFaces), len(r.NoFace), len(r.CentreCropped)
	n.Unreadable = len(r.Corrupt) + len(r.TooLarge) + len(r.Missing)
	r.mu.Unlock()
	report := r.AlignSummary() + r.String()
	if err := os.WriteFile(filepath.Join(dir, alignReportName), []byte(report), 0o644); err != nil {
		return n, fmt.Errorf("dataset: %w", err)
	}
	return n, nil
}

// exportName turns a Ref into a relative PNG path: CSV lines and RecordIO
// keys ("fer2013.csv:12", "train.rec#7") become file names.
func exportName(ref string) string {
	ref = strings.NewReplacer(":", "_", "#", "_").Replace(ref)
	return strings.TrimSuffix(ref, path.Ext(ref)) + ".png"
}

// writePNG writes image i of t (values in [0,1]) as 8-bit grey or RGB.
func writePNG(name string, t *Tensors, i int) error {
	px := t.Image(i)
	v8 := func(v float32) uint8 { return uint8(min(max(v*255+0.5, 0), 255)) }
	var img image.Image
	if t.C == 1 {
		g := image.NewGray(image.Rect(0, 0, t.W, t.H))
		for j, v := range px {
			g.Pix[j] = v8(v)
		}
		img = g
	} else {
		c := image.NewNRGBA(image.Rect(0, 0, t.W, t.H))
		for j := range t.H * t.W {
			c.SetNRGBA(j%t.W, j/t.W, color.NRGBA{v8(px[3*j]), v8(px[3*j+1]), v8(px[3*j+2]), 255})
		}
		img = c
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("dataset: writing %s: %w", name, err)
	}
	return f.Close()
}
