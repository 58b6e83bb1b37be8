package synth

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fernb/fernb/fernb"
)

// The learnability checks train small, plain-Go learners on lab faces and
// test them on held-out identities in the lab and wild domains. They stand
// in for the CNN (which lives elsewhere) to check two properties the
// omni-supervised pipeline needs from this data: the task is learnable, and
// there is a domain gap from lab to wild.

// features turns a 48x48 gray face into a descriptor: HOG-like histograms of
// gradient orientation (8 bins) over a 6x6 grid of 8x8 cells, plus the
// 12x12 block-averaged, per-image standardised intensities.
func features(pix []float32, size int) []float64 {
	const cells, bins = 6, 8
	cs := size / cells
	hog := make([]float64, cells*cells*bins)
	at := func(x, y int) float64 {
		x = min(max(x, 0), size-1)
		y = min(max(y, 0), size-1)
		return float64(pix[y*size+x])
	}
	for y := range size {
		for x := range size {
			gx := at(x+1, y) - at(x-1, y)
			gy := at(x, y+1) - at(x, y-1)
			m := math.Sqrt(gx*gx + gy*gy)
			a := math.Atan2(gy, gx)
			if a < 0 {
				a += math.Pi
			}
			b := min(int(a/math.Pi*bins), bins-1)
			cx, cy := min(x/cs, cells-1), min(y/cs, cells-1)
			hog[(cy*cells+cx)*bins+b] += m
		}
	}
	for c := range cells * cells {
		h := hog[c*bins : (c+1)*bins]
		var n float64
		for _, v := range h {
			n += v * v
		}
		n = math.Sqrt(n) + 1e-3
		for i := range h {
			h[i] /= n
		}
	}
	const g = 12
	bs := size / g
	inten := make([]float64, g*g)
	for y := range size {
		for x := range size {
			inten[min(y/bs, g-1)*g+min(x/bs, g-1)] += float64(pix[y*size+x])
		}
	}
	var mean, sd float64
	for _, v := range inten {
		mean += v
	}
	mean /= float64(len(inten))
	for _, v := range inten {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd/float64(len(inten))) + 1e-6
	for i := range inten {
		inten[i] = (inten[i] - mean) / sd * 0.3
	}
	return append(hog, inten...)
}

type sample struct {
	x     []float64
	label fernb.Label // TrueLabel: fernb.Unlabelled for pool faces of no clear expression
	wild  bool
	id    int
}

func samples(t testing.TB, cfg Config, keep func(Face) bool) []sample {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	size := g.Config().Size
	buf := make([]float32, size*size)
	var out []sample
	for i := range g.Len() {
		f, err := g.Float32(i, buf)
		if err != nil {
			t.Fatal(err)
		}
		if keep(f) {
			out = append(out, sample{features(buf, size), f.TrueLabel, f.Look == Wild, f.Identity})
		}
	}
	return out
}

// softmax is multinomial logistic regression trained by SGD.
type softmax struct {
	w    [][]float64 // [class][dim+1]
	mean []float64
	sd   []float64
}

func trainSoftmax(train []sample, epochs int, seed uint64) *softmax {
	dim := len(train[0].x)
	m := &softmax{mean: make([]float64, dim), sd: make([]float64, dim)}
	for _, s := range train {
		for j, v := range s.x {
			m.mean[j] += v
		}
	}
	for j := range m.mean {
		m.mean[j] /= float64(len(train))
	}
	for _, s := range train {
		for j, v := range s.x {
			m.sd[j] += (v - m.mean[j]) * (v - m.mean[j])
		}
	}
	for j := range m.sd {
		m.sd[j] = math.Sqrt(m.sd[j]/float64(len(train))) + 0.05 // floor: features constant in lab must not blow up elsewhere
	}
	m.w = make([][]float64, fernb.NumBasic)
	for k := range m.w {
		m.w[k] = make([]float64, dim+1)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	order := r.Perm(len(train))
	p := make([]float64, fernb.NumBasic)
	x := make([]float64, dim)
	for ep := range epochs {
		lr := 0.02 / (1 + float64(ep)*0.3)
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			m.norm(train[i].x, x)
			m.probs(x, p)
			for k := range m.w {
				g := p[k]
				if fernb.Label(k) == train[i].label {
					g--
				}
				w := m.w[k]
				for j, v := range x {
					w[j] -= lr * (g*v + 1e-4*w[j])
				}
				w[dim] -= lr * g
			}
		}
	}
	return m
}

func (m *softmax) norm(in, out []float64) {
	for j, v := range in {
		out[j] = (v - m.mean[j]) / m.sd[j]
	}
}

func (m *softmax) probs(x, p []float64) {
	mx := math.Inf(-1)
	for k, w := range m.w {
		z := w[len(x)]
		for j, v := range x {
			z += w[j] * v
		}
		p[k] = z
		mx = math.Max(mx, z)
	}
	var sum float64
	for k := range p {
		p[k] = math.Exp(p[k] - mx)
		sum += p[k]
	}
	for k := range p {
		p[k] /= sum
	}
}

func (m *softmax) accuracy(test []sample) float64 {
	x := make([]float64, len(test[0].x))
	p := make([]float64, fernb.NumBasic)
	correct := 0
	for _, s := range test {
		m.norm(s.x, x)
		m.probs(x, p)
		best := 0
		for k := range p {
			if p[k] > p[best] {
				best = k
			}
		}
		if fernb.Label(best) == s.label {
			correct++
		}
	}
	return float64(correct) / float64(len(test))
}

// nearestCentroid classifies by Euclidean distance to per-class means.
func nearestCentroid(train, test []sample) float64 {
	dim := len(train[0].x)
	cent := make([][]float64, fernb.NumBasic)
	count := make([]float64, fernb.NumBasic)
	for k := range cent {
		cent[k] = make([]float64, dim)
	}
	for _, s := range train {
		for j, v := range s.x {
			cent[s.label][j] += v
		}
		count[s.label]++
	}
	for k := range cent {
		for j := range cent[k] {
			cent[k][j] /= count[k]
		}
	}
	correct := 0
	for _, s := range test {
		best, bestD := -1, math.Inf(1)
		for k := range cent {
			var d float64
			for j, v := range s.x {
				d += (v - cent[k][j]) * (v - cent[k][j])
			}
			if d < bestD {
				best, bestD = k, d
			}
		}
		if fernb.Label(best) == s.label {
			correct++
		}
	}
	return float64(correct) / float64(len(test))
}

// TestLearnableWithDomainGap trains on lab faces of identities 0..69 and
// tests on identities 70..99 in lab and wild. Chance is 1/7 = 0.143.
func TestLearnableWithDomainGap(t *testing.T) {
	const seed, ids, heldOut = 11, 100, 70
	nLab, nWild := 2800, 1400
	if testing.Short() {
		nLab, nWild = 1400, 700
	}
	seen := func(f Face) bool { return f.Identity < heldOut }
	unseen := func(f Face) bool { return f.Identity >= heldOut }
	train := samples(t, Config{Domain: Lab, N: nLab, Seed: seed, Identities: ids}, seen)
	labTest := samples(t, Config{Domain: Lab, N: nLab, Seed: seed, Identities: ids}, unseen)
	wildAll := samples(t, Config{Domain: Wild, N: nWild, Seed: seed, Identities: ids}, func(Face) bool { return true })
	var wildTrain, wildTest []sample
	for _, s := range wildAll {
		if s.id < heldOut {
			wildTrain = append(wildTrain, s)
		} else {
			wildTest = append(wildTest, s)
		}
	}

	m := trainSoftmax(train, 12, 1)
	trainAcc := m.accuracy(train)
	labAcc := m.accuracy(labTest)
	wildAcc := m.accuracy(wildTest)
	ncLab := nearestCentroid(train, labTest)
	ncWild := nearestCentroid(train, wildTest)
	t.Logf("train %d lab faces (ids <%d); test %d lab, %d wild faces (ids >=%d)", len(train), heldOut, len(labTest), len(wildTest), heldOut)
	t.Logf("softmax regression on HOG+intensity: train %.3f, lab held-out %.3f, wild held-out %.3f", trainAcc, labAcc, wildAcc)
	t.Logf("nearest centroid on HOG+intensity:   lab held-out %.3f, wild held-out %.3f", ncLab, ncWild)

	const chance = 1.0 / fernb.NumBasic
	if labAcc < 0.6 {
		t.Errorf("lab held-out accuracy %.3f: the expressions are not learnable enough (want >= 0.6, chance %.3f)", labAcc, chance)
	}
	if labAcc > 0.995 {
		t.Errorf("lab held-out accuracy %.3f: the task is trivial (want within-class variation)", labAcc)
	}
	if labAcc-wildAcc < 0.15 {
		t.Errorf("wild accuracy %.3f vs lab %.3f: domain gap under 0.15", wildAcc, labAcc)
	}
	if wildAcc < chance+0.05 {
		t.Errorf("wild accuracy %.3f is at chance: the wild domain carries no expression signal a lab model can use", wildAcc)
	}
	if ncLab < 2*chance {
		t.Errorf("nearest-centroid lab accuracy %.3f under twice chance", ncLab)
	}

	// The gap can be closed with wild data: the same learner trained on lab
	// plus wild faces of the training identities does much better on wild
	// faces of held-out identities. (This is what pseudo-labelled wild-like
	// pool faces are meant to bring.)
	mixed := trainSoftmax(append(append([]sample(nil), train...), wildTrain...), 12, 1)
	mixedWild, mixedLab := mixed.accuracy(wildTest), mixed.accuracy(labTest)
	t.Logf("trained on lab + %d wild faces (ids <%d): lab held-out %.3f, wild held-out %.3f", len(wildTrain), heldOut, mixedLab, mixedWild)
	if mixedWild < wildAcc+0.05 {
		t.Errorf("adding wild training faces moved wild accuracy only from %.3f to %.3f", wildAcc, mixedWild)
	}

	// The pool: a lab model should be confident on clear lab-look faces and
	// less so on faces of no clear expression, which is what lets a margin
	// rule keep the first and reject the second.
	pool := samples(t, Config{Domain: Pool, N: nWild, Seed: seed, Identities: ids}, unseen)
	var clear, unclear []sample
	for _, s := range pool {
		if s.wild {
			continue
		}
		if s.label == fernb.Unlabelled {
			unclear = append(unclear, s)
		} else {
			clear = append(clear, s)
		}
	}
	mClear, mUnclear := m.meanMargin(clear), m.meanMargin(unclear)
	poolAcc := m.accuracy(clear)
	t.Logf("pool (lab look, ids >=%d): accuracy on %d clear faces %.3f; mean top-2 probability margin %.3f on clear vs %.3f on %d unclear faces",
		heldOut, len(clear), poolAcc, mClear, mUnclear, len(unclear))
	if poolAcc < labAcc-0.1 {
		t.Errorf("clear lab-look pool faces scored %.3f, far below lab %.3f", poolAcc, labAcc)
	}
	if mClear-mUnclear < 0.1 {
		t.Errorf("margin on unclear pool faces %.3f is not clearly below that on clear ones %.3f", mUnclear, mClear)
	}
}

// meanMargin is the mean gap between the two highest class probabilities.
func (m *softmax) meanMargin(test []sample) float64 {
	x := make([]float64, len(test[0].x))
	p := make([]float64, fernb.NumBasic)
	var sum float64
	for _, s := range test {
		m.norm(s.x, x)
		m.probs(x, p)
		a, b := 0.0, 0.0
		for _, v := range p {
			if v > a {
				a, b = v, a
			} else if v > b {
				b = v
			}
		}
		sum += a - b
	}
	return sum / float64(len(test))
}
