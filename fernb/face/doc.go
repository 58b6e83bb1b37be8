// Package face finds the face in a photograph and cuts it out the way the
// paper's pipeline does before any stage sees an image: detect, keep one
// face, crop a square around it with a margin, optionally rotate so that the
// pupils are level. Resizing to the model input is left to
// dataset.Preprocess, which already resamples with antialiasing.
//
// Data sets distributed as whole photographs (JAFFE's 256x256 pictures,
// RAF-DB's originals, MMI frames, a researcher's own photos) put the face in
// a fraction of the frame; fed to a 48x48 network as they are, a model
// trained on cropped faces sees mostly hair and background. Aligning every
// image the same way in training, selection, distillation and evaluation
// removes that mismatch.
//
// Detection uses github.com/esimov/pigo's pixel-intensity-comparison
// cascades, in pure Go. The cascade files (facefinder, puploc) ship inside
// the pigo module, so they are read from the Go module cache at run time
// (CascadeDir) or from a directory the caller names; nothing is downloaded.
// Pupils are located with pigo's puploc cascade evaluated here with a seeded
// random source: pigo's own RunDetector draws its perturbations from the
// global math/rand source, which would make crops, caches and results
// differ from run to run.
//
// An Aligner is safe for concurrent use: the cascades are read-only after
// loading and every call keeps its own state.
package face
