package config

import (
	"fmt"
	"strings"
)

var cookieKeywords = []keyword{
	{beSide, "cookie", parseCookie},
	{beSide, "dynamic-cookie-key", parseDynamicCookieKey},
}

// parseDynamicCookieKey reads `dynamic-cookie-key KEY`, the secret mixed into
// the cookie values of `cookie ... dynamic`.
func parseDynamicCookieKey(_ *parser, s *section, st *stmt) error {
	args := st.args()
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("expects one key")
	}
	s.be.DynamicCookieKey = args[0]
	return nil
}

// ParseCookieMode reads a cookie persistence mode: insert, rewrite or prefix.
func ParseCookieMode(s string) (CookieMode, error) {
	switch s {
	case "insert":
		return CookieInsert, nil
	case "rewrite":
		return CookieRewrite, nil
	case "prefix":
		return CookiePrefix, nil
	}
	return 0, fmt.Errorf("unknown cookie mode %q: sluice supports insert, rewrite and prefix", s)
}

// parseCookie reads `cookie NAME insert|rewrite|prefix [options]`.
func parseCookie(_ *parser, s *section, st *stmt) error {
	args := st.args()
	if len(args) == 0 {
		return fmt.Errorf("missing cookie name")
	}
	c := &Cookie{Pos: st.pos, Name: args[0]}
	if !isToken(c.Name) {
		return fmt.Errorf("invalid cookie name %q", c.Name)
	}
	mode := false
	for i := 1; i < len(args); i++ {
		opt := args[i]
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", opt)
			}
			i++
			return args[i], nil
		}
		switch opt {
		case "insert", "rewrite", "prefix":
			if mode {
				return fmt.Errorf("only one of insert, rewrite and prefix may be given")
			}
			mode = true
			c.Mode, _ = ParseCookieMode(opt)
		case "indirect":
			c.Indirect = true
		case "nocache":
			c.NoCache = true
		case "preserve":
			c.Preserve = true
		case "httponly":
			c.HTTPOnly = true
		case "secure":
			c.Secure = true
		case "dynamic":
			c.Dynamic = true
		case "domain":
			v, err := value()
			if err != nil {
				return err
			}
			c.Domains = append(c.Domains, v)
		case "attr":
			v, err := value()
			if err != nil {
				return err
			}
			c.Attrs = append(c.Attrs, v)
		case "maxidle", "maxlife":
			v, err := value()
			if err != nil {
				return err
			}
			d, err := ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %w", opt, err)
			}
			if opt == "maxidle" {
				c.MaxIdle = d
			} else {
				c.MaxLife = d
			}
		case "postonly":
			return fmt.Errorf("cookie option %q is not supported by sluice", opt)
		default:
			return fmt.Errorf("unknown cookie option %q", opt)
		}
	}
	if !mode {
		return fmt.Errorf("cookie %q has no mode: sluice supports insert, rewrite and prefix, not HAProxy's passive mode", c.Name)
	}
	if err := checkCookie(c); err != nil {
		return err
	}
	s.be.Cookie = c
	return nil
}

// checkCookie checks the combinations HAProxy refuses; Validate uses it too.
func checkCookie(c *Cookie) error {
	if !isToken(c.Name) {
		return fmt.Errorf("invalid cookie name %q", c.Name)
	}
	if !validEnum(cookieModeNames[:], int(c.Mode)) {
		return fmt.Errorf("invalid cookie mode %d", int(c.Mode))
	}
	if c.Mode != CookieInsert {
		for _, o := range []struct {
			set  bool
			name string
		}{{c.Preserve, "preserve"}, {c.MaxIdle != 0, "maxidle"}, {c.MaxLife != 0, "maxlife"}, {c.Dynamic, "dynamic"}} {
			if o.set {
				return fmt.Errorf("cookie option %q only applies to insert mode", o.name)
			}
		}
	}
	if c.MaxIdle < 0 || c.MaxLife < 0 {
		return fmt.Errorf("negative maxidle or maxlife")
	}
	for _, d := range c.Domains {
		if d == "" || strings.ContainsAny(d, "; \t\r\n\x00") {
			return fmt.Errorf("invalid cookie domain %q", d)
		}
	}
	for _, a := range c.Attrs {
		if a == "" || strings.ContainsAny(a, ";\r\n\x00") {
			return fmt.Errorf("invalid cookie attribute %q: it must be non-empty and hold no ';' or control character", a)
		}
	}
	return nil
}
