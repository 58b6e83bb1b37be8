package dataset

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb"
)

// folderFiles is a FER-2013-style folder tree wrapped in a top folder, with
// a corrupt JPEG, a truncated PNG, a bomb header and files that are no data.
func folderFiles(t testing.TB) map[string][]byte {
	files := map[string][]byte{
		"fer/train/angry/Training_1.png":     pngBytes(t, grayImage(48, 48, 1)),
		"fer/train/angry/Training_2.jpg":     jpegBytes(t, grayImage(48, 48, 2)),
		"fer/train/happiness/Training_3.png": pngBytes(t, grayImage(48, 48, 3)),
		"fer/train/Surprised/Training_4.png": pngBytes(t, grayImage(64, 32, 4)),
		"fer/train/contempt/Training_5.png":  pngBytes(t, grayImage(48, 48, 5)),
		"fer/test/sad/PublicTest_1.png":      pngBytes(t, grayImage(48, 48, 6)),
		"fer/test/neutral/PublicTest_2.png":  pngBytes(t, grayImage(48, 48, 7)),
		"fer/test/neutral/broken.jpg":        []byte("\xff\xd8\xff\xe0 this is not a jpeg"),
		"fer/README.txt":                     []byte("not an image"),
		"fer/train/.DS_Store":                []byte("junk"),
		"fer/test/fear/bomb.png":             bombPNG(100000, 100000),
	}
	full := pngBytes(t, grayImage(48, 48, 8))
	files["fer/test/disgust/truncated.png"] = full[:len(full)/2]
	return files
}

func TestFolderSameFromDirAndEveryArchive(t *testing.T) {
	files := folderFiles(t)
	pre := Preprocess{Height: 24, Width: 24, Channels: 1, Workers: 3}
	var ref *Tensors
	var refItems []Item
	for kind, p := range allLayouts(t, files) {
		d := mustOpen(t, "folder", p)
		if len(d.Items) != 10 {
			t.Fatalf("%s: %d items, want 10 (images only, hidden files and README ignored): %+v", kind, len(d.Items), d.Items)
		}
		x, err := d.Load(context.Background(), d.Items, pre)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if x.N != 7 {
			t.Errorf("%s: loaded %d images, want 7", kind, x.N)
		}
		if len(d.Report.Corrupt) != 2 || len(d.Report.TooLarge) != 1 || d.Report.Skipped() != 3 {
			t.Errorf("%s: report %s", kind, d.Report)
		}
		if !strings.Contains(d.Report.String(), "fer/test/neutral/broken.jpg") || !strings.Contains(d.Report.String(), "fer/test/fear/bomb.png") {
			t.Errorf("%s: report does not name the bad files:\n%s", kind, d.Report)
		}
		if ref == nil {
			ref, refItems = x, d.Items
			continue
		}
		if !reflect.DeepEqual(x, ref) {
			t.Errorf("%s: tensors differ from the other layouts", kind)
		}
		if !reflect.DeepEqual(Classes(d.Items), Classes(refItems)) {
			t.Errorf("%s: classes differ", kind)
		}
	}
	d := mustOpen(t, "folder", allLayouts(t, files)["zip"])
	train, err := d.Split("training")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]fernb.Label{
		"fer/train/angry/Training_1.png": fernb.Angry, "fer/train/angry/Training_2.jpg": fernb.Angry,
		"fer/train/happiness/Training_3.png": fernb.Happy, "fer/train/Surprised/Training_4.png": fernb.Surprise,
		"fer/train/contempt/Training_5.png": fernb.Contempt,
	}
	if len(train) != len(want) {
		t.Fatalf("train split has %d items, want %d", len(train), len(want))
	}
	for _, it := range train {
		if want[it.Ref] != it.Label || it.Split != "train" {
			t.Errorf("%s: label %v split %q, want %v train", it.Ref, it.Label, it.Split, want[it.Ref])
		}
	}
	if _, err := d.Split("val"); err == nil || !strings.Contains(err.Error(), "test") {
		t.Errorf("missing split: error %v should list the splits", err)
	}
	kept, note := Basic7(train)
	if len(kept) != 4 || !strings.Contains(note, "contempt: 1") {
		t.Errorf("Basic7 kept %d, note %q; want 4 and contempt dropped", len(kept), note)
	}
}

func TestFolderPixelValues(t *testing.T) {
	files := map[string][]byte{"happy/a.png": pngBytes(t, grayImage(8, 8, 10))}
	d := mustOpen(t, "folder", allLayouts(t, files)["dir"])
	x, err := d.Load(context.Background(), d.Items, Preprocess{Height: 8, Width: 8, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 8; y++ {
		for xx := 0; xx < 8; xx++ {
			want := float32((10+3*xx+5*y)%256) / 255
			if got := x.X[y*8+xx]; math.Abs(float64(got-want)) > 1e-6 {
				t.Fatalf("pixel (%d,%d) = %v, want %v", xx, y, got, want)
			}
		}
	}
	// RGB from grayscale repeats the value in every channel.
	x3, err := d.Load(context.Background(), d.Items, Preprocess{Height: 8, Width: 8, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	if x3.C != 3 || x3.X[3*9] != x.X[9] || x3.X[3*9+2] != x.X[9] {
		t.Errorf("RGB conversion of a gray image: %v vs %v", x3.X[27:30], x.X[9])
	}
}

func TestFolderUnknownClassNamesKnown(t *testing.T) {
	files := map[string][]byte{"train/angry/a.png": pngBytes(t, grayImage(4, 4, 0)), "train/smiling/b.png": pngBytes(t, grayImage(4, 4, 0))}
	_, err := Open("folder", allLayouts(t, files)["dir"], Options{})
	if err == nil || !strings.Contains(err.Error(), "smiling") || !strings.Contains(err.Error(), "known:") || !strings.Contains(err.Error(), "happiness") {
		t.Fatalf("error %v should name the folder and the known classes", err)
	}
}

func fer2013CSV(rows [][3]string) []byte {
	var b strings.Builder
	b.WriteString("emotion,pixels,Usage\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s\n", r[0], r[1], r[2])
	}
	return []byte(b.String())
}

func pixelsString(base int) string {
	px := make([]string, 48*48)
	for i := range px {
		px[i] = fmt.Sprint((base + i) % 256)
	}
	return strings.Join(px, " ")
}

func TestFER2013CSV(t *testing.T) {
	csv := fer2013CSV([][3]string{
		{"0", pixelsString(0), "Training"},
		{"3", pixelsString(7), "Training"},
		{"6", pixelsString(9), "PublicTest"},
		{"5", pixelsString(1), "PrivateTest"},
	})
	for kind, p := range allLayouts(t, map[string][]byte{"fer2013/fer2013.csv": csv}) {
		d := mustOpen(t, "fer2013csv", p)
		want := []fernb.Label{fernb.Angry, fernb.Happy, fernb.Neutral, fernb.Surprise}
		if len(d.Items) != 4 {
			t.Fatalf("%s: %d items", kind, len(d.Items))
		}
		for i, it := range d.Items {
			if it.Label != want[i] {
				t.Errorf("%s: row %d label %v, want %v", kind, i, it.Label, want[i])
			}
		}
		if d.Items[2].Split != "test" || d.Items[3].Split != "privatetest" || d.Items[1].Ref != "fer2013.csv:3" {
			t.Errorf("%s: splits/refs %+v", kind, d.Items[1:])
		}
		test, _ := d.Split("PublicTest")
		x, err := d.Load(context.Background(), test, Preprocess{Height: 48, Width: 48, Channels: 1})
		if err != nil {
			t.Fatal(err)
		}
		if x.N != 1 || x.X[5] != float32(14)/255 {
			t.Errorf("%s: pixel 5 = %v, want 14/255", kind, x.X[5])
		}
	}
	// The single file works too.
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{"fer2013.csv": csv})
	if d := mustOpen(t, "fer2013csv", filepath.Join(dir, "fer2013.csv")); len(d.Items) != 4 {
		t.Errorf("csv path: %d items", len(d.Items))
	}
}

func TestFER2013CSVBadLine(t *testing.T) {
	cases := map[string]string{
		"emotion code 0-6":   "emotion,pixels,Usage\n0," + pixelsString(0) + ",Training\n9," + pixelsString(0) + ",Training\n",
		"2304 pixels":        "emotion,pixels,Usage\n0," + pixelsString(0) + ",Training\n1,1 2 3,Training\n",
		"pixel values 0-255": "emotion,pixels,Usage\n0," + pixelsString(0) + ",Training\n1,300" + pixelsString(0)[1:] + ",Training\n",
	}
	for want, csv := range cases {
		dir := t.TempDir()
		writeTree(t, dir, map[string][]byte{"fer2013.csv": []byte(csv)})
		_, err := Open("fer2013csv", dir, Options{})
		if err == nil || !strings.Contains(err.Error(), "fer2013.csv:3") || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v: want fer2013.csv:3 and %q", err, want)
		}
	}
}

func TestFERPlus(t *testing.T) {
	csv := fer2013CSV([][3]string{
		{"0", pixelsString(0), "Training"},
		{"3", pixelsString(1), "Training"},
		{"4", pixelsString(2), "PublicTest"},
		{"2", pixelsString(3), "PublicTest"},
		{"6", pixelsString(4), "PrivateTest"},
	})
	// neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF
	plus := "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n" +
		"Training,fer0000000.png,0,0,0,0,9,1,0,0,0,0\n" + // anger, the single disgust vote is noise
		"Training,fer0000001.png,4,4,0,0,0,0,0,2,0,0\n" + // split vote: dropped
		"PublicTest,fer0000002.png,0,0,0,0,0,0,0,0,2,8\n" + // not a face: dropped
		"PublicTest,,0,0,0,0,0,0,0,0,0,10\n" + // removed by FER+
		"PrivateTest,fer0000004.png,2,0,0,0,0,0,0,8,0,0\n" // contempt
	d := mustOpen(t, "ferplus", allLayouts(t, map[string][]byte{"fer2013.csv": csv, "fer2013new.csv": []byte(plus)})["tar.gz"])
	if len(d.Items) != 2 {
		t.Fatalf("%d items, want 2: %+v", len(d.Items), d.Items)
	}
	if d.Items[0].Label != fernb.Angry || d.Items[1].Label != fernb.Contempt || d.Items[1].Split != "privatetest" {
		t.Errorf("labels %v %v", d.Items[0].Label, d.Items[1].Label)
	}
	if s := d.Items[1].Soft; s[fernb.Contempt] != 0.8 || s[fernb.Neutral] != 0.2 {
		t.Errorf("soft label %v, want contempt 0.8 neutral 0.2", s)
	}
	if s := d.Items[0].Soft; s[fernb.Angry] != 1 || s[fernb.Disgust] != 0 {
		t.Errorf("soft label %v, want anger 1 (single vote removed)", s)
	}
	if got := d.Report.Dropped; len(got) != 2 {
		t.Errorf("dropped %v", got)
	}
}

func TestRAFDB(t *testing.T) {
	list := "train_00001.jpg 5\ntrain_00002.jpg 1\n\ntest_0001.jpg 7\ntest_0002.jpg 4\n"
	files := map[string][]byte{
		"basic/EmoLabel/list_patition_label.txt":      []byte(list),
		"basic/Image/aligned/train_00001_aligned.jpg": jpegBytes(t, grayImage(100, 100, 1)),
		"basic/Image/aligned/train_00002_aligned.jpg": jpegBytes(t, grayImage(100, 100, 2)),
		"basic/Image/aligned/test_0001_aligned.jpg":   jpegBytes(t, grayImage(100, 100, 3)),
		"basic/Image/original/train_00001.jpg":        jpegBytes(t, grayImage(120, 90, 1)),
	}
	d := mustOpen(t, "rafdb", allLayouts(t, files)["tar"])
	want := []fernb.Label{fernb.Sad, fernb.Surprise, fernb.Neutral}
	if len(d.Items) != 3 || len(d.Report.Missing) != 1 || d.Report.Missing[0] != "basic/Image/aligned/test_0002_aligned.jpg" {
		t.Fatalf("items %+v missing %v", d.Items, d.Report.Missing)
	}
	for i, it := range d.Items {
		if it.Label != want[i] {
			t.Errorf("item %d: %v want %v", i, it.Label, want[i])
		}
	}
	if d.Items[2].Split != "test" {
		t.Errorf("split %q", d.Items[2].Split)
	}
	x, err := d.Load(context.Background(), d.Items, Preprocess{Height: 32, Width: 32, Channels: 3, CenterCrop: 0.8})
	if err != nil || x.N != 3 {
		t.Fatalf("load: %v %v", x, err)
	}
	d2, err := Open("rafdb", allLayouts(t, files)["dir"], Options{RAFImages: "original"})
	if err != nil || len(d2.Items) != 1 {
		t.Fatalf("original images: %v %v", d2, err)
	}
	files["basic/EmoLabel/list_patition_label.txt"] = []byte("train_00001.jpg 5\ntrain_00002.jpg happy\n")
	_, err = Open("rafdb", allLayouts(t, files)["dir"], Options{})
	if err == nil || !strings.Contains(err.Error(), "list_patition_label.txt:2") || !strings.Contains(err.Error(), "label 1-7") {
		t.Errorf("bad label line: %v", err)
	}
}

// ckFiles builds a CK+ tree: subjects S005 and S010, sequences of 6 frames
// (S010/002 has 3 frames and no emotion file, like unlabelled CK+ sequences).
func ckFiles(t testing.TB) map[string][]byte {
	files := map[string][]byte{}
	seq := func(s, q string, n int, code string) {
		for f := 1; f <= n; f++ {
			name := fmt.Sprintf("%s_%s_%08d.png", s, q, f)
			files[fmt.Sprintf("cohn-kanade-images/%s/%s/%s", s, q, name)] = pngBytes(t, grayImage(64, 48, f))
		}
		if code != "" {
			files[fmt.Sprintf("Emotion/%s/%s/%s_%s_%08d_emotion.txt", s, q, s, q, n)] = []byte("   " + code + "\n")
		}
	}
	seq("S005", "001", 6, "3.0000000e+00")
	seq("S010", "001", 6, "2.0000000e+00")
	seq("S010", "002", 3, "")
	seq("S011", "004", 5, "5.0000000e+00")
	return files
}

func TestCKPlusProtocol(t *testing.T) {
	d := mustOpen(t, "ckplus", allLayouts(t, ckFiles(t))["zip"])
	if len(d.Items) != 12 {
		t.Fatalf("%d items, want 3 sequences x 4", len(d.Items))
	}
	first := d.Items[0]
	if first.Label != fernb.Neutral || !strings.HasSuffix(first.Ref, "S005_001_00000001.png") || first.Subject != "S005" {
		t.Errorf("first frame: %+v", first)
	}
	for i, want := range []string{"00000004", "00000005", "00000006"} {
		it := d.Items[1+i]
		if it.Label != fernb.Disgust || !strings.Contains(it.Ref, want) {
			t.Errorf("peak frame %d: %+v", i, it)
		}
	}
	if d.Items[5].Label != fernb.Contempt {
		t.Errorf("S010 label %v, want contempt (kept as the eighth label)", d.Items[5].Label)
	}
	kept, note := Basic7(d.Items)
	if len(kept) != 9 || !strings.Contains(note, "contempt: 3") {
		t.Errorf("Basic7: %d kept, note %q", len(kept), note)
	}
	folds, err := SubjectKFold(d.Items, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	for _, f := range folds {
		subj := map[string]bool{}
		for _, i := range f.Test {
			subj[d.Items[i].Subject] = true
			seen[i]++
		}
		for _, i := range f.Train {
			if subj[d.Items[i].Subject] {
				t.Errorf("%s: subject %s in train and test", f.Name, d.Items[i].Subject)
			}
		}
		if len(f.Train)+len(f.Test) != len(d.Items) {
			t.Errorf("%s: %d+%d items", f.Name, len(f.Train), len(f.Test))
		}
	}
	if len(seen) != len(d.Items) {
		t.Errorf("folds test %d of %d items", len(seen), len(d.Items))
	}
	again, _ := SubjectKFold(d.Items, 3, 1)
	if !reflect.DeepEqual(folds, again) {
		t.Error("SubjectKFold is not deterministic for a seed")
	}
	files := ckFiles(t)
	files["Emotion/S005/001/S005_001_00000006_emotion.txt"] = []byte("9.0\n")
	if _, err := Open("ckplus", allLayouts(t, files)["dir"], Options{}); err == nil || !strings.Contains(err.Error(), "S005_001_00000006_emotion.txt:1") {
		t.Errorf("bad emotion file: %v", err)
	}
}

func TestJAFFEAndLOSO(t *testing.T) {
	files := map[string][]byte{
		"jaffe/KA.AN1.39.tiff":  pngBytes(t, grayImage(32, 32, 1)), // content need not be TIFF for labels
		"jaffe/KA.HA2.30.tiff":  pngBytes(t, grayImage(32, 32, 2)),
		"jaffe/KL.SU1.164.tiff": pngBytes(t, grayImage(32, 32, 3)),
		"jaffe/YM.NE3.51.tiff":  pngBytes(t, grayImage(32, 32, 4)),
		"jaffe/README.tiff":     pngBytes(t, grayImage(32, 32, 4)),
	}
	d := mustOpen(t, "jaffe", allLayouts(t, files)["dir"])
	if len(d.Items) != 4 || len(d.Report.Ignored) != 1 {
		t.Fatalf("items %+v ignored %v", d.Items, d.Report.Ignored)
	}
	if d.Items[0].Subject != "KA" || d.Items[0].Label != fernb.Angry || d.Items[3].Label != fernb.Neutral {
		t.Errorf("items %+v", d.Items)
	}
	folds, err := LeaveOneSubjectOut(d.Items)
	if err != nil || len(folds) != 3 || len(folds[0].Test) != 2 || len(folds[0].Train) != 2 || folds[0].Name != "subject-KA" {
		t.Errorf("folds %+v %v", folds, err)
	}
}

func TestMMI(t *testing.T) {
	csv := "file,subject,label,split\nframes/s1_a.png,1,happy,train\nframes/s2_b.png,2,Surprise,test\nframes/gone.png,2,sad,test\n"
	files := map[string][]byte{
		"mmi/labels.csv":        []byte(csv),
		"mmi/frames/s1_a.png":   pngBytes(t, grayImage(16, 16, 1)),
		"mmi/frames/s2_b.png":   pngBytes(t, grayImage(16, 16, 2)),
		"mmi/frames/unused.png": pngBytes(t, grayImage(16, 16, 2)),
	}
	d := mustOpen(t, "mmi", allLayouts(t, files)["tar.gz"])
	if len(d.Items) != 2 || d.Items[1].Label != fernb.Surprise || d.Items[1].Split != "test" || d.Items[0].Subject != "1" {
		t.Fatalf("items %+v", d.Items)
	}
	if len(d.Report.Missing) != 1 || d.Report.Missing[0] != "mmi/frames/gone.png" {
		t.Errorf("missing %v", d.Report.Missing)
	}
	files["mmi/labels.csv"] = []byte("file,subject,label\nframes/s1_a.png,1,smirk\n")
	_, err := Open("mmi", allLayouts(t, files)["dir"], Options{})
	if err == nil || !strings.Contains(err.Error(), "labels.csv:2") || !strings.Contains(err.Error(), "known:") {
		t.Errorf("unknown class: %v", err)
	}
}

func TestCrossDataset(t *testing.T) {
	a := []Item{{Label: fernb.Angry}, {Label: fernb.Contempt}, {Label: fernb.Happy}}
	b := []Item{{Label: fernb.Happy}, {Label: fernb.Angry}, {Label: fernb.Fear}}
	train, test, shared, note := CrossDataset(a, b)
	if !reflect.DeepEqual(shared, []fernb.Label{fernb.Angry, fernb.Happy}) || len(train) != 2 || len(test) != 2 {
		t.Errorf("shared %v train %d test %d", shared, len(train), len(test))
	}
	if !strings.Contains(note, "train: ") || !strings.Contains(note, "contempt: 1") || !strings.Contains(note, "fear: 1") {
		t.Errorf("note %q", note)
	}
	tr, va := StratifiedSplit(append(a, b...), 0.5, 3)
	if len(tr)+len(va) != 6 {
		t.Errorf("stratified split lost items: %v %v", tr, va)
	}
}

func TestSyntheticFormat(t *testing.T) {
	d := mustOpen(t, "synthetic", "wild,n=21,seed=3")
	if len(d.Items) != 21 {
		t.Fatalf("%d items", len(d.Items))
	}
	for _, it := range d.Items {
		if !it.Label.Valid() || it.Subject == "" || it.Split != "wild" {
			t.Fatalf("item %+v", it)
		}
	}
	x, err := d.Load(context.Background(), d.Items[:5], Preprocess{Height: 32, Width: 32, Channels: 1})
	if err != nil || x.N != 5 {
		t.Fatalf("load: %v", err)
	}
	y, _ := mustOpen(t, "synthetic", "wild,n=21,seed=3").Load(context.Background(), d.Items[:5], Preprocess{Height: 32, Width: 32, Channels: 1})
	if !reflect.DeepEqual(x.X, y.X) {
		t.Error("synthetic data is not deterministic")
	}
	var lo, hi float32 = 1, 0
	for _, v := range x.X {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo < 0 || hi > 1 || hi-lo < 0.2 {
		t.Errorf("synthetic pixels span [%v,%v]", lo, hi)
	}
	if _, err := Open("synthetic", "lab,q=3", Options{}); err == nil {
		t.Error("unknown spec key accepted")
	}
}

func TestStatsCounts(t *testing.T) {
	d := mustOpen(t, "folder", allLayouts(t, folderFiles(t))["tar"])
	st, err := d.ComputeStats(context.Background(), d.Items, "", true, Preprocess{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Images != 7 || st.Skipped != 3 || st.Classes["angry"] != 2 || st.Classes["contempt"] != 1 || st.Classes["fear"] != 0 || st.Subjects != nil {
		t.Errorf("stats %+v", st)
	}
	d2 := mustOpen(t, "ckplus", allLayouts(t, ckFiles(t))["dir"])
	st2, _ := d2.ComputeStats(context.Background(), d2.Items, "", false, Preprocess{})
	if st2.Images != 12 || st2.Subjects == nil || *st2.Subjects != 3 || st2.Classes["neutral"] != 3 {
		t.Errorf("ck stats %+v", st2)
	}
}

func TestLoadTensorsOneCall(t *testing.T) {
	p := allLayouts(t, folderFiles(t))["tar.gz"]
	x, rep, err := LoadTensors(context.Background(), "folder", p, "test", Preprocess{Height: 16, Width: 16, Channels: 1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// test split: sad, neutral load; broken.jpg, truncated.png, bomb.png skipped.
	if x.N != 2 || rep.Skipped() != 3 || x.Validate() != nil {
		t.Errorf("loaded %d, skipped %d", x.N, rep.Skipped())
	}
	c := x.ClassCounts()
	if c[fernb.Sad] != 1 || c[fernb.Neutral] != 1 {
		t.Errorf("class counts %v", c)
	}
}

func TestSymlinkedRootAndFiles(t *testing.T) {
	files := map[string][]byte{"happy/a.png": pngBytes(t, grayImage(4, 4, 1)), "extra/b.png": pngBytes(t, grayImage(4, 4, 2))}
	root := t.TempDir()
	writeTree(t, filepath.Join(root, "real"), files)
	if err := os.Symlink(filepath.Join(root, "real", "extra", "b.png"), filepath.Join(root, "real", "happy", "b.png")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	os.RemoveAll(filepath.Join(root, "real", "extra")) // dangling links are ignored
	os.WriteFile(filepath.Join(root, "real", "happy", "c.png"), pngBytes(t, grayImage(4, 4, 3)), 0o644)
	os.Symlink(filepath.Join(root, "real", "happy", "c.png"), filepath.Join(root, "real", "happy", "d.png"))
	os.Symlink(filepath.Join(root, "real"), filepath.Join(root, "link"))
	d := mustOpen(t, "folder", filepath.Join(root, "link"))
	if len(d.Items) != 3 {
		t.Errorf("items %+v, want a.png, c.png and the link d.png", d.Items)
	}
}
