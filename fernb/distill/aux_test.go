package distill

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/fernb/fernb/fernb"
	"github.com/fernb/fernb/fernb/dataset"
	"github.com/fernb/fernb/fernb/omni"
	"github.com/fernb/fernb/fernb/train"
)

// TestLoadVASAndAux writes a manifest selecting three images of a
// generated pool, loads them back through the pool its header names, and
// turns VAS and DAS into train.Fit's hooks.
func TestLoadVASAndAux(t *testing.T) {
	ctx := context.Background()
	const spec = "n=12,size=16,seed=1"
	pre := dataset.Preprocess{Height: 12, Width: 12, Channels: 1}
	pool, err := dataset.OpenPool("synthetic", spec, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	all := dataset.NewTensors(0, 12, 12, 1)
	var ords []int
	err = pool.Stream(ctx, pre, dataset.StreamOptions{}, func(b dataset.Batch) error {
		ords = append(ords, b.Ordinals...)
		return all.Append(b.Tensors)
	})
	pool.Close()
	if err != nil || all.N != 12 {
		t.Fatalf("pool: %d images, %v", all.N, err)
	}
	pick := map[int]fernb.Label{2: fernb.Happy, 5: fernb.Angry, 9: fernb.Happy}
	var entries []omni.Entry
	for i := range all.N {
		if l, ok := pick[i]; ok {
			entries = append(entries, omni.Entry{Index: int64(ords[i]), Ref: all.Refs[i], Label: l, Name: l.String(),
				Margin: float32(i) / 10, Sims: []float32{0, 1}})
		}
	}
	dir := t.TempDir()
	manifest := filepath.Join(dir, "vas.jsonl")
	h := omni.Header{Model: "test", Pool: "synthetic:" + spec, Classes: []string{"angry", "happy"}, Centroids: "x", FeatureDim: 2}
	if err := omni.WriteManifest(manifest, h, entries); err != nil {
		t.Fatal(err)
	}
	vas, missing, err := omni.LoadVAS(ctx, manifest, omni.VASOptions{Preprocess: pre})
	if err != nil {
		t.Fatal(err)
	}
	if vas.N != 3 || missing != 0 {
		t.Fatalf("LoadVAS: %d images, %d missing; want 3, 0", vas.N, missing)
	}
	for j, i := range []int{2, 5, 9} {
		if vas.Labels[j] != pick[i] || vas.Refs[j] != all.Refs[i] || maxAbsDiff(vas.Image(j), all.Image(i)) != 0 {
			t.Errorf("VAS image %d: label %v ref %q, want pool image %d (%v, %q) with its pixels", j, vas.Labels[j], vas.Refs[j], i, pick[i], all.Refs[i])
		}
	}
	capped, _, err := omni.LoadVAS(ctx, manifest, omni.VASOptions{Preprocess: pre, PerClass: 1})
	if err != nil || capped.N != 2 {
		t.Fatalf("PerClass=1: %d images (%v), want 2", capped.N, err)
	}
	if _, _, err := omni.LoadVAS(ctx, manifest, omni.VASOptions{Preprocess: pre, PoolPath: "n=12,size=16,seed=2"}); err == nil {
		t.Errorf("LoadVAS found the manifest's images in another pool")
	}

	// Two manifests (two pools) concatenate in list order.
	manifest2 := filepath.Join(dir, "vas2.jsonl")
	if err := omni.WriteManifest(manifest2, h, entries[1:2]); err != nil {
		t.Fatal(err)
	}
	both, _, err := omni.LoadVASList(ctx, manifest+","+manifest2, omni.VASOptions{Preprocess: pre})
	if err != nil {
		t.Fatal(err)
	}
	if both.N != 4 || both.Refs[3] != all.Refs[5] || both.Labels[3] != fernb.Angry {
		t.Errorf("LoadVASList: %d images, last %q %v; want 4, the second manifest's image last", both.N, both.Refs[both.N-1], both.Labels[both.N-1])
	}
	if _, _, err := omni.LoadVASList(ctx, manifest+","+manifest2, omni.VASOptions{Preprocess: pre, PoolPath: spec}); err == nil {
		t.Errorf("LoadVASList took a pool override for two manifests")
	}

	anchor := bands(20, 12, 3, 9)
	tr, aux, err := Aux(ctx, "vas:"+manifest+","+manifest2, anchor, 16, AuxOptions{Ratio: 0.25, VAS: omni.VASOptions{Preprocess: pre}})
	if err != nil {
		t.Fatal(err)
	}
	if tr != anchor || aux.Mode != train.AuxMix || aux.PerBatch != 4 || aux.Set.N != 4 {
		t.Errorf("vas aux: mode %s, %d per batch of 16, %d images; want mix, 4, 4", aux.Mode, aux.PerBatch, aux.Set.N)
	}

	// A DAS directory, written as Run writes it.
	das := initialDAS(t, Config{Method: DD, Model: tinyModel, Steps: 2, Epochs: 1}, anchor)
	dasDir := filepath.Join(dir, "das")
	if err := WriteDAS(dasDir, das); err != nil {
		t.Fatal(err)
	}
	back, err := ReadDAS(dasDir)
	if err != nil {
		t.Fatal(err)
	}
	if back.N != 3 || len(back.LRs) != 2 || maxAbsDiff(back.Images.X, das.Images.X) != 0 || back.Images.Labels[1] != fernb.Disgust {
		t.Errorf("ReadDAS: %d images, %d lrs, labels %v; not what was written", back.N, len(back.LRs), back.Images.Labels)
	}
	tr, aux, err = Aux(ctx, "das:"+dasDir, anchor, 16, AuxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr != anchor || aux == nil || aux.Mode != train.AuxAppend || aux.Set.N != 3 {
		t.Errorf("das aux: want the anchor set and AuxAppend of 3 images")
	}
	if aux.Augment != nil {
		t.Errorf("das aux: a DAS distilled without DSA got an augmentation hook")
	}
	// A DAS distilled under DSA says so and is trained on under it, unless
	// NoAugment.
	das.DSA = true
	dsaDir := filepath.Join(dir, "das-dsa")
	if err := WriteDAS(dsaDir, das); err != nil {
		t.Fatal(err)
	}
	if _, aux, err = Aux(ctx, "das:"+dsaDir, anchor, 16, AuxOptions{}); err != nil || aux.Augment == nil {
		t.Errorf("das aux of a DSA DAS: hook %v (%v), want one with Augment", aux, err)
	}
	if _, aux, err = Aux(ctx, "das:"+dsaDir, anchor, 16, AuxOptions{NoAugment: true}); err != nil || aux.Augment != nil {
		t.Errorf("das aux of a DSA DAS with NoAugment: Augment set (%v)", err)
	}
	tr, aux, err = Aux(ctx, "das:"+dasDir, anchor, 16, AuxOptions{DASExtra: true})
	if err != nil {
		t.Fatal(err)
	}
	if aux != nil || tr.N != anchor.N+3 || anchor.N != 20 {
		t.Errorf("das extra: %d training images and hook %v, want %d and none (anchor untouched)", tr.N, aux, anchor.N+3)
	}
	for _, bad := range []string{"vas", "das:", "xyz:foo", "das:" + filepath.Join(dir, "nothing")} {
		if _, _, err := Aux(ctx, bad, anchor, 16, AuxOptions{}); err == nil {
			t.Errorf("Aux(%q) accepted", bad)
		}
	}
}
