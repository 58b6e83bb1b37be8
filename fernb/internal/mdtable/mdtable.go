// Package mdtable formats tables as GitHub Markdown with aligned columns:
// the one formatter behind results.md and report.md (package experiment)
// and the tables notebooks show (package nb), which choose the alignment.
package mdtable

import "strings"

// Format returns header and rows as a Markdown table whose columns are
// padded to a common width; column j is right-aligned when right[j] (right
// may be shorter than header): its rule row says so, and with justify its
// cells' text is right-justified in the raw text too, which is what a
// terminal shows. "|" in a cell is escaped and a newline becomes a space,
// so no cell breaks the table; missing cells are empty.
func Format(header []string, rows [][]string, right []bool, justify bool) string {
	n := len(header)
	cell := func(r []string, j int) string {
		if j < len(r) {
			return strings.ReplaceAll(strings.ReplaceAll(r[j], "|", `\|`), "\n", " ")
		}
		return ""
	}
	isRight := func(j int) bool { return j < len(right) && right[j] }
	width := make([]int, n)
	for j := range n {
		width[j] = max(3, len([]rune(cell(header, j))))
		for _, r := range rows {
			width[j] = max(width[j], len([]rune(cell(r, j))))
		}
	}
	var b strings.Builder
	line := func(r []string) {
		b.WriteString("|")
		for j := range n {
			c := cell(r, j)
			pad := strings.Repeat(" ", width[j]-len([]rune(c)))
			if justify && isRight(j) {
				b.WriteString(" " + pad + c + " |")
			} else {
				b.WriteString(" " + c + pad + " |")
			}
		}
		b.WriteString("\n")
	}
	line(header)
	b.WriteString("|")
	for j := range n {
		if isRight(j) {
			b.WriteString(" " + strings.Repeat("-", width[j]-1) + ": |")
		} else {
			b.WriteString(" " + strings.Repeat("-", width[j]) + " |")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		line(r)
	}
	return b.String()
}
