package mdtable

import "testing"

func TestFormat(t *testing.T) {
	header, rows, right := []string{"a", "value"}, [][]string{{"x|y", "1.5"}, {"long\nname"}}, []bool{false, true}
	want := "" +
		"| a         | value |\n" +
		"| --------- | ----: |\n" +
		"| x\\|y      |   1.5 |\n" +
		"| long name |       |\n"
	if got := Format(header, rows, right, true); got != want {
		t.Errorf("justified: got\n%s\nwant\n%s", got, want)
	}
	want = "" +
		"| a         | value |\n" +
		"| --------- | ----: |\n" +
		"| x\\|y      | 1.5   |\n" +
		"| long name |       |\n"
	if got := Format(header, rows, right, false); got != want {
		t.Errorf("not justified: got\n%s\nwant\n%s", got, want)
	}
}
