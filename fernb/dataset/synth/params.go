package synth

import (
	"math"
	"math/rand/v2"

	"github.com/fernb/fernb/fernb"
)

// Stream salts keep the random draws of different aspects independent, so
// that (for example) changing the image size or the channel count never
// changes which expression or pose a face gets.
const (
	saltClass    = 0x636c617373
	saltIdentity = 0x6964656e74
	saltPerson   = 0x706572736f
	saltExpr     = 0x6578707265
	saltLook     = 0x6c6f6f6b73
	saltScene    = 0x7363656e65
	saltNoise    = 0x6e6f697365
	saltUnclear  = 0x756e636c65
	saltDomain   = 0x646f6d6169
)

// mix is splitmix64's finaliser: a cheap, well-spread 64-bit hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func hash3(a, b, c uint64) uint64 { return mix(mix(mix(a)^b) ^ c) }

// newRand returns a PCG stream for (seed, salt, i).
func newRand(seed int64, salt uint64, i uint64) *rand.Rand {
	h := hash3(uint64(seed), salt, i)
	return rand.New(rand.NewPCG(h, mix(h^salt)))
}

func unif(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

func clamp(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// fmax, fmin and hypot skip the NaN and overflow care of package math: the
// renderer never produces either, and they are its innermost operations.
func fmax(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func fmin(a, b float64) float64 {
	if a < b {
		return a
	}
	return b
}

func hypot(a, b float64) float64 { return math.Sqrt(a*a + b*b) }

// rgb is a linear colour with channels in [0, 1].
type rgb [3]float64

func (c rgb) scale(k float64) rgb { return rgb{c[0] * k, c[1] * k, c[2] * k} }
func (c rgb) mul(d rgb) rgb       { return rgb{c[0] * d[0], c[1] * d[1], c[2] * d[2]} }
func lerp(a, b rgb, t float64) rgb {
	return rgb{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

// Hair styles.
const (
	hairShort = iota
	hairFringe
	hairSide
	hairLong
	hairBald
	numHairStyles
)

// person is the identity: everything about a face that does not change with
// expression or capture condition.
type person struct {
	halfW, halfH float64 // head half-width and half-height (face units)
	taper        float64 // jaw narrowing towards the chin
	skin         rgb
	hair         rgb
	brow         rgb
	iris         rgb
	lip          rgb
	hairStyle    int
	hairline     float64 // how far down the forehead the hair comes
	eyeY         float64 // eye height
	eyeSep       float64 // half the distance between eye centres
	eyeW, eyeH   float64 // eye half-width, half-opening at rest
	browGap      float64 // brow height above the eye
	browThick    float64
	noseY        float64
	noseW        float64
	mouthY       float64
	mouthW       float64 // mouth half-width at rest
	lipThick     float64
	rest         expr // resting face (small, person-specific)
	shirt        rgb
	beard        float64 // 0 or stubble darkness
}

var hairColours = []rgb{
	{0.07, 0.06, 0.05}, {0.22, 0.13, 0.07}, {0.40, 0.26, 0.13},
	{0.80, 0.66, 0.40}, {0.55, 0.22, 0.08}, {0.62, 0.62, 0.62},
}

var irisColours = []rgb{
	{0.25, 0.14, 0.06}, {0.12, 0.08, 0.05}, {0.25, 0.40, 0.60}, {0.30, 0.42, 0.25}, {0.40, 0.30, 0.15},
}

// newPerson draws identity id of a seed.
func newPerson(seed int64, id int) person {
	r := newRand(seed, saltPerson, uint64(id))
	var p person
	p.halfW = unif(r, 0.50, 0.62)
	p.halfH = unif(r, 0.74, 0.84)
	p.taper = unif(r, 0.12, 0.35)
	t := r.Float64()
	p.skin = lerp(rgb{0.34, 0.21, 0.14}, rgb{0.97, 0.82, 0.71}, t)
	p.skin = p.skin.mul(rgb{unif(r, 0.95, 1.05), unif(r, 0.95, 1.03), unif(r, 0.93, 1.03)})
	p.hair = hairColours[r.IntN(len(hairColours))].scale(unif(r, 0.85, 1.15))
	p.brow = lerp(p.hair, rgb{0.1, 0.07, 0.05}, 0.45)
	p.iris = irisColours[r.IntN(len(irisColours))]
	p.lip = lerp(p.skin, rgb{0.45, 0.14, 0.14}, unif(r, 0.45, 0.65))
	p.hairStyle = r.IntN(numHairStyles)
	p.hairline = unif(r, -0.02, 0.06)
	p.eyeY = unif(r, -0.14, -0.06)
	p.eyeSep = unif(r, 0.21, 0.27)
	p.eyeW = unif(r, 0.10, 0.125)
	p.eyeH = unif(r, 0.040, 0.052)
	p.browGap = unif(r, 0.12, 0.16)
	p.browThick = unif(r, 0.024, 0.034)
	p.noseY = p.eyeY + unif(r, 0.27, 0.33)
	p.noseW = unif(r, 0.055, 0.075)
	p.mouthY = p.noseY + unif(r, 0.17, 0.22)
	p.mouthW = unif(r, 0.19, 0.23)
	p.lipThick = unif(r, 0.026, 0.04)
	p.shirt = rgb{r.Float64(), r.Float64(), r.Float64()}.scale(0.8)
	if r.Float64() < 0.15 {
		p.beard = unif(r, 0.1, 0.25)
	}
	// A resting face: some people look a little sad or cheerful at rest.
	p.rest = expr{
		browRaise: r.NormFloat64() * 0.12,
		browInner: r.NormFloat64() * 0.1,
		eyeOpen:   r.NormFloat64() * 0.12,
		smile:     r.NormFloat64() * 0.1,
	}
	return p
}

// expr is the facial-action parameter vector that expressions are made of
// (loosely after FACS action units): 0 everywhere is a neutral face.
type expr struct {
	browRaise  float64 // + whole brow up (AU1+2), - down (AU4)
	browInner  float64 // + inner ends lowered and drawn together (AU4), - inner raised (AU1)
	eyeOpen    float64 // + wide (AU5), - narrowed (AU6/7)
	smile      float64 // + mouth corners up (AU12), - down (AU15)
	mouthOpen  float64 // jaw drop / lips apart (AU25-27), 0..1
	stretch    float64 // + mouth wider (AU20), - narrower / pursed
	round      float64 // 0..1 round "O" opening (surprise)
	upperLip   float64 // upper lip raiser (AU10), 0..1
	sneer      float64 // -1..1: which side the upper lip rises more (disgust)
	noseWrink  float64 // nose wrinkler (AU9), 0..1
	teeth      float64 // teeth showing in an open mouth, 0..1
	cheek      float64 // cheek raiser (AU6), 0..1
	furrow     float64 // vertical lines between the brows, 0..1
	press      float64 // lips pressed thin (AU23/24), 0..1
	foreheadLn float64 // horizontal forehead lines, 0..1
}

func (e expr) add(f expr, k float64) expr {
	return expr{
		e.browRaise + k*f.browRaise, e.browInner + k*f.browInner, e.eyeOpen + k*f.eyeOpen,
		e.smile + k*f.smile, e.mouthOpen + k*f.mouthOpen, e.stretch + k*f.stretch,
		e.round + k*f.round, e.upperLip + k*f.upperLip, e.sneer + k*f.sneer,
		e.noseWrink + k*f.noseWrink, e.teeth + k*f.teeth, e.cheek + k*f.cheek,
		e.furrow + k*f.furrow, e.press + k*f.press, e.foreheadLn + k*f.foreheadLn,
	}
}

// prototype returns the full-intensity expression of class c, with its
// within-class variants (an angry face may be closed-mouth or snarling, a
// happy one may or may not show teeth, and so on).
func prototype(c fernb.Label, r *rand.Rand) expr {
	switch c {
	case fernb.Angry:
		e := expr{browRaise: -0.55, browInner: 1.0, eyeOpen: 0.15, smile: -0.35, stretch: -0.15, press: 1, furrow: 1}
		if r.Float64() < 0.35 { // snarl: open, square mouth with teeth
			e.mouthOpen, e.teeth, e.stretch, e.press, e.smile = 0.45, 1, 0.1, 0.2, -0.25
		}
		return e
	case fernb.Disgust:
		side := 1.0
		if r.Float64() < 0.5 {
			side = -1
		}
		return expr{browRaise: -0.3, browInner: 0.5, eyeOpen: -0.5, smile: -0.45, upperLip: 1, sneer: side * unif(r, 0.3, 1),
			noseWrink: 1, mouthOpen: unif(r, 0, 0.25), teeth: 0.5, cheek: 0.3, stretch: 0}
	case fernb.Fear:
		return expr{browRaise: 0.7, browInner: -0.9, eyeOpen: 0.9, smile: -0.3, mouthOpen: unif(r, 0.3, 0.6), stretch: 0.35,
			teeth: 0.9, foreheadLn: 0.6}
	case fernb.Happy:
		open := 0.0
		if r.Float64() < 0.6 {
			open = unif(r, 0.2, 0.6)
		}
		return expr{browRaise: 0.1, eyeOpen: -0.45, smile: 1, stretch: 0.3, mouthOpen: open, teeth: 1, cheek: 1}
	case fernb.Sad:
		return expr{browRaise: 0.05, browInner: -1.0, eyeOpen: -0.35, smile: -0.95, stretch: -0.1, press: 0.3}
	case fernb.Surprise:
		return expr{browRaise: 1.1, browInner: -0.15, eyeOpen: 1.1, mouthOpen: unif(r, 0.75, 1), round: 1, stretch: -0.35,
			teeth: 0.3, foreheadLn: 1}
	}
	return expr{}
}

// jitter adds independent within-class variation to every action.
func jitter(e expr, r *rand.Rand, s float64) expr {
	n := func() float64 { return r.NormFloat64() * s }
	e.browRaise += n()
	e.browInner += n()
	e.eyeOpen += n()
	e.smile += n()
	e.mouthOpen += n() * 0.5
	e.stretch += n()
	e.upperLip += n() * 0.5
	e.noseWrink += n() * 0.5
	e.cheek += n() * 0.5
	return e
}

// look holds the capture condition of one face: pose, light, camera and
// clutter.
type look struct {
	wild         bool
	yaw, roll    float64 // radians
	scale        float64
	tx, ty       float64 // face-centre offset (image units, image is [-1,1]^2)
	gazeX        float64
	bg0, bg1     rgb // background gradient ends
	bgAngle      float64
	light        float64 // lighting gradient strength
	lightAngle   float64
	brightness   float64
	contrast     float64
	cast         rgb
	blur         float64 // gaussian sigma in pixels at 48x48
	noise        float64 // gaussian sigma (0..1 scale)
	occluder     int
	occX, occY   float64
	occR, occA   float64
	occColour    rgb
	clutter      []shape
	sunglassTint float64
}

// Occluders.
const (
	occNone = iota
	occSunglasses
	occHand
	occPatch
)

// shape is a background clutter element (image coordinates).
type shape struct {
	kind           int // 0 rect, 1 ellipse, 2 bar
	x, y, w, h, an float64
	c              rgb
	ca, sa, reach  float64 // cos and sin of an; how far from (x, y) it reaches
}

func newLook(r *rand.Rand, wild bool, sev float64) look {
	var l look
	l.wild = wild
	l.gazeX = r.NormFloat64() * 0.01
	if !wild {
		// Lab: a plain, evenly lit backdrop; the face centred and upright.
		g := unif(r, 0.55, 0.85)
		l.bg0 = rgb{g, g, g * unif(r, 0.95, 1.05)}
		l.bg1 = l.bg0
		l.scale = baseScale * unif(r, 0.97, 1.03)
		l.tx, l.ty = r.NormFloat64()*0.01, 0.03+r.NormFloat64()*0.01
		l.roll = r.NormFloat64() * 0.015
		l.brightness, l.contrast = unif(r, 0.97, 1.03), 1
		l.cast = rgb{1, 1, 1}
		return l
	}
	// Wild: every nuisance is drawn at full range and scaled by the
	// severity, so that the draws (and so the faces' other properties) do
	// not depend on it.
	l.yaw = sev * unif(r, -0.44, 0.44)
	l.roll = sev * clamp(r.NormFloat64()*0.11, -0.28, 0.28)
	l.scale = baseScale * (1 + sev*unif(r, -0.12, 0.08))
	l.tx, l.ty = sev*unif(r, -0.065, 0.065), 0.03+sev*unif(r, -0.055, 0.055)
	l.gazeX = unif(r, -0.02, 0.02)
	l.bg0 = lerp(rgb{r.Float64(), r.Float64(), r.Float64()}, rgb{0.5, 0.5, 0.5}, 0.3)
	l.bg1 = lerp(rgb{r.Float64(), r.Float64(), r.Float64()}, rgb{0.5, 0.5, 0.5}, 0.3)
	l.bgAngle = unif(r, 0, 2*math.Pi)
	l.light = sev * unif(r, 0.12, 0.52)
	l.lightAngle = unif(r, 0, 2*math.Pi)
	l.brightness = 1 + sev*unif(r, -0.24, 0.16)
	l.contrast = 1 + sev*unif(r, -0.28, 0.08)
	l.cast = rgb{1 + sev*unif(r, -0.12, 0.12), 1 + sev*unif(r, -0.12, 0.12), 1 + sev*unif(r, -0.12, 0.12)}
	l.blur = sev * unif(r, 0, 0.72)
	l.noise = sev * unif(r, 0.004, 0.028)
	for k := r.IntN(7) + 2; k > 0; k-- {
		l.clutter = append(l.clutter, shape{
			kind: r.IntN(3), x: unif(r, -1, 1), y: unif(r, -1, 1), w: unif(r, 0.1, 0.5), h: unif(r, 0.1, 0.5),
			an: unif(r, 0, math.Pi), c: rgb{r.Float64(), r.Float64(), r.Float64()},
		})
	}
	if u := r.Float64(); u < 0.32*sev {
		l.occluder = []int{occSunglasses, occHand, occPatch}[r.IntN(3)]
		l.occX, l.occY = unif(r, -0.5, 0.5), unif(r, -0.1, 0.6)
		l.occR, l.occA = unif(r, 0.18, 0.32), unif(r, -0.8, 0.8)
		l.occColour = rgb{r.Float64(), r.Float64(), r.Float64()}
		l.sunglassTint = unif(r, 0.02, 0.2)
	}
	return l
}

// baseScale sizes the head in the frame like the tight crops of FER data
// sets: eyes about 40% from the top, chin near the bottom edge.
const baseScale = 1.22
