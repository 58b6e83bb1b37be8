package synth_test

import (
	"fmt"

	"github.com/fernb/fernb/fernb/dataset/synth"
)

// A labelled lab set and a stream over an unlabelled pool.
func Example() {
	lab, err := synth.Generate(synth.Config{Domain: synth.Lab, N: 14, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(lab), lab[0].Img.Bounds().Dx(), lab[0].Label.Valid())

	pool, err := synth.New(synth.Config{Domain: synth.Pool, Seed: 1, Channels: 3, Size: 64})
	if err != nil {
		panic(err)
	}
	buf := make([]float32, 64*64*3)
	unclear := 0
	for i := range 100 { // any index: a pool of 100k is streamed the same way
		f, err := pool.Float32(i, buf)
		if err != nil {
			panic(err)
		}
		if f.TrueLabel < 0 {
			unclear++
		}
	}
	fmt.Println("pool faces of no clear expression:", unclear)
	// Output:
	// 14 48 true
	// pool faces of no clear expression: 20
}
