package translate

import (
	"regexp"
	"testing"

	"sluice.dev/sluice/config"
)

// validName is the config language's rule for proxy and server names.
var validName = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// validate checks what config's validation checks of names.
func validate(t *testing.T, c *config.Config) {
	t.Helper()
	for _, f := range c.Frontends {
		if !validName.MatchString(f.Name) {
			t.Errorf("frontend name %q is not a valid config name", f.Name)
		}
	}
	for _, b := range c.Backends {
		if !validName.MatchString(b.Name) {
			t.Errorf("backend name %q is not a valid config name", b.Name)
		}
		for _, s := range b.Servers {
			if !validName.MatchString(s.Name) {
				t.Errorf("backend %q: server name %q is not a valid config name", b.Name, s.Name)
			}
		}
	}
}
