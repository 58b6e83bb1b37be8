// Package nb shows fernb's figures, tables and progress in GoNB notebooks.
//
// It is the only fernb package that imports GoNB's gonbui, so that the
// library, the CLI and the tests never depend on running inside a notebook.
// Every function works outside one as well: images are then skipped (or
// saved, when a path is given) and text goes to a fallback io.Writer, so a
// notebook's code can be run with `go run` or in a test unchanged.
//
// Figures are sent as PNG (gonbui.DisplayPng) because Jupyter stores PNG
// outputs in the .ipynb: a notebook executed headless with nbconvert keeps
// its plots. SVG is not sent inline (GoNB wraps it in HTML, which some
// exporters drop); pass a .svg path to ShowPlot to also get a vector file.
// Progress uses gonbui.UpdateHTML on one output block per reporter, rate
// limited, and never widgets, which block when no browser is attached.
// Cells stop at their first error with Must and Check; Open and Load build
// the pipeline a cell works on, and ShowPaperTable, RunTable and
// ShowComparison are the cells every table notebook shares, so the
// notebooks keep only what is particular to them.
// Its counterpart outside a notebook is package nbrun, which executes the
// notebooks headless (tests, `fernb export`).
package nb
