package synth

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"github.com/fernb/fernb/fernb"
)

// ContactSheet renders perClass faces of every basic expression under cfg,
// one row per class (angry..neutral, top to bottom), for looking at what the
// generator draws. For the Pool domain (whose faces carry no Label) rows are
// grouped by TrueLabel, with a last row of faces of no clear expression.
// It scans indices from 0 until every row is full.
func ContactSheet(cfg Config, perClass int) (*image.RGBA, error) {
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if perClass <= 0 {
		return nil, fmt.Errorf("synth: contact sheet needs perClass > 0, got %d", perClass)
	}
	rows := fernb.NumBasic
	if g.cfg.Domain == Pool && g.cfg.UnclearFraction > 0 {
		rows++
	}
	s, pad := g.cfg.Size, 2
	sheet := image.NewRGBA(image.Rect(0, 0, perClass*(s+pad)+pad, rows*(s+pad)+pad))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.RGBA{40, 40, 40, 255}), image.Point{}, draw.Src)
	filled := make([]int, rows)
	left := rows * perClass
	for i := 0; left > 0; i++ {
		if i > 1000*rows*perClass {
			return nil, fmt.Errorf("synth: contact sheet could not fill every row")
		}
		f := g.Face(i)
		row := int(f.TrueLabel)
		if f.TrueLabel == fernb.Unlabelled {
			row = fernb.NumBasic
		}
		if filled[row] >= perClass {
			continue
		}
		x, y := pad+filled[row]*(s+pad), pad+row*(s+pad)
		draw.Draw(sheet, image.Rect(x, y, x+s, y+s), f.Img, image.Point{}, draw.Src)
		filled[row]++
		left--
	}
	return sheet, nil
}
