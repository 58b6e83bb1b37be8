package synth

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig("wild, n=2000,seed=3,size=64,channels=3,wild_severity=0.5,unclear_fraction=-1")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Domain: Wild, N: 2000, Seed: 3, Size: 64, Channels: 3, WildSeverity: 0.5, UnclearFraction: -1}
	if c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
	// The normalised form round-trips through String.
	g := mustNew(t, Config{Domain: Pool, N: 10, Seed: -4, WildFraction: 0.25, MinIntensity: 0.3, MaxIntensity: 0.9})
	back, err := ParseConfig(g.Config().String())
	if err != nil {
		t.Fatal(err)
	}
	if back != g.Config() {
		t.Errorf("String/ParseConfig round trip: %+v became %+v (%s)", g.Config(), back, g.Config().String())
	}
	if c, err := ParseConfig(""); err != nil || c != (Config{}) {
		t.Errorf(`ParseConfig("") = %+v, %v`, c, err)
	}
	for spec, msg := range map[string]string{
		"lab,n=x":      "key n",
		"studio":       "unknown domain",
		"lab,colour=2": "unknown key",
		"size=4":       "out of range",
	} {
		if _, err := ParseConfig(spec); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseConfig(%q) error %v, want one mentioning %q", spec, err, msg)
		}
	}
}
