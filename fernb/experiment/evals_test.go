package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func evalLine(variant, seed, tta string, acc float64, perClass ...float64) string {
	var pc []string
	for _, a := range perClass {
		pc = append(pc, fmt.Sprintf(`{"accuracy":%g}`, a))
	}
	t := ""
	if tta != "" {
		t = fmt.Sprintf(`,"tta":%q`, tta)
	}
	return fmt.Sprintf(`{"tags":{"variant":%q,"seed":%q},"accuracy":%g,"mean_class_accuracy":%g,"classes":["a","b"],"per_class":[%s]%s}`,
		variant, seed, acc, acc/2, strings.Join(pc, ","), t)
}

func TestSummarizeEvalsPairsBySeed(t *testing.T) {
	lines := []string{
		evalLine("ctrl", "1", "", 0.60, 0.5, 0.7),
		evalLine("vas", "1", "", 0.62, 0.6, 0.7),
		evalLine("ctrl", "2", "", 0.61, 0.5, 0.7),
		evalLine("vas", "2", "", 0.61, 0.5, 0.8),
		evalLine("ctrl", "3", "", 0.59, 0.4, 0.7),
		evalLine("vas", "3", "", 0.62, 0.4, 0.9),
		evalLine("vas", "3", "flip", 0.99, 0.9, 0.9), // other TTA: ignored
		"",
	}
	runs, err := ReadEvalRuns(strings.NewReader(strings.Join(lines, "\n")), "x.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	arms, err := SummarizeEvals(runs, "variant", "seed", "ctrl", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(arms) != 2 || arms[0].Name != "ctrl" || arms[1].Name != "vas" {
		t.Fatalf("arms %+v", arms)
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %.12g, want %.12g", what, got, want)
		}
	}
	near("ctrl mean", arms[0].Accuracy, 60)
	near("ctrl std", arms[0].AccuracyStd, 1)
	near("vas mean", arms[1].Accuracy, 61+2.0/3)
	near("vas mean class", arms[1].MeanClass, (61+2.0/3)/2)
	near("vas per-class b", arms[1].PerClass[1], 80)
	if arms[0].VsBase != nil {
		t.Error("the base is paired with itself")
	}
	// Differences 2, 0, 3: mean 5/3, sample std sqrt(7/3), s.e. sqrt(7/9).
	d := arms[1].VsBase
	if d == nil {
		t.Fatal("vas not paired")
	}
	near("diff", d.Mean, 5.0/3)
	near("diff s.e.", d.SE, math.Sqrt(7.0/9))
	if d.N != 3 || d.Wins != 2 || d.Losses != 0 {
		t.Errorf("pairs %+v, want 3 pairs, 2 wins, 0 losses", d)
	}
	// Every summary field survives the JSON that eval summary --json prints.
	raw, err := json.Marshal(arms[1])
	if err != nil {
		t.Fatal(err)
	}
	var back EvalArm
	if err := json.Unmarshal(raw, &back); err != nil || !reflect.DeepEqual(back, arms[1]) {
		t.Errorf("JSON round trip: %s gave %+v (%v)", raw, back, err)
	}
	flip, err := SummarizeEvals(runs, "variant", "seed", "vas", "flip")
	if err != nil || len(flip) != 1 || flip[0].Accuracy != 99 {
		t.Errorf("flip arms %+v, %v", flip, err)
	}
}

func TestSummarizeEvalsErrors(t *testing.T) {
	if _, err := ReadEvalRuns(strings.NewReader(evalLine("a", "1", "", .5, .5, .5)+"\n{\"accuracy\":1}\n"), "r.jsonl"); err == nil || !strings.Contains(err.Error(), "r.jsonl:2") {
		t.Errorf("non-eval line: %v", err)
	}
	if _, err := ReadEvalRuns(strings.NewReader("{oops\n"), "r.jsonl"); err == nil || !strings.Contains(err.Error(), "r.jsonl:1") {
		t.Errorf("bad JSON: %v", err)
	}
	read := func(lines ...string) []EvalRun {
		runs, err := ReadEvalRuns(strings.NewReader(strings.Join(lines, "\n")), "x")
		if err != nil {
			t.Fatal(err)
		}
		return runs
	}
	dup := read(evalLine("a", "1", "", .5, .5, .5), evalLine("a", "1", "", .6, .5, .5))
	if _, err := SummarizeEvals(dup, "variant", "seed", "a", ""); err == nil {
		t.Error("two evaluations of one variant and seed accepted")
	}
	one := read(evalLine("a", "1", "", .5, .5, .5))
	if _, err := SummarizeEvals(one, "variant", "seed", "ctrl", ""); err == nil {
		t.Error("missing base accepted")
	}
	if _, err := SummarizeEvals(one, "model", "seed", "", ""); err == nil {
		t.Error("missing group tag accepted")
	}
	if _, err := SummarizeEvals(one, "variant", "seed", "a", "flip"); err == nil {
		t.Error("no evaluations with the TTA accepted")
	}
}
