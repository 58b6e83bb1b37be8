// Package synth generates fernb's embedded default data set: deterministic,
// procedurally drawn faces showing the seven basic expressions, in a clean
// "lab" domain, a harder "wild" domain and an unlabelled "pool" that mixes
// the two and includes faces of no clear expression.
//
// # Why it exists
//
// The omni-supervised pipeline (train on a small labelled anchor set,
// pseudo-label a large unlabelled pool, distil, retrain, evaluate across
// data sets) needs data a fresh machine has without downloads, for the tests
// and for `fernb reproduce`. Real face data sets cannot be shipped. This
// package is a stand-in with the same structure: labelled expressions that a
// small CNN learns in a few epochs, subjects for subject-independent splits,
// a domain gap between lab and wild, and a pool whose true labels are known
// so pseudo-label precision can be measured. Numbers measured on it say that
// the code works; they are never results about human facial expressions and
// must never be presented as the paper's.
//
// # What it models
//
// A face is a set of shapes defined by signed distances (head outline with a
// narrowing jaw, hair of five styles, ears, brows, eyes with iris and upper
// lid, nose with nostrils, lips, teeth and mouth cavity), anti-aliased at any
// resolution. Each identity (Config.Seed and the identity id) fixes the head
// shape and width, skin tone, hair style and colour, iris colour, the spacing
// and size of eyes, brows, nose and mouth, optional stubble and a slightly
// non-neutral resting face. Expressions are vectors of facial actions,
// loosely after FACS action units: brow raise and lowering, inner-brow raise
// (AU1) or frown (AU4) with furrow lines, eye widening (AU5) or narrowing
// (AU6/7), lip-corner pull (AU12) or depression (AU15), lip stretch (AU20),
// jaw drop with round or wide opening (AU25-27), upper-lip raise with a
// one-sided sneer (AU10), nose wrinkle (AU9), cheek raise with lower-lid
// bulge and nasolabial folds (AU6), lip press (AU23/24), forehead lines.
// Each class has a prototype (with variants: a closed-mouth or snarling
// anger, a smile with or without teeth), scaled by an intensity drawn in
// [Config.MinIntensity, Config.MaxIntensity], added to the identity's resting
// face, plus independent jitter on every action.
//
// Lab faces are frontal, centred, evenly lit on a plain backdrop. Wild faces
// add head yaw (a cylinder model: features slide towards and foreshorten on
// the turned-away side, the nose moves further than the face), roll, scale
// and position jitter, a lighting gradient, brightness, contrast and colour
// cast, background clutter, Gaussian blur and noise, and, for 32% of faces,
// an occluder (a sunglasses bar, a hand, an object); Config.WildSeverity
// scales all of them. Pool faces are lab- or wild-looking (WildFraction) and
// a fraction of them (UnclearFraction) shows no clear expression: a 50/50
// blend of two non-neutral expressions or one at intensity 0.1-0.3.
//
// # Determinism and streaming
//
// Face i is a pure function of the Config and i (hash-seeded PCG streams per
// aspect), so Generator.Face and Generator.Float32 give random access and a
// pool of any size can be streamed. Classes are balanced exactly in every
// block of seven consecutive indices. Output bytes are identical for the
// same Config on the same platform; compilers that fuse multiply-adds on
// other architectures may change a few pixels by one grey level.
//
// # Measured properties
//
// TestLearnableWithDomainGap trains multinomial logistic regression on
// HOG-like features of lab faces of 70 identities and tests on 30 held-out
// identities (go test ./fernb/dataset/synth/ -run Learnable -v): lab faces
// of unseen identities are learnable, wild ones much less so, and adding
// wild faces of the training identities narrows that gap, the gap that
// wild-looking training data (such as pseudo-labelled pool faces) is meant
// to narrow. On lab-look pool faces the lab model's gap between its two
// top class probabilities is clearly larger on clear faces than on faces
// of no clear expression, so a margin rule can tell them apart. Pose costs
// that learner the most of the wild nuisances; a CNN is more tolerant of
// shifts, so expect its wild accuracy to be higher. WildSeverity tunes the
// gap. notebooks/RESULTS.md gives the numbers.
//
// ContactSheet draws faces per class for a look at what is generated.
package synth
