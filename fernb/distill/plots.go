package distill

import (
	"fmt"
	"image"
	"math"

	"github.com/fernb/fernb/fernb/plot"
)

// fernbImage is one distilled image ready to draw, with its class name.
type fernbImage struct {
	img   image.Image
	label string
}

// LossCurve draws the distillation loss per outer iteration: for DD the
// real-data loss after the unrolled steps and, dashed, before them (at θ0);
// for DM the matching loss.
func LossCurve(h []IterStats, title string) (*plot.Figure, error) {
	if len(h) == 0 {
		return nil, fmt.Errorf("distill: empty history")
	}
	x := make([]float64, len(h))
	after := make([]float64, len(h))
	before := make([]float64, len(h))
	hasBefore := false
	for i, s := range h {
		x[i], after[i], before[i] = float64(s.Iteration), s.Loss, s.Before
		if s.Skipped {
			after[i], before[i] = math.NaN(), math.NaN()
		}
		hasBefore = hasBefore || s.Before != 0
	}
	p := plot.Panel{Title: title, XLabel: "outer iteration", YLabel: "loss"}
	if hasBefore {
		if p.Title == "" {
			p.Title = "DD: real-data loss of a fresh network"
		}
		p.Series = []plot.Series{
			{Name: "after T steps on the distilled images", X: x, Y: after},
			{Name: "at initialisation", X: x, Y: before, Dashed: true},
		}
	} else {
		if p.Title == "" {
			p.Title = "DM: distribution matching loss"
		}
		p.Series = []plot.Series{{Name: "matching loss", X: x, Y: after}}
	}
	// Every outer iteration draws another network (and real batch), so the
	// raw curve is noisy; a running mean shows the trend.
	if w := len(h) / 10; w >= 2 {
		p.Series[0].Dashed = true
		p.Series[0].Name += " (per iteration)"
		p.Series = append(p.Series, plot.Series{Name: fmt.Sprintf("running mean of %d", w), X: x, Y: runningMean(after, w)})
	}
	return plot.Lines(p)
}

// runningMean is the mean of the last w finite values at each point.
func runningMean(y []float64, w int) []float64 {
	out := make([]float64, len(y))
	for i := range y {
		s, n := 0.0, 0
		for j := max(0, i-w+1); j <= i; j++ {
			if !math.IsNaN(y[j]) {
				s += y[j]
				n++
			}
		}
		out[i] = math.NaN()
		if n > 0 {
			out[i] = s / float64(n)
		}
	}
	return out
}
