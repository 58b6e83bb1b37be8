package dataset

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/fernb/fernb/fernb"
)

// Fuzz targets for every parser. With plain `go test` they run their seed
// corpus; `go test -fuzz FuzzX ./fernb/dataset` explores further. Each
// checks the parser's contract, not only that it does not panic: accepted
// input yields values in range, rejected input yields an error that names
// the file.

func FuzzFER2013CSV(f *testing.F) {
	f.Add("emotion,pixels,Usage\n0," + pixelsString(0) + ",Training\n")
	f.Add("emotion,pixels,Usage\n7," + pixelsString(0) + ",Training\n")
	f.Add("emotion,pixels\n\"3\",\"" + pixelsString(5) + "\"\n")
	f.Add("pixels,emotion\n1 2 3,0\n")
	f.Add("emotion,pixels,Usage\n0,,Training\n0,\"unterminated\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		n := 0
		err := ParseFER2013CSV(strings.NewReader(s), "f.csv", func(r FER2013Row) error {
			n++
			if !r.Label.Valid() || r.Label == fernb.Contempt || len(r.Pixels) != 48*48 || r.Line < 2 {
				t.Fatalf("bad row accepted: label %v, %d pixels, line %d", r.Label, len(r.Pixels), r.Line)
			}
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "f.csv") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

func FuzzFERPlusCSV(f *testing.F) {
	h := "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
	f.Add(h + "Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0\n")
	f.Add(h + "Training,,0,0,0,0,0,0,0,0,0,10\n")
	f.Add(h + "Training,a.png,1,1,1,1,1,1,1,1,1,1\n")
	f.Add(h + "Training,a.png,-1,0,0,0,0,0,0,0,0,0\n")
	f.Add(h + "Training,a.png,NaN,0,0,0,0,0,0,0,0,0\n")
	f.Fuzz(func(t *testing.T, s string) {
		err := ParseFERPlusCSV(strings.NewReader(s), "new.csv", func(r FERPlusRow) error {
			l, soft, ok := r.Majority()
			if !ok {
				return nil
			}
			if !l.Valid() || len(soft) != fernb.NumLabels {
				t.Fatalf("majority %v soft %v", l, soft)
			}
			var sum float32
			for _, v := range soft {
				if v < 0 || v != v {
					t.Fatalf("soft label %v", soft)
				}
				sum += v
			}
			if sum < 0.999 || sum > 1.001 || soft[l] <= 0.5 {
				t.Fatalf("soft label %v sums to %v, majority %v", soft, sum, l)
			}
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "new.csv") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

func FuzzRAFList(f *testing.F) {
	f.Add("train_00001.jpg 5\ntest_0001.jpg 1\n")
	f.Add("train_00001.jpg 8\n")
	f.Add("train_00001.jpg\n")
	f.Add("../../etc/passwd 3\n")
	f.Add("a.jpg 3 extra\n\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		es, err := ParseRAFList([]byte(s), "list.txt")
		if err != nil {
			if !strings.Contains(err.Error(), "list.txt:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		for _, e := range es {
			if !e.Label.Valid() || e.Label == fernb.Contempt || strings.ContainsAny(e.Image, "/\\") {
				t.Fatalf("bad entry accepted: %+v", e)
			}
		}
	})
}

func FuzzCKEmotion(f *testing.F) {
	f.Add("   3.0000000e+00\n")
	f.Add("7")
	f.Add("8.0")
	f.Add("2.5")
	f.Add("1 2")
	f.Add("NaN")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseCKEmotion([]byte(s), "e.txt")
		if err == nil && !l.Valid() {
			t.Fatalf("label %v accepted", l)
		}
		if err != nil && !strings.Contains(err.Error(), "e.txt:1") {
			t.Fatalf("error without file:line: %v", err)
		}
	})
}

func FuzzFileNameCodes(f *testing.F) {
	for _, s := range []string{"KA.AN1.39.tiff", "KL.SU1.164.TIFF", "YM.XX1.2.tiff", "S005_001_00000011.png",
		"S005_001_00000011_emotion.txt", "S5_1_x.png", "train/angry/a.jpg", "a.jpg", "x/unknownclass/b.png", "test/Happiness/c.png"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if subj, l, err := ParseJAFFEName(s); err == nil {
			if len(subj) != 2 || !l.Valid() || l == fernb.Contempt {
				t.Fatalf("JAFFE %q -> %q %v", s, subj, l)
			}
		}
		if n, ok := ParseCKFrameName(s); ok {
			if !strings.HasPrefix(n.Subject, "S") || n.Frame < 0 || n.Sequence == "" {
				t.Fatalf("CK %q -> %+v", s, n)
			}
		}
		l, split, _, err := ParseFolderPath(s)
		if err == nil && !l.Valid() {
			t.Fatalf("folder %q -> %v", s, l)
		}
		if err == nil && split != "" && split != normSplit(split) {
			t.Fatalf("folder split %q not normalised", split)
		}
	})
}

func FuzzMMICSV(f *testing.F) {
	f.Add("file,subject,label\na.png,1,happy\n")
	f.Add("file,subject,label,split\na.png,1,Surprise,test\n")
	f.Add("file,subject,label\n../a.png,1,happy\n")
	f.Add("file,label\na.png,happy\n")
	f.Add("file,subject,label\na.png,1,smirk\n")
	f.Fuzz(func(t *testing.T, s string) {
		rows, err := ParseMMICSV(strings.NewReader(s), "labels.csv")
		if err != nil {
			if !strings.Contains(err.Error(), "labels.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, r := range rows {
			if !r.Label.Valid() || r.File == "" || strings.Contains(r.File, "..") || strings.HasPrefix(r.File, "/") {
				t.Fatalf("bad row accepted: %+v", r)
			}
		}
	})
}

// FuzzRecordIO round-trips records through the writer and reader, and
// feeds arbitrary bytes to the reader, which must return records or an
// error and never loop or panic.
func FuzzRecordIO(f *testing.F) {
	var b bytes.Buffer
	w := NewRecordWriter(&b, nil)
	w.Write(0, PackIR(3, nil, 1, 0, []byte("jpegdata")))
	w.Write(1, PackIR(0, []float32{1, 2}, 0, 0, nil))
	f.Add(b.Bytes(), []byte("img"), uint8(0))
	f.Add([]byte{0x0a, 0x23, 0xd7, 0xce, 0xff, 0xff, 0xff, 0xff}, []byte{0x0a, 0x23, 0xd7, 0xce}, uint8(2))
	f.Add([]byte{}, []byte{}, uint8(1))
	f.Fuzz(func(t *testing.T, raw, img []byte, nl uint8) {
		rr := NewRecordReader(bytes.NewReader(raw), 0, 1<<16)
		for i := 0; i < len(raw)/8+2; i++ {
			r, err := rr.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrRecordIO) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("unexpected error type: %v", err)
				}
				if !errors.Is(err, ErrTooLarge) {
					break
				}
				continue
			}
			if int(r.Flag) != len(r.Labels) && r.Flag > 0 {
				t.Fatalf("flag %d with %d labels", r.Flag, len(r.Labels))
			}
		}
		labels := make([]float32, nl%5)
		for i := range labels {
			labels[i] = float32(i)
		}
		var out bytes.Buffer
		if err := NewRecordWriter(&out, nil).Write(0, PackIR(1, labels, 7, 8, img)); err != nil {
			t.Fatal(err)
		}
		if out.Len()%4 != 0 {
			t.Fatalf("record not padded to 4 bytes: %d", out.Len())
		}
		r, err := NewRecordReader(&out, 0, 0).Next()
		if err != nil || !bytes.Equal(r.Image, img) || len(r.Labels) != len(labels) || r.ID != 7 || r.ID2 != 8 {
			t.Fatalf("round trip: %+v %v", r, err)
		}
	})
}

func FuzzRecordIndex(f *testing.F) {
	f.Add("0\t0\n1\t1024\n")
	f.Add("1\t3\n")
	f.Add("x y\n")
	f.Fuzz(func(t *testing.T, s string) {
		es, err := ParseRecordIndex(strings.NewReader(s), "t.idx")
		if err != nil {
			if !strings.Contains(err.Error(), "t.idx:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		for i, e := range es {
			if e.Offset < 0 || e.Offset%4 != 0 || (i > 0 && e.Offset < es[i-1].Offset) {
				t.Fatalf("bad entries %v", es)
			}
		}
	})
}

// FuzzDecodeImage checks that arbitrary bytes never get past the pixel
// limit or panic the decoders.
func FuzzDecodeImage(f *testing.F) {
	f.Add(pngBytes(f, grayImage(4, 4, 1)))
	f.Add(jpegBytes(f, grayImage(8, 8, 1)))
	f.Add(bombPNG(100000, 100000))
	f.Add(webp1x1)
	f.Add([]byte("GIF89a\xff\xff\xff\xff"))
	f.Add([]byte("BM"))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeImage(data, 1<<16)
		if err == nil {
			b := img.Bounds()
			if int64(b.Dx())*int64(b.Dy()) > 1<<16 {
				t.Fatalf("decoded %v past the limit", b)
			}
			dst := make([]float32, 4*4)
			Preprocess{Height: 4, Width: 4, Channels: 1}.Apply(img, dst)
		}
	})
}
