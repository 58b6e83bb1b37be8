package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// ramp returns an h x w x c image whose value at (i, j, k) is
// 100*i + j + k/10: every pixel distinct, and linear in the position.
func ramp(h, w, c int) []float32 {
	img := make([]float32, h*w*c)
	for i := range h {
		for j := range w {
			for k := range c {
				img[(i*w+j)*c+k] = float32(100*i+j) + float32(k)/10
			}
		}
	}
	return img
}

func at(img []float32, w, c, i, j, k int) float32 { return img[(i*w+j)*c+k] }

func clampInt(x, n int) int { return min(max(x, 0), n-1) }

func TestWarpImage(t *testing.T) {
	const h, w, c = 9, 12, 2
	src := ramp(h, w, c)
	dst := make([]float32, len(src))

	warpImage(dst, src, h, w, c, identity)
	if !slices.Equal(dst, src) {
		t.Error("the identity map changed the image")
	}

	// An integer shift moves every value exactly, the border repeating
	// the edge.
	for _, d := range [][2]int{{3, -2}, {-4, 5}, {0, 1}} {
		dx, dy := d[0], d[1]
		warpImage(dst, src, h, w, c, newAffine(float64(dx), float64(dy), 0, 1, false))
		for i := range h {
			for j := range w {
				for k := range c {
					if got, want := at(dst, w, c, i, j, k), at(src, w, c, clampInt(i-dy, h), clampInt(j-dx, w), k); got != want {
						t.Fatalf("shift (%d,%d): pixel (%d,%d,%d) = %v, want %v", dx, dy, i, j, k, got, want)
					}
				}
			}
		}
	}

	// The mirror map is dataset.FlipImage.
	warpImage(dst, src, h, w, c, newAffine(0, 0, 0, 1, true))
	flipped := slices.Clone(src)
	dataset.FlipImage(flipped, h, w, c)
	if !slices.Equal(dst, flipped) {
		t.Error("the mirror map differs from dataset.FlipImage")
	}

	// A quarter turn of a square image about its centre: out(i, j) =
	// in(n-1-j, i), up to rounding of cos(pi/2).
	const n = 8
	sq := ramp(n, n, 1)
	out := make([]float32, len(sq))
	warpImage(out, sq, n, n, 1, newAffine(0, 0, math.Pi/2, 1, false))
	for i := range n {
		for j := range n {
			if got, want := out[i*n+j], sq[(n-1-j)*n+i]; math.Abs(float64(got-want)) > 1e-3 {
				t.Fatalf("quarter turn: pixel (%d,%d) = %v, want %v", i, j, got, want)
			}
		}
	}

	// A zoom by s about the centre stretches a linear image: bilinear
	// sampling reproduces it exactly, value(j) = cx + (j-cx)/s along a row.
	for _, s := range []float64{1.25, 2} {
		warpImage(dst, src, h, w, c, newAffine(0, 0, 0, s, false))
		cx, cy := float64(w-1)/2, float64(h-1)/2
		for i := range h {
			for j := range w {
				want := 100*(cy+(float64(i)-cy)/s) + cx + (float64(j)-cx)/s
				if got := float64(at(dst, w, c, i, j, 0)); math.Abs(got-want) > 1e-3 {
					t.Fatalf("zoom %v: pixel (%d,%d) = %v, want %v", s, i, j, got, want)
				}
			}
		}
	}

	// Any map keeps values within the image's range (convex combinations,
	// up to float32 rounding).
	rng := rand.New(rand.NewPCG(1, 2))
	lo, hi := slices.Min(src)-1e-3, slices.Max(src)+1e-3
	for range 50 {
		m := newAffine(rng.Float64()*8-4, rng.Float64()*8-4, rng.Float64()*6-3, 0.5+rng.Float64(), rng.IntN(2) == 1)
		warpImage(dst, src, h, w, c, m)
		if mn, mx := slices.Min(dst), slices.Max(dst); mn < lo || mx > hi {
			t.Fatalf("map %+v: values in [%v, %v], the image's are in [%v, %v]", m, mn, mx, lo, hi)
		}
	}
}

func TestErase(t *testing.T) {
	const h, w = 48, 40
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		r, ok := drawErase(rng, h, w)
		if !ok {
			t.Fatal("no rectangle fitted a 48x40 image in 10 tries")
		}
		if r.y < 0 || r.x < 0 || r.y+r.h > h || r.x+r.w > w || r.h < 1 || r.w < 1 {
			t.Fatalf("rectangle %+v outside the %dx%d image", r, h, w)
		}
		// Rounding each side to whole pixels moves the area and aspect off
		// the drawn values by at most half a pixel per side: for 48x40,
		// areas within [0.016, 0.349] and aspects within [0.25, 4].
		area := float64(r.h*r.w) / float64(h*w)
		if area < 0.015 || area > 0.35 {
			t.Fatalf("rectangle %+v covers %.3f of the image, want about [%.2f, %.2f]", r, area, eraseMinArea, eraseMaxArea)
		}
		if asp := float64(r.h) / float64(r.w); asp < 0.24 || asp > 4.2 {
			t.Fatalf("rectangle %+v has aspect %.2f, want about [%.1f, %.1f]", r, asp, eraseMinAspect, 1/eraseMinAspect)
		}
	}
	img := make([]float32, 6*7*2)
	for i := range img {
		img[i] = 1
	}
	eraseImage(img, 7, 2, rect{y: 1, x: 2, h: 3, w: 4}, 0)
	for i := range 6 {
		for j := range 7 {
			in := i >= 1 && i < 4 && j >= 2 && j < 6
			for k := range 2 {
				if v := at(img, 7, 2, i, j, k); (v == 0) != in {
					t.Fatalf("pixel (%d,%d,%d) = %v; inside the rectangle: %v", i, j, k, v, in)
				}
			}
		}
	}
}

func basic7() []fernb.Label { return DefaultLabels(7) }

// TestRecipeOffKeepsBatches: with every new option at zero the batches are
// what the flip-only recipe assembled: a copy of each image, mirrored when
// the step's stream draws 1 from IntN(2).
func TestRecipeOffKeepsBatches(t *testing.T) {
	src := bars(96, 16, 1)
	bt, _, err := newBatcher(src, newClassIndex(basic7()), Config{BatchSize: 32, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	perm := bt.permutation(2)
	bt.fill(perm, 2, 1)
	rng := stepRNG(7, 2, 1)
	size := bt.imageSize
	for j := range 32 {
		want := slices.Clone(src.Image(bt.idx[perm[32+j]]))
		if rng.IntN(2) == 1 {
			dataset.FlipImage(want, 16, 16, 1)
		}
		if !slices.Equal(bt.x[j*size:(j+1)*size], want) || bt.w[j] != 1 {
			t.Fatalf("slot %d differs from the flip-only recipe's", j)
		}
	}
}

// TestRecipeBatches checks the augmentation as the batcher applies it:
// with Crop alone every image is its source shifted by at most Crop pixels
// (and not all by zero); with everything on the values stay in the
// source's range (or are erased to 0), a batch is a function of (seed,
// epoch, step) alone, and the prefetcher hands out what fill makes.
func TestRecipeBatches(t *testing.T) {
	src := bars(96, 16, 2)
	for i := range src.X {
		src.X[i] += 0.1 // no zero pixel: erased ones stand out
	}
	ci := newClassIndex(basic7())
	const crop = 3
	bt, _, err := newBatcher(src, ci, Config{BatchSize: 32, Seed: 7, NoFlip: true, Crop: crop})
	if err != nil {
		t.Fatal(err)
	}
	perm := bt.permutation(0)
	bt.fill(perm, 0, 1)
	size := bt.imageSize
	shifted := 0
	shifted2 := make([]float32, size)
	for j := range 32 {
		img := src.Image(bt.idx[perm[32+j]])
		got := bt.x[j*size : (j+1)*size]
		found := false
		for dy := -crop; dy <= crop && !found; dy++ {
			for dx := -crop; dx <= crop && !found; dx++ {
				for i := range 16 {
					for x := range 16 {
						shifted2[i*16+x] = img[clampInt(i-dy, 16)*16+clampInt(x-dx, 16)]
					}
				}
				if slices.Equal(got, shifted2) {
					found = true
					if dx != 0 || dy != 0 {
						shifted++
					}
				}
			}
		}
		if !found {
			t.Fatalf("slot %d is not its image shifted by at most %d pixels", j, crop)
		}
	}
	if shifted < 16 {
		t.Errorf("only %d of 32 images shifted", shifted)
	}

	cfg := Config{BatchSize: 32, Seed: 7, Crop: 2, Rotate: 15, Scale: 0.15, Erase: 0.5}
	if bt, _, err = newBatcher(src, ci, cfg); err != nil {
		t.Fatal(err)
	}
	lo, hi := slices.Min(src.X)-1e-6, slices.Max(src.X)+1e-6 // float32 rounding
	erased := 0
	batches := make([][]float32, 3)
	for step := range 3 {
		bt.fill(perm, 0, step)
		batches[step] = slices.Clone(bt.x)
		for j := range 32 {
			img := bt.x[j*size : (j+1)*size]
			zeros := 0
			for _, v := range img {
				if v == 0 {
					zeros++
				} else if v < lo || v > hi {
					t.Fatalf("step %d slot %d: value %v outside the data's [%v, %v]", step, j, v, lo, hi)
				}
			}
			if zeros > 0 {
				erased++
			}
		}
	}
	if erased < 20 || erased > 76 {
		t.Errorf("%d of 96 images erased with probability 0.5", erased)
	}
	bt.fill(perm, 0, 1)
	if !slices.Equal(bt.x, batches[1]) {
		t.Error("the same step assembled twice differs")
	}
	if slices.Equal(batches[0], batches[1]) {
		t.Error("two steps gave the same batch")
	}
	pf := bt.prefetch(perm, 0, 1, 3)
	for step := 1; step < 3; step++ {
		buf := pf.next()
		if !slices.Equal(buf.x, batches[step]) {
			t.Errorf("prefetched step %d differs from fill's", step)
		}
		pf.release(buf)
	}
	pf.close()
	pf.close() // idempotent

	// A prefetcher closed before its steps are consumed stops.
	pf = bt.prefetch(perm, 0, 0, 3)
	pf.next()
	pf.close()

	if _, _, err := newBatcher(src, ci, Config{BatchSize: 32, Crop: 16}); err == nil {
		t.Error("a crop as large as the image was accepted")
	}
}

// skewed returns n 16x16 images of 7 classes, class k having about
// (k+1)^2 times as many images as class 0.
func skewed(n int) *dataset.Tensors {
	t := bars(n, 16, 3)
	var cum []int
	s := 0
	for k := range 7 {
		s += (k + 1) * (k + 1)
		cum = append(cum, s)
	}
	for i := range n {
		r := i % s
		k, _ := slices.BinarySearch(cum, r+1)
		t.Labels[i] = fernb.Label(k)
	}
	return t
}

func TestBalance(t *testing.T) {
	src := skewed(1400)
	ci := newClassIndex(basic7())
	counts := src.ClassCounts()

	bt, _, err := newBatcher(src, ci, Config{BatchSize: 50, Seed: 1, Balance: BalanceWeights})
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	perClass := make([]float64, 7)
	for _, c := range bt.cls {
		total += float64(bt.classW[c])
		perClass[c] += float64(bt.classW[c])
	}
	if math.Abs(total-1400) > 1e-2 {
		t.Errorf("weights sum to %v over 1400 images, want 1400", total)
	}
	for k, v := range perClass {
		if math.Abs(v-200) > 1e-2 {
			t.Errorf("class %d (%d images) carries weight %v, want 200 (1400/7)", k, counts[k], v)
		}
	}
	perm := bt.permutation(0)
	bt.fill(perm, 0, 0)
	for j := range 50 {
		if want := bt.classW[bt.y[j]]; bt.w[j] != want {
			t.Fatalf("slot %d of class %d has weight %v, want %v", j, bt.y[j], bt.w[j], want)
		}
	}

	if bt, _, err = newBatcher(src, ci, Config{BatchSize: 50, Seed: 1, Balance: BalanceSample}); err != nil {
		t.Fatal(err)
	}
	drawn := make([]int, 7)
	order := bt.permutation(0)
	if len(order) != 1400 {
		t.Fatalf("a balanced epoch has %d draws, want 1400", len(order))
	}
	for _, k := range order {
		drawn[bt.cls[k]]++
	}
	for k, d := range drawn { // 200 expected, standard deviation 13
		if d < 140 || d > 260 {
			t.Errorf("class %d (%d images) drawn %d times in a balanced epoch of 1400", k, counts[k], d)
		}
	}
	if slices.Equal(order, bt.permutation(1)) || !slices.Equal(order, bt.permutation(0)) {
		t.Error("balanced draws are not a function of the epoch")
	}
}

// TestLabelSmoothing computes the loss graph on fixed logits and compares
// it with the smoothed cross-entropy computed here.
func TestLabelSmoothing(t *testing.T) {
	b := testBackend(t)
	logits := []float32{2, -1, 0.5, 0, 3, -2}
	y := []int32{0, 2}
	w := []float32{1, 3}
	for _, eps := range []float64{0, 0.1, 0.4} {
		exec, err := graph.NewExec(b, func(l, y, w *graph.Node) *graph.Node {
			loss, _ := lossAndCorrect(l, y, w, 3, eps)
			return loss
		})
		if err != nil {
			t.Fatal(err)
		}
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(logits, 2, 3), tensors.FromFlatDataAndDimensions(y, 2),
			tensors.FromFlatDataAndDimensions(w, 2))
		if err != nil {
			t.Fatal(err)
		}
		got := float64(tensors.ToScalar[float32](outs[0]))
		var want, wsum float64
		for i := range 2 {
			row := logits[i*3 : i*3+3]
			var z float64
			for _, v := range row {
				z += math.Exp(float64(v))
			}
			var ce float64
			for k, v := range row {
				target := eps / 3
				if int32(k) == y[i] {
					target += 1 - eps
				}
				ce -= target * (float64(v) - math.Log(z))
			}
			want += float64(w[i]) * ce
			wsum += float64(w[i])
		}
		want /= wsum
		if math.Abs(got-want) > 1e-5 {
			t.Errorf("smoothing %v: loss %v, want %v", eps, got, want)
		}
		exec.Finalize()
	}
	if errs := (Config{LabelSmoothing: 1}).validateRecipe(); len(errs) == 0 {
		t.Error("label smoothing 1 accepted")
	}
}

// cosineWant is the rate of 0-based step k under GoMLX's cosine schedule
// with warm-up (its documented formula, written out here to check the
// graph against).
func cosineWant(lr, minLR float64, k, warm, total int) float64 {
	if k < warm {
		return minLR + (lr-minLR)*float64(k)/float64(warm)
	}
	frac := float64(k-warm) / float64(total-warm)
	return minLR + (lr-minLR)*(1+math.Cos(math.Pi*frac))/2
}

// TestCosineSchedule trains with the cosine schedule and checks the rate of
// every step against the formula, and that a run cancelled mid-epoch and
// resumed continues the schedule where it stopped.
func TestCosineSchedule(t *testing.T) {
	b := testBackend(t)
	trainSet := bars(128, 16, 4) // 4 steps of 32 per epoch
	cfg := Config{Epochs: 3, BatchSize: 32, LR: 0.05, Seed: 2, Schedule: ScheduleCosine, WarmupEpochs: 1, MinLR: 0.001,
		Crop: 2, Rotate: 10, Scale: 0.1, Erase: 0.3, LabelSmoothing: 0.1, Balance: BalanceWeights}
	record := func(lrs map[int]float64) func(Progress) {
		return func(p Progress) {
			if p.Stage == "train" {
				lrs[(p.Epoch-1)*p.Steps+p.Step-1] = p.LR
			}
		}
	}
	ref := map[int]float64{}
	res, err := Fit(context.Background(), b, smallNet(t), trainSet, nil, cfg, record(ref))
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) != 12 {
		t.Fatalf("%d steps recorded, want 12", len(ref))
	}
	for k := range 12 {
		if want := cosineWant(0.05, 0.001, k, 4, 12); math.Abs(ref[k]-want) > 1e-6 {
			t.Errorf("step %d: lr %v, want %v", k, ref[k], want)
		}
	}
	if got, want := res.History[2].LR, cosineWant(0.05, 0.001, 11, 4, 12); math.Abs(got-want) > 1e-6 {
		t.Errorf("epoch 3 reports lr %v, want the last step's %v", got, want)
	}

	cfg.CheckpointDir = t.TempDir()
	fitCancelledAt(t, b, trainSet, cfg, 2, 2)
	resumed := map[int]float64{}
	res2, err := Fit(context.Background(), b, smallNet(t), trainSet, nil, cfg, record(resumed))
	if err != nil {
		t.Fatal(err)
	}
	if !res2.Resumed || len(resumed) != 12-6 {
		t.Fatalf("resumed %v, ran %d steps, want 6", res2.Resumed, len(resumed))
	}
	for k, lr := range resumed {
		if math.Abs(lr-ref[k]) > 1e-7 {
			t.Errorf("resumed step %d: lr %v, uninterrupted %v", k, lr, ref[k])
		}
	}
	for i, h := range res2.History {
		r := res.History[i]
		if math.Abs(h.TrainLoss-r.TrainLoss) > 1e-4*math.Max(1, r.TrainLoss) {
			t.Errorf("epoch %d: resumed loss %.6f, uninterrupted %.6f", i+1, h.TrainLoss, r.TrainLoss)
		}
	}

	if _, err := NewTrainer(b, smallNet(t), cfg); err == nil {
		t.Error("NewTrainer accepted the cosine schedule without a number of steps")
	}
	for _, bad := range []Config{
		{Schedule: ScheduleCosine, WarmupEpochs: 3},
		{Schedule: ScheduleCosine, MinLR: 1},
		{WarmupEpochs: 1},
		{Schedule: "linear"},
		{Balance: "oversample"},
		{Crop: -1}, {Rotate: 200}, {Scale: 1}, {Erase: 1.5},
	} {
		bad.Epochs, bad.BatchSize, bad.LR = 3, 32, 0.01
		if err := bad.withDefaults(7).validate(7); err == nil {
			t.Errorf("config %+v accepted", bad)
		}
	}
}

// TestTenCrop: Evaluate with TenCrop averages the probabilities of the ten
// views, computed here with Predict on each view built by hand.
func TestTenCrop(t *testing.T) {
	b := testBackend(t)
	tr, err := NewTrainer(b, smallNet(t), Config{Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Finalize()
	m := tr.Model
	data := bars(35, 16, 9)
	const p = 2
	if v := evalViews(EvalOptions{TenCrop: p}); len(v) != 10 {
		t.Fatalf("%d ten-crop views", len(v))
	}
	if v := evalViews(EvalOptions{Flip: true}); len(v) != 2 {
		t.Fatalf("%d flip views", len(v))
	}
	sum := make([]float64, data.N*7)
	for _, d := range [][2]int{{0, 0}, {-p, -p}, {-p, p}, {p, -p}, {p, p}} {
		for _, flip := range []bool{false, true} {
			view := data.Clone()
			for n := range view.N {
				img, orig := view.Image(n), data.Image(n)
				for i := range 16 {
					for j := range 16 {
						img[i*16+j] = orig[clampInt(i-d[1], 16)*16+clampInt(j-d[0], 16)]
					}
				}
				if flip {
					view.FlipHorizontal(n)
				}
			}
			pr, err := m.Predict(context.Background(), view, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range pr.Probs {
				sum[i] += float64(v)
			}
		}
	}
	right := 0
	for n := range data.N {
		row := sum[n*7 : n*7+7]
		if fernb.Label(slices.Index(row, slices.Max(row))) == data.Labels[n] {
			right++
		}
	}
	ev, err := m.EvaluateWith(context.Background(), data, EvalOptions{TenCrop: p})
	if err != nil {
		t.Fatal(err)
	}
	if ev.TTA != fmt.Sprintf("ten-crop:%d", p) || ev.Accuracy != float64(right)/float64(data.N) {
		t.Errorf("ten-crop: tta %q accuracy %v, by hand %d/%d", ev.TTA, ev.Accuracy, right, data.N)
	}
	plain, err := m.Evaluate(context.Background(), data, 0)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Loss == ev.Loss {
		t.Error("ten-crop gave the loss of the single view")
	}
	if _, err := m.EvaluateWith(context.Background(), data, EvalOptions{TenCrop: 16}); err == nil {
		t.Error("a ten-crop offset as large as the image was accepted")
	}
}

// TestFillAllocs: assembling a batch under the full recipe allocates
// nothing per image, so its allocations do not grow with the batch size
// (BenchmarkFill reports them).
func TestFillAllocs(t *testing.T) {
	src := bars(512, 48, 1)
	ci := newClassIndex(basic7())
	allocs := map[int]float64{}
	for _, n := range []int{16, 256} {
		bt, _, err := newBatcher(src, ci, fullRecipe(n))
		if err != nil {
			t.Fatal(err)
		}
		perm := bt.permutation(0)
		allocs[n] = testing.AllocsPerRun(5, func() { bt.fill(perm, 0, 1) })
	}
	if allocs[256] > allocs[16] {
		t.Errorf("allocations per batch: %v at 16 images, %v at 256", allocs[16], allocs[256])
	}
}

func fullRecipe(batch int) Config {
	return Config{BatchSize: batch, Seed: 1, Crop: 4, Rotate: 10, Scale: 0.1, Erase: 0.5, Balance: BalanceWeights}
}

// BenchmarkFill assembles 48x48 batches under the flip-only and the full
// recipe (the per-step host work of `fernb train`); allocs/op stays flat
// across batch sizes. `go test -bench Fill -run XXX ./fernb/train`.
func BenchmarkFill(b *testing.B) {
	src := bars(1024, 48, 1)
	ci := newClassIndex(basic7())
	for _, n := range []int{16, 64, 256} {
		for _, recipe := range []string{"flip", "full"} {
			cfg := Config{BatchSize: n, Seed: 1}
			if recipe == "full" {
				cfg = fullRecipe(n)
			}
			b.Run(fmt.Sprintf("recipe=%s/batch=%d", recipe, n), func(b *testing.B) {
				benchFill(b, src, ci, cfg)
			})
		}
	}
}

func benchFill(b *testing.B, src *dataset.Tensors, ci classIndex, cfg Config) {
	bt, _, err := newBatcher(src, ci, cfg)
	if err != nil {
		b.Fatal(err)
	}
	perm := bt.permutation(0)
	steps := bt.stepsPerEpoch()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		bt.fill(perm, 0, i%steps)
	}
	b.ReportMetric(float64(b.N*cfg.BatchSize)/b.Elapsed().Seconds(), "img/s")
}
