// Package fernb holds what every stage of the omni-supervised FER pipeline
// shares: the single expression label space, the choice of compute backend and
// the version. The stages themselves live in sub-packages, one per stage:
// dataset (loaders and preprocessing), nn (layers fast on the pure-Go backend
// that differentiate twice), models (the registry), train (fitting), omni
// (centroids and cosine-margin pseudo-labels), distill (DD and DM),
// experiment (protocols and tables), plot and nb (figures, GoNB display).
package fernb

// Version is fernb's version, printed by `fernb version`.
const Version = "0.1.0-dev"
