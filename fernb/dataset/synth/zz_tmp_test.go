package synth

import (
	"image"
	"image/png"
	"os"
	"testing"
)

func TestZZUpscale(t *testing.T) {
	for _, d := range []Domain{Lab, Wild} {
		sheet, err := ContactSheet(Config{Domain: d, Seed: 21}, 8)
		if err != nil {
			t.Fatal(err)
		}
		b := sheet.Bounds()
		k := 3
		up := image.NewRGBA(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
		for y := 0; y < b.Dy()*k; y++ {
			for x := 0; x < b.Dx()*k; x++ {
				up.Set(x, y, sheet.At(x/k, y/k))
			}
		}
		f, _ := os.Create("/tmp/up-" + string(d) + ".png")
		png.Encode(f, up)
		f.Close()
	}
}
