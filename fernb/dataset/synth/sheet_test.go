package synth

import (
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestContactSheet writes one PNG contact sheet per domain into a temporary
// folder (or into $FERNB_SYNTH_SHEETS when set, for looking at the faces; the
// face size is $FERNB_SYNTH_SHEET_SIZE, default 48).
func TestContactSheet(t *testing.T) {
	dir := os.Getenv("FERNB_SYNTH_SHEETS")
	if dir == "" {
		dir = t.TempDir()
	}
	size := 48
	if v := os.Getenv("FERNB_SYNTH_SHEET_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("FERNB_SYNTH_SHEET_SIZE: %v", err)
		}
		size = n
	}
	for _, d := range Domains() {
		for _, ch := range []int{1, 3} {
			sheet, err := ContactSheet(Config{Domain: d, Seed: 7, Size: size, Channels: ch}, 10)
			if err != nil {
				t.Fatal(err)
			}
			rows := 7
			if d == Pool {
				rows = 8
			}
			if got, want := sheet.Bounds().Dy(), rows*(size+2)+2; got != want {
				t.Errorf("%s sheet height %d, want %d", d, got, want)
			}
			name := filepath.Join(dir, string(d)+map[int]string{1: "-gray", 3: "-rgb"}[ch]+".png")
			fh, err := os.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(fh, sheet); err != nil {
				t.Fatal(err)
			}
			if err := fh.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
