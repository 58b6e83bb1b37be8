package synth

import (
	"image"
	"math"

	"github.com/fernb/fernb/fernb"
)

// A face is drawn by evaluating, for every pixel, a stack of layers defined
// by signed distances in "face units": the image spans [-1, 1] on both axes
// (y down), the head is centred at the origin before pose is applied. Edges
// are anti-aliased by turning each signed distance into a coverage over one
// pixel, so the same face renders cleanly at 16 or 1024 pixels. Pose is an
// inverse map from pixels to the face: a similarity (roll, scale, shift) for
// the whole head, then a cylinder for yaw, under which the eyes, nose and
// mouth slide towards the turned-away side and are foreshortened.

// scene is everything needed to shade one face.
type scene struct {
	p    person
	e    expr
	l    look
	size int

	// Derived geometry (face units).
	cr, sr, aa     float64 // roll cos/sin, pixel size in face units
	yawSin         float64
	eyeUp, eyeLo   float64
	irisR          float64
	browY          float64
	browIn, browOu [2]float64 // x, y of the right-side inner and outer brow ends
	browMid        [2]float64
	mouthW, gap    float64
	roundExp       float64
	lipUp, lipLo   float64
	teethUp        float64
	fold           float64
	eyeReach       float64 // how far from the eye line eye drawing reaches
	mouthReach     float64 // how far from the mouth line mouth drawing reaches
	lightCos       float64
	lightSin       float64
	bgCos, bgSin   float64
	handSkin       rgb
	occCos, occSin float64
}

func newScene(p person, e expr, l look, size int) *scene {
	s := &scene{p: p, e: e, l: l, size: size}
	s.cr, s.sr = math.Cos(l.roll), math.Sin(l.roll)
	s.aa = 2 / float64(size) / l.scale
	s.yawSin = math.Sin(l.yaw)
	s.eyeUp = fmax(0.005, p.eyeH*(1+0.8*e.eyeOpen))
	s.eyeLo = fmax(0.004, p.eyeH*0.7*(1+0.35*e.eyeOpen)-0.02*clamp(e.cheek, 0, 1.2))
	s.irisR = 0.42 * p.eyeW
	s.browY = p.eyeY - p.browGap - 0.075*e.browRaise
	inX := p.eyeSep - p.eyeW*0.95 - 0.025*clamp(e.furrow, 0, 1)
	ouX := p.eyeSep + p.eyeW*1.2
	inY := s.browY + 0.07*e.browInner
	ouY := s.browY + 0.015 - 0.02*fmax(0, e.browInner)
	s.browIn = [2]float64{inX, inY}
	s.browOu = [2]float64{ouX, ouY}
	s.browMid = [2]float64{(inX + ouX) / 2, (inY+ouY)/2 - 0.022 - 0.025*fmax(0, e.browRaise)}
	s.mouthW = p.mouthW * (1 + 0.3*e.stretch + 0.1*fmax(0, e.smile))
	s.gap = 0.24 * clamp(e.mouthOpen, 0, 1.2)
	s.roundExp = 1 - 0.5*clamp(e.round, 0, 1)
	press := 1 - 0.65*clamp(e.press, 0, 1)
	s.lipUp = p.lipThick * 0.85 * press
	s.lipLo = p.lipThick * 1.15 * press
	s.teethUp = clamp(e.teeth, 0, 1) * fmin(0.05, 0.5*s.gap)
	s.fold = clamp(0.12+0.6*fmax(0, e.smile)+0.8*e.upperLip+0.3*e.cheek, 0, 1)
	s.eyeReach = fmax(fmax(s.eyeUp+0.025, s.eyeLo+0.065), 0.1) + 2*s.aa
	s.mouthReach = 0.1*math.Abs(e.smile) + 0.65*s.gap + 0.05*math.Abs(e.upperLip) + s.lipUp + s.lipLo + 0.02 + 2*s.aa
	s.lightCos, s.lightSin = math.Cos(l.lightAngle), math.Sin(l.lightAngle)
	s.bgCos, s.bgSin = math.Cos(l.bgAngle), math.Sin(l.bgAngle)
	s.handSkin = p.skin.mul(rgb{0.92, 0.84, 0.82})
	s.occCos, s.occSin = math.Cos(l.occA), math.Sin(l.occA)
	s.l.clutter = append([]shape(nil), l.clutter...)
	for k := range s.l.clutter {
		sh := &s.l.clutter[k]
		sh.ca, sh.sa = math.Cos(sh.an), math.Sin(sh.an)
		sh.reach = 1.5*fmax(sh.w, sh.h) + s.aa
	}
	return s
}

// tri is a cheap periodic wave in [-1, 1] with period 1, for hair texture.
func tri(x float64) float64 {
	f := x - math.Floor(x)
	return 4*math.Abs(f-0.5) - 1
}

// cov turns a signed distance (negative inside) into pixel coverage.
func (s *scene) cov(d float64) float64 {
	c := 0.5 - d/s.aa
	if c <= 0 {
		return 0
	}
	if c >= 1 {
		return 1
	}
	return c
}

func blend(c, d rgb, a float64) rgb {
	if a <= 0 {
		return c
	}
	return rgb{c[0] + (d[0]-c[0])*a, c[1] + (d[1]-c[1])*a, c[2] + (d[2]-c[2])*a}
}

// darken multiplies c by (1-k*a).
func darken(c rgb, k, a float64) rgb {
	if a <= 0 {
		return c
	}
	return c.scale(1 - k*a)
}

// segDist is the distance from (px,py) to the segment a-b.
func segDist(px, py, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return hypot(px-ax, py-ay)
	}
	t := ((px-ax)*dx + (py-ay)*dy) / l2
	t = clamp(t, 0, 1)
	ex, ey := px-ax-t*dx, py-ay-t*dy
	return math.Sqrt(ex*ex + ey*ey)
}

// render draws the face into an RGB float buffer (linear [0,1], HWC).
func (s *scene) render(buf []float32) {
	n := s.size
	inv := 2 / float64(n)
	for py := range n {
		y := (float64(py)+0.5)*inv - 1
		for px := range n {
			x := (float64(px)+0.5)*inv - 1
			c := s.background(x, y)
			dx, dy := x-s.l.tx, y-s.l.ty
			u := (s.cr*dx + s.sr*dy) / s.l.scale
			v := (-s.sr*dx + s.cr*dy) / s.l.scale
			c = s.head(u, v, c)
			if s.l.occluder == occHand || s.l.occluder == occPatch {
				c = s.occlude(x, y, c)
			}
			// Light: a global gradient, brightness, contrast and colour cast.
			m := s.l.brightness * (1 + s.l.light*0.5*(x*s.lightCos+y*s.lightSin))
			for k := range 3 {
				c[k] = ((c[k]*m*s.l.cast[k])-0.5)*s.l.contrast + 0.5
			}
			o := (py*n + px) * 3
			buf[o], buf[o+1], buf[o+2] = float32(c[0]), float32(c[1]), float32(c[2])
		}
	}
}

func (s *scene) background(x, y float64) rgb {
	if !s.l.wild {
		return s.l.bg0.scale(1 - 0.08*(x*x+y*y))
	}
	t := clamp(0.5+0.5*(x*s.bgCos+y*s.bgSin), 0, 1)
	c := lerp(s.l.bg0, s.l.bg1, t)
	for k := range s.l.clutter {
		sh := &s.l.clutter[k]
		dx, dy := x-sh.x, y-sh.y
		if sh.kind != 2 && (dx > sh.reach || dx < -sh.reach || dy > sh.reach || dy < -sh.reach) {
			continue
		}
		a, b := sh.ca*dx+sh.sa*dy, -sh.sa*dx+sh.ca*dy
		var d float64
		switch sh.kind {
		case 0:
			d = fmax(math.Abs(a)-sh.w, math.Abs(b)-sh.h)
		case 1:
			d = (hypot(a/sh.w, b/sh.h) - 1) * fmin(sh.w, sh.h)
		default:
			d = math.Abs(b) - 0.04
		}
		c = blend(c, sh.c, s.cov(d))
	}
	return c
}

// head shades the body, hair, head and facial features at face coordinates
// (u, v) (after roll, scale and shift are undone; before yaw).
func (s *scene) head(u, v float64, c rgb) rgb {
	p := &s.p
	W, H := p.halfW, p.halfH
	au := math.Abs(u)
	if v > 0.3 {
		// Shoulders and neck.
		c = blend(c, p.shirt, s.cov((1.35-0.75*au)-v))
		c = blend(c, p.skin.scale(0.78), s.cov(fmax(au-W*0.55, 0.3-v)))
	}
	if p.hairStyle == hairLong {
		dTop := (hypot(u/(W+0.12), (v+0.05)/(H+0.1)) - 1) * (W + 0.12)
		c = blend(c, p.hair.scale(0.85), s.cov(fmin(fmax(au-(W+0.12), fmax(v-1.05, -v)), dTop)))
	}
	// Ears, the turned-away one hidden by yaw.
	if au < W+0.12 && math.Abs(v-p.eyeY-0.06) < 0.16 {
		side := 1.0
		if u < 0 {
			side = -1
		}
		ew := 0.065 * clamp(1+1.6*side*-s.yawSin, 0, 1.6)
		if ew > 0.005 {
			d := (hypot((au-(W-0.02))/ew, (v-p.eyeY-0.06)/0.12) - 1) * ew
			c = blend(c, p.skin.scale(0.88), s.cov(d))
		}
	}
	// Head outline: an ellipse narrowing towards the chin.
	tv := clamp(v/H, 0, 1)
	hw := W * (1 - p.taper*tv*tv)
	q := math.Sqrt((u/hw)*(u/hw) + (v/H)*(v/H))
	dHead := (q - 1) * fmin(hw, H)
	if p.hairStyle != hairBald && v < p.eyeY-0.05+s.aa {
		// Hair volume above and beside the head.
		top := (hypot(u/(W+0.05), (v+0.04)/(H+0.08)) - 1) * W
		c = blend(c, p.hair, s.cov(fmax(top, v-(p.eyeY-0.05))))
	}
	headCov := s.cov(dHead)
	if headCov <= 0 {
		return c
	}
	// Skin with soft shading towards the outline, brighter on the lit side.
	shade := 1 - 0.22*q*q*q*q
	skin := p.skin.scale(shade)
	f := s.features(u, v, skin)
	return blend(c, f, headCov)
}

// features shades the inside of the head. Yaw is applied here: (u, v) on the
// image maps to (uf, v) on a cylinder of radius W turned by yaw.
func (s *scene) features(u, v float64, c rgb) rgb {
	p, e := &s.p, &s.e
	W := p.halfW
	uf := u
	if s.l.yaw != 0 {
		a := math.Asin(clamp(u/W, -1, 1)) - s.l.yaw
		uf = W * math.Sin(clamp(a, -math.Pi/2, math.Pi/2))
	}
	// Hide what turns past the silhouette.
	aa := math.Abs(uf)

	// Forehead lines (surprise, fear).
	if e.foreheadLn > 0.05 && aa < 0.26 {
		for k := 1; k <= 3; k++ {
			yk := s.browY - 0.05 - 0.045*float64(k) + 0.25*uf*uf
			c = darken(c, 0.22*clamp(e.foreheadLn, 0, 1), s.cov(math.Abs(v-yk)-0.006))
		}
	}
	// Hair over the forehead (never below the brows).
	if p.hairStyle != hairBald && v < s.browY-0.05+s.aa {
		var hl float64
		switch p.hairStyle {
		case hairShort:
			hl = -0.52 + 0.35*(uf/W)*(uf/W)
		case hairFringe:
			hl = -0.36 + 0.02*tri(uf*6.4)
		case hairSide, hairLong:
			hl = -0.46 + 0.18*uf/W + 0.2*(uf/W)*(uf/W)
		}
		hl += p.hairline
		hl = fmin(hl, s.browY-0.05)
		c = blend(c, p.hair.scale(0.95+0.05*tri(uf*9.5+v*1.3)), s.cov(v-hl))
	}
	// Frown furrow between the brows.
	if e.furrow > 0.05 {
		for _, x := range [2]float64{-0.03, 0.03} {
			d := segDist(uf, v, x, s.browY+0.01, x*1.3, s.browY+0.085) - 0.006
			c = darken(c, 0.3*clamp(e.furrow, 0, 1), s.cov(d))
		}
	}
	// Beard stubble.
	if p.beard > 0 && v > p.mouthY-0.12 {
		c = darken(c, p.beard, clamp((v-p.mouthY+0.12)/0.15, 0, 1))
	}
	c = s.nose(uf, v, c)
	c = s.brows(uf, v, c)
	c = s.eyes(uf, v, c)
	c = s.mouth(uf, v, c)
	if s.l.occluder == occSunglasses {
		c = s.sunglasses(uf, v, c)
	}
	return c
}

func (s *scene) nose(uf, v float64, c rgb) rgb {
	p, e := &s.p, &s.e
	// The nose tip sticks out: it slides further than the face under yaw.
	un := uf - 0.08*s.yawSin
	if math.Abs(un) > 0.25 || v < p.eyeY || v > p.mouthY {
		return c
	}
	ny := p.noseY - 0.015*e.upperLip
	// Side shadow along the bridge.
	d := segDist(un, v, p.noseW*0.45, p.eyeY+0.05, p.noseW*0.85, ny-0.05) - 0.01
	c = darken(c, 0.12, s.cov(d))
	// Nose wrinkles (disgust).
	if e.noseWrink > 0.05 {
		for k := range 3 {
			yk := p.eyeY + 0.07 + 0.03*float64(k)
			d := fmax(math.Abs(v-yk)-0.006, math.Abs(un)-0.065)
			c = darken(c, 0.35*clamp(e.noseWrink, 0, 1), s.cov(d))
		}
	}
	// Tip shadow and nostrils.
	d = fmax(math.Abs(v-ny-0.012+0.2*un*un)-0.008, math.Abs(un)-p.noseW*0.8)
	c = darken(c, 0.25, s.cov(d))
	flare := 1 + 0.4*clamp(e.noseWrink, 0, 1)
	for _, sx := range [2]float64{-1, 1} {
		rx, ry := 0.024*flare, 0.014*flare
		d := (hypot((un-sx*p.noseW*0.62)/rx, (v-ny)/ry) - 1) * ry
		c = darken(c, 0.6, s.cov(d))
	}
	// Nasolabial folds: nose wings to mouth corners (smile, disgust).
	if s.fold > 0.02 && v > ny-0.04 && math.Abs(un) < fmax(p.noseW+0.05, s.mouthW)+0.07 {
		mc := s.mouthCentre(1)
		for _, sx := range [2]float64{-1, 1} {
			x0, y0 := sx*(p.noseW+0.025), ny-0.02
			x1, y1 := sx*(s.mouthW+0.04), mc+0.015
			xm, ym := sx*(fmax(p.noseW+0.05, s.mouthW)+0.045), (y0+y1)/2
			d := fmin(segDist(un, v, x0, y0, xm, ym), segDist(un, v, xm, ym, x1, y1)) - 0.007
			c = darken(c, 0.35*s.fold, s.cov(d))
		}
	}
	return c
}

func (s *scene) brows(uf, v float64, c rgb) rgb {
	if math.Abs(v-s.browY) > 0.16+2*s.aa || math.Abs(uf) > s.browOu[0]+0.06+2*s.aa {
		return c
	}
	ht := s.p.browThick
	for _, sx := range [2]float64{-1, 1} {
		d := fmin(
			segDist(uf, v, sx*s.browIn[0], s.browIn[1], sx*s.browMid[0], s.browMid[1])-ht,
			segDist(uf, v, sx*s.browMid[0], s.browMid[1], sx*s.browOu[0], s.browOu[1])-ht*0.75)
		c = blend(c, s.p.brow, s.cov(d))
	}
	return c
}

func (s *scene) eyes(uf, v float64, c rgb) rgb {
	p, e := &s.p, &s.e
	if math.Abs(v-p.eyeY) > s.eyeReach || math.Abs(uf) > p.eyeSep+1.5*p.eyeW {
		return c
	}
	for _, sx := range [2]float64{-1, 1} {
		cx := sx * p.eyeSep
		t := (uf - cx) / p.eyeW
		if math.Abs(t) > 1.5 {
			continue
		}
		// Socket shadow.
		d := (hypot(t/1.35, (v-p.eyeY+0.01)/0.085) - 1) * 0.08
		c = darken(c, 0.12, s.cov(d))
		tc := clamp(t, -1, 1)
		w := 1 - tc*tc
		up := p.eyeY - s.eyeUp*w
		lo := p.eyeY + s.eyeLo*w
		// Lower-lid bulge (cheek raise, happy).
		if e.cheek > 0.1 && math.Abs(t) < 0.9 {
			d := math.Abs(v-(lo+0.03+0.02*tc*tc)) - 0.006
			c = darken(c, 0.25*clamp(e.cheek, 0, 1), s.cov(d))
		}
		dEye := fmax(fmax(up-v, v-lo), (math.Abs(t)-1)*p.eyeW)
		if ce := s.cov(dEye); ce > 0 {
			white := rgb{0.93, 0.92, 0.9}
			ix := cx + s.l.gazeX + 0.03*s.yawSin
			r := hypot(uf-ix, v-p.eyeY)
			white = blend(white, p.iris, s.cov(r-s.irisR))
			white = blend(white, rgb{0.03, 0.03, 0.03}, s.cov(r-s.irisR*0.45))
			c = blend(c, white, ce)
		}
		// Upper lid and lashes: a dark line that marks the eye even when closed.
		if math.Abs(t) < 1.12 {
			d := math.Abs(v-up) - 0.014 - 0.006*w
			c = blend(c, rgb{0.08, 0.06, 0.05}, s.cov(d))
			d = math.Abs(v-lo) - 0.005
			c = darken(c, 0.3, s.cov(d))
		}
	}
	return c
}

// mouthCentre is the centre line of the lips at t in [-1, 1] across the mouth.
func (s *scene) mouthCentre(t float64) float64 {
	return s.p.mouthY - 0.08*s.e.smile*t*t + 0.015*s.e.smile
}

func (s *scene) mouth(uf, v float64, c rgb) rgb {
	p, e := &s.p, &s.e
	if math.Abs(v-p.mouthY) > s.mouthReach {
		return c
	}
	t := uf / s.mouthW
	if math.Abs(t) > 1.2 {
		return c
	}
	tc := clamp(t, -1, 1)
	w := 1 - tc*tc
	sw := math.Sqrt(w)
	open := math.Pow(w, s.roundExp)
	mc := s.mouthCentre(tc)
	raise := 0.045 * clamp(e.upperLip, 0, 1.2) * fmax(0, 1+0.9*e.sneer*tc) * sw
	yu := mc - fmax(0.35*s.gap*open, 0.008) - raise
	yl := mc + fmax(0.65*s.gap*open, 0.008)
	dh := (math.Abs(t) - 1) * s.mouthW
	dLip := fmax(fmax(yu-s.lipUp*(0.4+0.6*sw)-v, v-yl-s.lipLo*(0.3+0.7*sw)), dh)
	c = blend(c, p.lip, s.cov(dLip))
	dIn := fmax(fmax(yu-v, v-yl), dh)
	if ci := s.cov(dIn); ci > 0 {
		in := rgb{0.2, 0.05, 0.05}
		if s.teethUp > 0 {
			teeth := rgb{0.93, 0.91, 0.85}
			in = blend(in, teeth, s.cov(v-(yu+s.teethUp*open)))
			if e.teeth > 0.5 && s.gap > 0.06 {
				in = blend(in, teeth.scale(0.9), s.cov(yl-0.025*open-v))
			}
		}
		c = blend(c, in, ci)
	}
	return c
}

func (s *scene) sunglasses(uf, v float64, c rgb) rgb {
	p := &s.p
	dark := rgb{s.l.sunglassTint, s.l.sunglassTint, s.l.sunglassTint * 1.2}
	d := math.Inf(1)
	for _, sx := range [2]float64{-1, 1} {
		rx, ry := p.eyeW+0.06, 0.085
		d = fmin(d, (hypot((uf-sx*p.eyeSep)/rx, (v-p.eyeY)/ry)-1)*ry)
	}
	d = fmin(d, fmax(math.Abs(uf)-p.eyeSep, math.Abs(v-p.eyeY+0.04)-0.012))
	return blend(c, dark, s.cov(d))
}

// occlude draws a hand or an object in image coordinates.
func (s *scene) occlude(x, y float64, c rgb) rgb {
	l := &s.l
	dx, dy := x-l.occX, y-l.occY
	a, b := s.occCos*dx+s.occSin*dy, -s.occSin*dx+s.occCos*dy
	switch l.occluder {
	case occPatch:
		d := fmax(math.Abs(a)-l.occR*0.7, math.Abs(b)-l.occR*0.45)
		c = blend(c, l.occColour, s.cov(d*l.scale))
	case occHand:
		r := l.occR * 0.6
		d := (hypot(a/r, b/(r*1.15)) - 1) * r
		for k := range 4 {
			fx := (float64(k) - 1.5) * r * 0.5
			d = fmin(d, segDist(a, b, fx, -r*0.6, fx*1.15, -r*2.0+0.1*r*math.Abs(float64(k)-1.5))-r*0.2)
		}
		d = fmin(d, segDist(a, b, r*0.7, 0, r*1.5, -r*0.6)-r*0.22) // thumb
		d *= l.scale
		// A soft shadow around the hand sets it off from the face behind.
		c = darken(c, 0.35, s.cov(d-0.025)*(1-s.cov(d)))
		c = blend(c, s.handSkin, s.cov(d))
		// Finger gaps.
		for k := range 3 {
			fx := (float64(k) - 1) * r * 0.5
			g := fmax(math.Abs(a-fx)-0.008, fmax(b+r*0.6, -r*1.9-b))
			c = darken(c, 0.4, s.cov(g*l.scale)*s.cov(d))
		}
	}
	return c
}

// finish converts to the output channels, then adds blur and noise.
func finish(rgbBuf []float32, size, channels int, l *look, noise func() float64, out []float32) {
	if channels == 1 {
		for i := range size * size {
			out[i] = 0.299*rgbBuf[3*i] + 0.587*rgbBuf[3*i+1] + 0.114*rgbBuf[3*i+2]
		}
	} else {
		copy(out, rgbBuf)
	}
	if l.blur > 0.05 {
		gaussianBlur(out, size, channels, l.blur*float64(size)/48)
	}
	for i, v := range out {
		if l.noise > 0 {
			v += float32(l.noise * noise())
		}
		out[i] = quant(v)
	}
}

// quant rounds to the 8-bit grid so that Float32 and Face.Img agree exactly.
func quant(v float32) float32 {
	if v <= 0 {
		return 0
	}
	if v >= 1 {
		return 1
	}
	return float32(int(v*255+0.5)) / 255
}

// gaussianBlur blurs an HWC buffer in place with a separable kernel.
func gaussianBlur(buf []float32, size, ch int, sigma float64) {
	r := int(math.Ceil(2.5 * sigma))
	if r < 1 {
		return
	}
	k := make([]float32, 2*r+1)
	var sum float32
	for i := -r; i <= r; i++ {
		w := float32(math.Exp(-float64(i*i) / (2 * sigma * sigma)))
		k[i+r] = w
		sum += w
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float32, len(buf))
	// pass convolves along x (stride ch) or y (stride size*ch); edges clamp.
	pass := func(src, dst []float32, horizontal bool) {
		step := ch
		if !horizontal {
			step = size * ch
		}
		for y := range size {
			for x := range size {
				pos := x
				if !horizontal {
					pos = y
				}
				base := (y*size + x) * ch
				for c := range ch {
					var acc float32
					if pos >= r && pos < size-r {
						o := base + c - r*step
						for i := range k {
							acc += k[i] * src[o+i*step]
						}
					} else {
						for i := -r; i <= r; i++ {
							q := min(max(pos+i, 0), size-1) - pos
							acc += k[i+r] * src[base+c+q*step]
						}
					}
					dst[base+c] = acc
				}
			}
		}
	}
	pass(buf, tmp, true)
	pass(tmp, buf, false)
}

// domainSeed is the seed of the per-face streams: distinct per domain and
// identity range, so that a wild set does not repeat a lab set's classes.
func (c *Config) domainSeed() int64 {
	return int64(hash3(uint64(c.Seed), saltDomain^uint64(c.FirstIdentity)<<8, domainCode(c.Domain)))
}

// meta draws everything about face i but its capture condition and pixels.
func (g *Generator) meta(i int) (Face, person, expr) {
	c := &g.cfg
	dseed := c.domainSeed()
	f := Face{Index: i, Expression: Expression{Blend: fernb.Unlabelled}}

	// Class: a fresh permutation of the 7 classes for every block of 7
	// indices, so classes are balanced in any prefix.
	perm := newRand(dseed, saltClass, uint64(i/fernb.NumBasic)).Perm(fernb.NumBasic)
	class := fernb.Label(perm[i%fernb.NumBasic])
	f.Identity = c.FirstIdentity + int(hash3(uint64(dseed), saltIdentity, uint64(i))%uint64(c.Identities))
	p := newPerson(c.Seed, f.Identity)

	wild := c.Domain == Wild
	unclear := false
	if c.Domain == Pool {
		lr := newRand(dseed, saltLook, uint64(i))
		wild = lr.Float64() < max(c.WildFraction, 0)
		unclear = weyl(dseed, i, max(c.UnclearFraction, 0))
	}
	er := newRand(dseed, saltExpr, uint64(i))
	e := p.rest
	switch {
	case unclear:
		a := fernb.Label(er.IntN(fernb.NumBasic - 1)) // any but Neutral
		if a >= fernb.Neutral {
			a++
		}
		if er.Float64() < 0.5 {
			var others []fernb.Label
			for x := range fernb.Label(fernb.Neutral) {
				if x != a {
					others = append(others, x)
				}
			}
			b := others[er.IntN(len(others))]
			k := unif(er, 0.7, 1)
			e = e.add(prototype(a, er), 0.5*k).add(prototype(b, er), 0.5*k)
			f.Expression = Expression{Class: a, Blend: b, BlendWeight: 0.5, Intensity: k}
		} else {
			k := unif(er, 0.1, 0.3)
			e = e.add(prototype(a, er), k)
			f.Expression = Expression{Class: a, Blend: fernb.Unlabelled, Intensity: k}
		}
		f.TrueLabel = fernb.Unlabelled
	default:
		k := unif(er, c.MinIntensity, c.MaxIntensity)
		e = e.add(prototype(class, er), k)
		f.Expression = Expression{Class: class, Blend: fernb.Unlabelled, Intensity: k}
		f.TrueLabel = class
	}
	e = jitter(e, er, 0.1)
	f.Label = f.TrueLabel
	if c.Domain == Pool {
		f.Label = fernb.Unlabelled
	}
	f.Look = Lab
	if wild {
		f.Look = Wild
	}
	return f, p, e
}

// render computes face i: its metadata and its pixels (Channels per pixel,
// quantised to 8 bits, in [0,1]).
func (g *Generator) render(i int, out []float32) (Face, []float32) {
	c := &g.cfg
	dseed := c.domainSeed()
	f, p, e := g.meta(i)
	l := newLook(newRand(dseed, saltScene, uint64(i)), f.Look == Wild, c.WildSeverity)
	sc := newScene(p, e, l, c.Size)
	rgbBuf := make([]float32, c.Size*c.Size*3)
	sc.render(rgbBuf)
	if out == nil {
		out = make([]float32, c.Size*c.Size*c.Channels)
	}
	nr := newRand(dseed, saltNoise, uint64(i))
	finish(rgbBuf, c.Size, c.Channels, &l, nr.NormFloat64, out)
	return f, out
}

func domainCode(d Domain) uint64 {
	switch d {
	case Wild:
		return 2
	case Pool:
		return 3
	}
	return 1
}

// weyl reports whether index i is one of the "unclear" faces: i is chosen iff
// floor((i+1)f+φ) > floor(i f+φ), which picks a fraction f of any run of
// indices (to within one) while staying random-access.
func weyl(seed int64, i int, f float64) bool {
	if f <= 0 {
		return false
	}
	phi := float64(mix(uint64(seed)^saltUnclear)>>11) / (1 << 53)
	return math.Floor(float64(i+1)*f+phi) > math.Floor(float64(i)*f+phi)
}

func toImage(buf []float32, size, channels int) image.Image {
	if channels == 1 {
		img := image.NewGray(image.Rect(0, 0, size, size))
		for i, v := range buf {
			img.Pix[i] = uint8(v*255 + 0.5)
		}
		return img
	}
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for i := range size * size {
		img.Pix[4*i] = uint8(buf[3*i]*255 + 0.5)
		img.Pix[4*i+1] = uint8(buf[3*i+1]*255 + 0.5)
		img.Pix[4*i+2] = uint8(buf[3*i+2]*255 + 0.5)
		img.Pix[4*i+3] = 255
	}
	return img
}
