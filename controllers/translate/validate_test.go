package translate

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"sluice.dev/sluice/config"
)

// validate runs the config package's own checks, the ones the dataplane's
// compiler relies on, and checks that the configuration survives printing
// and parsing: what the controller produces can be dumped, read and
// diffed by an operator as an ordinary config file.
func validate(t *testing.T, c *config.Config) {
	t.Helper()
	c = forConfigPackage(c)
	if err := c.Validate(); err != nil {
		t.Fatalf("invalid config: %v\n%s", err, c)
	}
	// In-memory certificates are not part of the file syntax: they are
	// compared as file names.
	c = certsAsFiles(c)
	var buf bytes.Buffer
	if err := config.Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	back, warnings, err := config.Parse("translated.cfg", buf.Bytes())
	if err != nil || len(warnings) > 0 {
		t.Fatalf("printed config does not parse back: %v %v\n%s", err, warnings, buf.String())
	}
	clearPos(back)
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("printed config parses back differently:\n%s\nreparsed:\n%s", buf.String(), back)
	}
}

// forConfigPackage returns c, or, while the config package does not know
// the host fetch yet (it prints as "Fetch(7)"), a copy of c in which it is
// replaced by hdr(host), so that everything else is still validated.
func forConfigPackage(c *config.Config) *config.Config {
	if config.FetchHost.String() == "host" {
		return c
	}
	cp := *c
	cp.Frontends = nil
	for _, f := range c.Frontends {
		fc := *f
		fc.UseBackends = nil
		for _, u := range f.UseBackends {
			if u.Cond != nil {
				cond := config.Condition{Unless: u.Cond.Unless}
				for _, and := range u.Cond.Or {
					var terms []config.Term
					for _, term := range and {
						if term.Inline != nil && term.Inline.Fetch == config.FetchHost {
							acl := *term.Inline
							acl.Fetch, acl.Arg = config.FetchHdr, "host"
							term.Inline = &acl
						}
						terms = append(terms, term)
					}
					cond.Or = append(cond.Or, terms)
				}
				u.Cond = &cond
			}
			fc.UseBackends = append(fc.UseBackends, u)
		}
		cp.Frontends = append(cp.Frontends, &fc)
	}
	return &cp
}

// certsAsFiles returns c, or when it has in-memory certificates, a copy in
// which each crt @NAME is the file memory/NAME instead.
func certsAsFiles(c *config.Config) *config.Config {
	if c.Certificates == nil {
		return c
	}
	cp := *c
	cp.Certificates = nil
	cp.Frontends = nil
	for _, f := range c.Frontends {
		fc := *f
		fc.Binds = slices.Clone(f.Binds)
		for i, b := range fc.Binds {
			if b.TLS == nil {
				continue
			}
			tc := *b.TLS
			tc.Certificates = nil
			for _, crt := range b.TLS.Certificates {
				if name, ok := config.CertRef(crt); ok {
					crt = "memory/" + name
				}
				tc.Certificates = append(tc.Certificates, crt)
			}
			fc.Binds[i].TLS = &tc
		}
		cp.Frontends = append(cp.Frontends, &fc)
	}
	return &cp
}

// clearPos zeroes the positions the parser records, which a translated
// config does not have.
func clearPos(c *config.Config) {
	c.Global.Pos = config.Pos{}
	for _, f := range c.Frontends {
		f.Pos = config.Pos{}
		for i := range f.Binds {
			f.Binds[i].Pos = config.Pos{}
		}
		for i := range f.UseBackends {
			f.UseBackends[i].Pos = config.Pos{}
			clearCondPos(f.UseBackends[i].Cond)
		}
		for i := range f.HTTPRequest {
			f.HTTPRequest[i].Pos = config.Pos{}
			clearCondPos(f.HTTPRequest[i].Cond)
		}
	}
	for _, b := range c.Backends {
		b.Pos = config.Pos{}
		if b.Cookie != nil {
			b.Cookie.Pos = config.Pos{}
		}
		for i := range b.Servers {
			b.Servers[i].Pos = config.Pos{}
		}
		for i := range b.HTTPRequest {
			b.HTTPRequest[i].Pos = config.Pos{}
		}
	}
}

func clearCondPos(c *config.Condition) {
	if c == nil {
		return
	}
	for _, and := range c.Or {
		for _, t := range and {
			if t.Inline != nil {
				t.Inline.Pos = config.Pos{}
			}
		}
	}
}
