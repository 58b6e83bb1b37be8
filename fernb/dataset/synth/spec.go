package synth

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseConfig reads a data set description of the form used where a path
// would name a real data set (the `synthetic` loader format, CLI flags):
// a comma-separated list of key=value pairs, where a bare word is the
// domain. For example "wild,n=2000,seed=3,size=64,channels=3".
//
// Keys: domain, n, seed, size, channels, identities, first_identity,
// min_intensity, max_intensity, wild_fraction, unclear_fraction,
// wild_severity. Omitted keys keep their zero value (the default). The empty
// string is the default lab configuration with N = 0.
func ParseConfig(spec string) (Config, error) {
	var c Config
	for _, field := range strings.Split(spec, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		key, val, ok := strings.Cut(field, "=")
		if !ok {
			key, val = "domain", field
		}
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		var err error
		switch key {
		case "domain":
			c.Domain, err = ParseDomain(val)
		case "n":
			c.N, err = strconv.Atoi(val)
		case "seed":
			c.Seed, err = strconv.ParseInt(val, 10, 64)
		case "size":
			c.Size, err = strconv.Atoi(val)
		case "channels":
			c.Channels, err = strconv.Atoi(val)
		case "identities":
			c.Identities, err = strconv.Atoi(val)
		case "first_identity":
			c.FirstIdentity, err = strconv.Atoi(val)
		case "min_intensity":
			c.MinIntensity, err = strconv.ParseFloat(val, 64)
		case "max_intensity":
			c.MaxIntensity, err = strconv.ParseFloat(val, 64)
		case "wild_fraction":
			c.WildFraction, err = strconv.ParseFloat(val, 64)
		case "unclear_fraction":
			c.UnclearFraction, err = strconv.ParseFloat(val, 64)
		case "wild_severity":
			c.WildSeverity, err = strconv.ParseFloat(val, 64)
		default:
			return c, fmt.Errorf("synth: spec %q: unknown key %q (known: domain, n, seed, size, channels, identities, first_identity, min_intensity, max_intensity, wild_fraction, unclear_fraction, wild_severity)", spec, key)
		}
		if err != nil {
			return c, fmt.Errorf("synth: spec %q: key %s: %w", spec, key, err)
		}
	}
	if _, err := c.normalize(); err != nil {
		return c, fmt.Errorf("synth: spec %q: %w", spec, err)
	}
	return c, nil
}

// String writes c in the form ParseConfig reads, every field explicit, so
// that results files record exactly which faces were used.
func (c Config) String() string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return fmt.Sprintf("%s,n=%d,seed=%d,size=%d,channels=%d,identities=%d,first_identity=%d,min_intensity=%s,max_intensity=%s,wild_fraction=%s,unclear_fraction=%s,wild_severity=%s",
		c.Domain, c.N, c.Seed, c.Size, c.Channels, c.Identities, c.FirstIdentity,
		f(c.MinIntensity), f(c.MaxIntensity), f(c.WildFraction), f(c.UnclearFraction), f(c.WildSeverity))
}
