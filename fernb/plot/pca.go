package plot

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// PCA is a principal component projection fitted on one set of feature
// vectors, so that other vectors (centroids, pool features) can be
// projected into the same 2-D view as the labelled features.
type PCA struct {
	// Mean is the mean of the fitted vectors (length D).
	Mean []float64
	// Components are the K unit principal directions, largest variance
	// first. Each is sign-normalised so its entry of largest magnitude is
	// positive, which makes the projection deterministic.
	Components [][]float64
	// Variance[i] is the variance of the fitted vectors along Components[i]
	// (sample variance, divided by N-1).
	Variance []float64
	// TotalVariance is the sum of the variances along all D directions.
	TotalVariance float64
}

// FitPCA fits k principal components to x, n row-major vectors of
// dimension d (a [N,D] feature matrix as float32, as extracted by the
// pipeline). It computes the d x d covariance and its eigenvectors
// (gonum's symmetric eigensolver), which is cheap for feature sizes up to
// a few thousand.
func FitPCA(x []float32, n, d, k int) (*PCA, error) {
	if n < 2 || d < 1 {
		return nil, fmt.Errorf("plot.FitPCA: need at least 2 vectors of dimension >= 1, got [%d,%d]", n, d)
	}
	if len(x) != n*d {
		return nil, fmt.Errorf("plot.FitPCA: %d values for [%d,%d]", len(x), n, d)
	}
	if k < 1 || k > d {
		return nil, fmt.Errorf("plot.FitPCA: k=%d components, want 1..%d", k, d)
	}
	mean := make([]float64, d)
	for i := range n {
		for j := range d {
			v := float64(x[i*d+j])
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("plot.FitPCA: vector %d, dimension %d is %v", i, j, v)
			}
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	centred := mat.NewDense(n, d, nil)
	for i := range n {
		for j := range d {
			centred.Set(i, j, float64(x[i*d+j])-mean[j])
		}
	}
	cov := mat.NewSymDense(d, nil)
	cov.SymOuterK(1/float64(n-1), centred.T())
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, fmt.Errorf("plot.FitPCA: eigen-decomposition of the %dx%d covariance failed", d, d)
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	p := &PCA{Mean: mean}
	for _, v := range vals {
		p.TotalVariance += math.Max(v, 0)
	}
	for c := range k {
		col := d - 1 - c
		v := make([]float64, d)
		best := 0
		for j := range d {
			v[j] = vecs.At(j, col)
			// Largest magnitude, first one on (near) ties.
			if math.Abs(v[j]) > math.Abs(v[best])+1e-9 {
				best = j
			}
		}
		if v[best] < 0 {
			for j := range v {
				v[j] = -v[j]
			}
		}
		p.Components = append(p.Components, v)
		p.Variance = append(p.Variance, math.Max(vals[col], 0))
	}
	return p, nil
}

// Transform projects n vectors of dimension len(p.Mean) onto the
// components: out[i][c] is vector i's coordinate along component c.
func (p *PCA) Transform(x []float32, n int) ([][]float64, error) {
	d := len(p.Mean)
	if len(x) != n*d {
		return nil, fmt.Errorf("plot.PCA.Transform: %d values for %d vectors of dimension %d", len(x), n, d)
	}
	out := make([][]float64, n)
	for i := range n {
		row := make([]float64, len(p.Components))
		for c, comp := range p.Components {
			var s float64
			for j := range d {
				s += (float64(x[i*d+j]) - p.Mean[j]) * comp[j]
			}
			row[c] = s
		}
		out[i] = row
	}
	return out, nil
}

// Project2D is Transform onto the first two components, in the form
// ScatterSpec takes. The PCA must have at least two components.
func (p *PCA) Project2D(x []float32, n int) ([][2]float64, error) {
	if len(p.Components) < 2 {
		return nil, fmt.Errorf("plot.PCA.Project2D: PCA has %d components, need 2", len(p.Components))
	}
	t, err := p.Transform(x, n)
	if err != nil {
		return nil, err
	}
	out := make([][2]float64, n)
	for i, r := range t {
		out[i] = [2]float64{r[0], r[1]}
	}
	return out, nil
}

// ExplainedRatio returns the fraction of the total variance each component
// explains; axis labels such as "PC1 (41%)" read better with it.
func (p *PCA) ExplainedRatio() []float64 {
	out := make([]float64, len(p.Variance))
	for i, v := range p.Variance {
		if p.TotalVariance > 0 {
			out[i] = v / p.TotalVariance
		}
	}
	return out
}
