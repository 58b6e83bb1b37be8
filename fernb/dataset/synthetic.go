package dataset

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/fernb/fernb/fernb/dataset/synth"
)

// SynthSpec selects a synthetic data set: the embedded default that runs on
// a fresh machine with no data downloaded. Its text form, used as the
// "path" of format synthetic, is synth.ParseConfig's: a domain (lab, wild,
// pool) and key=value pairs such as n, seed, size, channels, identities,
// first_identity, e.g. "wild,n=700,seed=2,first_identity=100". When size is
// left out, faces are rendered at the Preprocess size; n defaults to 700.
type SynthSpec struct {
	Config synth.Config
}

// DefaultSynthN is the number of faces of a synthetic spec without n=.
const DefaultSynthN = 700

// ParseSynthSpec parses the text form of a SynthSpec.
func ParseSynthSpec(s string) (SynthSpec, error) {
	cfg, err := synth.ParseConfig(s)
	if err != nil {
		return SynthSpec{}, fmt.Errorf("dataset: synthetic: %w", err)
	}
	if cfg.N == 0 {
		cfg.N = DefaultSynthN
	}
	if cfg.N < 0 {
		return SynthSpec{}, fmt.Errorf("dataset: synthetic spec %q: n must be positive", s)
	}
	return SynthSpec{Config: cfg}, nil
}

type synthSource struct {
	spec SynthSpec
	idx  map[string]int
}

func (d *Dataset) openSynthetic(p string, opt Options) error {
	spec := opt.Synth
	if p != "" || spec.Config.N == 0 {
		var err error
		if spec, err = ParseSynthSpec(p); err != nil {
			return err
		}
	}
	// Labels and identities do not depend on pixels: list them from the
	// generator's metadata without rendering a face.
	g, err := synth.New(spec.Config)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	n := spec.Config.N
	d.synth = &synthSource{spec: spec, idx: make(map[string]int, n)}
	for i := range n {
		f := g.Meta(i)
		ref := g.Ref(i)
		d.synth.idx[ref] = i
		d.Items = append(d.Items, Item{Ref: ref, Label: f.Label, Subject: f.Subject(), Split: string(spec.Config.Domain), recOff: -1})
	}
	return nil
}

// generator renders at the preprocess size when the spec leaves size open.
func (s *synthSource) generator(pre Preprocess) (*synth.Generator, error) {
	cfg := s.spec.Config
	if cfg.Size == 0 {
		cfg.Size = max(pre.Height, pre.Width, 16)
	}
	cfg.Channels = pre.Channels
	return synth.New(cfg)
}

func (s *synthSource) render(ctx context.Context, items []Item, pre Preprocess, t *Tensors, ok []bool, report *Report) error {
	g, err := s.generator(pre)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	size := g.Config().Size
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]float32, size*size*pre.Channels)
			for i := range next {
				k, found := s.idx[items[i].Ref]
				if !found {
					continue
				}
				if _, err := g.Float32(k, buf); err != nil {
					continue
				}
				for j := range buf {
					buf[j] *= 255
				}
				if pre.finish(buf, size, size, t.Image(i), items[i].Ref, report) == nil {
					ok[i] = true
				}
			}
		}()
	}
	for i := range items {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return ctx.Err()
}
