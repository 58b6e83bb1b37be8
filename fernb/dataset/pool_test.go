package dataset

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/fernb/fernb/fernb"
)

func poolFiles(t testing.TB, n int) map[string][]byte {
	files := map[string][]byte{}
	for i := 0; i < n; i++ {
		files[fmt.Sprintf("crop_part1/%d/face_%03d.jpg", i%3, i)] = jpegBytes(t, grayImage(30, 30, i))
	}
	files["crop_part1/1/broken.jpg"] = []byte("not a jpeg at all")
	return files
}

func TestPoolStreamStableShardedResumable(t *testing.T) {
	files := poolFiles(t, 23)
	pre := Preprocess{Height: 12, Width: 12, Channels: 3, Workers: 2}
	var ref []string
	for kind, p := range allLayouts(t, files) {
		all := streamRefs(t, "pool", p, pre, StreamOptions{Batch: 5})
		if len(all) != 23 {
			t.Fatalf("%s: %d images streamed, want 23 (corrupt one skipped)", kind, len(all))
		}
		if !sort.StringsAreSorted(all) {
			t.Errorf("%s: order not stable/lexical: %v", kind, all)
		}
		if ref == nil {
			ref = all
		} else if !reflect.DeepEqual(all, ref) {
			t.Errorf("%s: refs differ from other layouts", kind)
		}
		var union []string
		for s := 0; s < 4; s++ {
			part := streamRefs(t, "pool", p, pre, StreamOptions{Shard: s, NumShards: 4, Batch: 3})
			union = append(union, part...)
		}
		sort.Strings(union)
		if !reflect.DeepEqual(union, ref) {
			t.Errorf("%s: shards do not partition the pool: %v", kind, union)
		}
	}
	// Resume: stop after the second batch, restart from its Next.
	p, err := OpenPool("pool", allLayouts(t, files)["tar.gz"], Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var got []string
	var next int
	stop := errors.New("stop")
	calls := 0
	err = p.Stream(context.Background(), pre, StreamOptions{Batch: 4}, func(b Batch) error {
		got = append(got, b.Refs...)
		next = b.Next
		if calls++; calls == 2 {
			return stop
		}
		for _, l := range b.Labels {
			if l != fernb.Unlabelled {
				t.Errorf("pool label %v", l)
			}
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("stream error %v, want the callback's", err)
	}
	err = p.Stream(context.Background(), pre, StreamOptions{Batch: 4, Start: next}, func(b Batch) error {
		got = append(got, b.Refs...)
		return nil
	})
	if err != nil || !reflect.DeepEqual(got, ref) {
		t.Errorf("resumed stream %v (err %v), want %v", got, err, ref)
	}
	if len(p.Report.Corrupt) == 0 {
		t.Error("corrupt pool image not reported")
	}
	// Cancelling the context stops the stream with its error.
	ctx, cancel := context.WithCancel(context.Background())
	err = p.Stream(ctx, pre, StreamOptions{Batch: 2}, func(b Batch) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled stream: %v", err)
	}
}

func TestPoolLabelledAndSynthetic(t *testing.T) {
	p, err := OpenPool("folder", allLayouts(t, folderFiles(t))["zip"], Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	labels := map[fernb.Label]int{}
	p.Stream(context.Background(), Preprocess{Height: 8, Width: 8, Channels: 1}, StreamOptions{}, func(b Batch) error {
		for _, l := range b.Labels {
			labels[l]++
		}
		return nil
	})
	if labels[fernb.Angry] != 2 || labels[fernb.Unlabelled] != 0 {
		t.Errorf("labelled pool keeps labels: %v", labels)
	}
	sp, err := OpenPool("synthetic", "n=30,seed=4", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Len() != 30 {
		t.Errorf("Len %d", sp.Len())
	}
	refs := streamRefs(t, "synthetic", "n=30,seed=4", Preprocess{Height: 16, Width: 16, Channels: 1}, StreamOptions{Batch: 7, Shard: 1, NumShards: 2})
	if len(refs) != 15 {
		t.Errorf("synthetic shard has %d images", len(refs))
	}
}
