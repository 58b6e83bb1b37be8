package nn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
)

func TestTmpGraph(t *testing.T) {
	b := goBackend(t)
	x := randF32(1, 4, 8, 8, 32)
	k := randF32(2, 3, 3, 32, 64)
	bias := randF32(3, 64)
	e, _ := graph.NewExec(b, convFwdBwd(Differentiable, 1))
	_, g, err := e.ExecWithGraph(x, k, bias)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(g.String(), "\n") {
		for _, w := range []string{"Transpose", "DotGeneral", "Scatter", "Identity", "Gather"} {
			if strings.Contains(line, w) {
				fmt.Println(line)
				break
			}
		}
	}
}
