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
// pipeline). Up to exactDims dimensions it eigen-decomposes the d x d
// covariance (gonum), which is exact; for wider features (VGG-style 4096)
// that costs N*D^2 and an eigen-solve of D^2, so it runs a deterministic
// subspace iteration on the covariance instead, which only ever multiplies
// x by d x (k+10) blocks and converges to the leading components.
func FitPCA(x []float32, n, d, k int) (*PCA, error) {
	if d <= exactDims {
		return fitPCA(x, n, d, k, false)
	}
	return fitPCA(x, n, d, k, true)
}

// exactDims is the widest feature FitPCA decomposes exactly.
const exactDims = 768

func fitPCA(x []float32, n, d, k int, iterative bool) (*PCA, error) {
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
	var sumSq float64
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
	for i := range n {
		for j := range d {
			v := float64(x[i*d+j]) - mean[j]
			sumSq += v * v
		}
	}
	p := &PCA{Mean: mean, TotalVariance: sumSq / float64(n-1)}
	var vecs [][]float64
	var vals []float64
	if iterative {
		vecs, vals = subspacePCA(x, n, d, k, mean)
	} else {
		var err error
		if vecs, vals, err = exactPCA(x, n, d, k, mean); err != nil {
			return nil, err
		}
	}
	for c := range k {
		v := vecs[c]
		best := 0
		for j := range d {
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
		p.Variance = append(p.Variance, math.Max(vals[c], 0))
	}
	return p, nil
}

// exactPCA returns the top k eigenvectors and eigenvalues of the
// covariance, largest first.
func exactPCA(x []float32, n, d, k int, mean []float64) ([][]float64, []float64, error) {
	centred := mat.NewDense(n, d, nil)
	raw := centred.RawMatrix()
	for i := range n {
		row := raw.Data[i*raw.Stride : i*raw.Stride+d]
		for j := range d {
			row[j] = float64(x[i*d+j]) - mean[j]
		}
	}
	cov := mat.NewSymDense(d, nil)
	cov.SymOuterK(1/float64(n-1), centred.T())
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, nil, fmt.Errorf("plot.FitPCA: eigen-decomposition of the %dx%d covariance failed", d, d)
	}
	all := eig.Values(nil) // ascending
	var ev mat.Dense
	eig.VectorsTo(&ev)
	vecs := make([][]float64, k)
	vals := make([]float64, k)
	for c := range k {
		col := d - 1 - c
		vecs[c] = mat.Col(nil, col, &ev)
		vals[c] = all[col]
	}
	return vecs, vals, nil
}

// subspacePCA finds the top k eigenpairs of the covariance of x by block
// power iteration with a Rayleigh-Ritz step, starting from a fixed
// pseudo-random block (so the result is deterministic). It stops when the
// leading k Ritz values settle (relative change < 1e-12) or after 200
// iterations.
func subspacePCA(x []float32, n, d, k int, mean []float64) ([][]float64, []float64) {
	l := min(d, k+10)
	// V: d x l, deterministic start (a simple LCG, no global state).
	v := mat.NewDense(d, l, nil)
	state := uint64(0x9E3779B97F4A7C15)
	for i := range d {
		for j := range l {
			state = state*6364136223846793005 + 1442695040888963407
			v.Set(i, j, float64(int64(state>>11))/float64(1<<52)-1)
		}
	}
	orthonormalise(v)
	y := mat.NewDense(n, l, nil)
	w := mat.NewDense(d, l, nil)
	var prev []float64
	var vals []float64
	var vecs *mat.Dense
	for it := 0; it < 200; it++ {
		centredTimes(x, n, d, mean, v, y)      // y = Xc V
		centredTransTimes(x, n, d, mean, y, w) // w = Xc^T y
		// Rayleigh-Ritz: T = V^T C V = (Xc V)^T (Xc V) / (n-1).
		var t mat.SymDense
		t.SymOuterK(1/float64(n-1), y.T())
		var eig mat.EigenSym
		eig.Factorize(&t, true)
		all := eig.Values(nil)
		var ev mat.Dense
		eig.VectorsTo(&ev)
		vals = make([]float64, l)
		order := make([]int, l)
		for c := range l {
			order[c] = l - 1 - c
			vals[c] = all[l-1-c]
		}
		var rot mat.Dense
		rot.Mul(v, &ev)
		vecs = mat.NewDense(d, l, nil)
		for c, col := range order {
			for i := range d {
				vecs.Set(i, c, rot.At(i, col))
			}
		}
		if prev != nil {
			settled := true
			for c := range k {
				if math.Abs(vals[c]-prev[c]) > 1e-12*math.Max(math.Abs(vals[0]), 1e-300) {
					settled = false
				}
			}
			if settled {
				break
			}
		}
		prev = vals
		v.Copy(w)
		orthonormalise(v)
	}
	out := make([][]float64, k)
	for c := range k {
		out[c] = mat.Col(nil, c, vecs)
	}
	return out, vals[:k]
}

// orthonormalise replaces the columns of a by an orthonormal basis of
// their span (modified Gram-Schmidt, twice for stability).
func orthonormalise(a *mat.Dense) {
	r, c := a.Dims()
	col := make([]float64, r)
	for pass := 0; pass < 2; pass++ {
		for j := range c {
			mat.Col(col, j, a)
			for q := 0; q < j; q++ {
				var dot float64
				for i := range r {
					dot += col[i] * a.At(i, q)
				}
				for i := range r {
					col[i] -= dot * a.At(i, q)
				}
			}
			var norm float64
			for _, v := range col {
				norm += v * v
			}
			norm = math.Sqrt(norm)
			if norm == 0 {
				norm = 1
			}
			for i := range r {
				a.Set(i, j, col[i]/norm)
			}
		}
	}
}

// centredTimes sets y = (X - 1 mean^T) v for X given as float32 rows.
func centredTimes(x []float32, n, d int, mean []float64, v, y *mat.Dense) {
	_, l := v.Dims()
	vr := v.RawMatrix()
	yr := y.RawMatrix()
	for i := range n {
		out := yr.Data[i*yr.Stride : i*yr.Stride+l]
		clear(out)
		for j := range d {
			xv := float64(x[i*d+j]) - mean[j]
			if xv == 0 {
				continue
			}
			vrow := vr.Data[j*vr.Stride : j*vr.Stride+l]
			for c := range l {
				out[c] += xv * vrow[c]
			}
		}
	}
}

// centredTransTimes sets w = (X - 1 mean^T)^T y.
func centredTransTimes(x []float32, n, d int, mean []float64, y, w *mat.Dense) {
	_, l := y.Dims()
	yr := y.RawMatrix()
	wr := w.RawMatrix()
	clear(wr.Data)
	for i := range n {
		yrow := yr.Data[i*yr.Stride : i*yr.Stride+l]
		for j := range d {
			xv := float64(x[i*d+j]) - mean[j]
			if xv == 0 {
				continue
			}
			wrow := wr.Data[j*wr.Stride : j*wr.Stride+l]
			for c := range l {
				wrow[c] += xv * yrow[c]
			}
		}
	}
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
