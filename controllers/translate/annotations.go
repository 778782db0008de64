package translate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"sluice.dev/sluice/config"
)

// Annotation prefixes. Annotations under nginxPrefix are read only where the
// registry says so, to ease migrations from ingress-nginx; the sluice.dev/
// form wins when both are set, even when its value is invalid.
const (
	annotationPrefix = "sluice.dev/"
	nginxPrefix      = "nginx.ingress.kubernetes.io/"
)

// annotation is one entry of the registry of Ingress annotations.
type annotation struct {
	name string // after annotationPrefix
	// typ and def document the accepted values and the value used when the
	// annotation is absent or invalid; they also appear in events.
	typ, def string
	// nginx: also read nginxPrefix+name.
	nginx bool
	// cookie: only meaningful with affinity: cookie.
	cookie bool
	// parse stores a valid value in s and leaves s alone otherwise.
	parse func(v string, s *ingressSettings) error
}

// annotations is the registry: every annotation sluice reads on an Ingress.
var annotations = []annotation{
	{name: "affinity", typ: `"cookie"`, def: "none", nginx: true, parse: func(v string, s *ingressSettings) error {
		if v != "cookie" {
			return fmt.Errorf("%q is not a supported affinity (only \"cookie\" is)", v)
		}
		s.backend.cookie.enabled = true
		return nil
	}},
	{name: "session-cookie-name", typ: "cookie name", def: "SLUICEID", nginx: true, cookie: true, parse: func(v string, s *ingressSettings) error {
		if err := validToken(v); err != nil {
			return err
		}
		s.backend.cookie.name = v
		return nil
	}},
	{name: "session-cookie-mode", typ: "insert|rewrite|prefix", def: "insert", cookie: true, parse: func(v string, s *ingressSettings) error {
		m, ok := map[string]config.CookieMode{"insert": config.CookieInsert, "rewrite": config.CookieRewrite, "prefix": config.CookiePrefix}[v]
		if !ok {
			return fmt.Errorf("%q is not insert, rewrite or prefix", v)
		}
		s.backend.cookie.mode = m
		return nil
	}},
	{name: "session-cookie-max-age", typ: "seconds", def: "none (a session cookie)", nginx: true, cookie: true, parse: func(v string, s *ingressSettings) error {
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil || n == 0 {
			return fmt.Errorf("%q is not a positive number of seconds", v)
		}
		s.backend.cookie.maxAge = int(n)
		return nil
	}},
	{name: "session-cookie-path", typ: "path", def: "/", nginx: true, cookie: true, parse: func(v string, s *ingressSettings) error {
		if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("%q does not start with /", v)
		}
		if i := strings.IndexFunc(v, func(r rune) bool { return r == ';' || r <= ' ' || r >= 0x7f }); i >= 0 {
			return fmt.Errorf("%q contains %q, which a cookie attribute cannot hold", v, v[i:i+1])
		}
		s.backend.cookie.path = v
		return nil
	}},
	{name: "session-cookie-samesite", typ: "Strict|Lax|None", def: "none (the browser's default)", nginx: true, cookie: true, parse: func(v string, s *ingressSettings) error {
		for _, ok := range []string{"Strict", "Lax", "None"} {
			if strings.EqualFold(v, ok) {
				s.backend.cookie.sameSite = ok
				return nil
			}
		}
		return fmt.Errorf("%q is not Strict, Lax or None", v)
	}},
	{name: "session-cookie-secure", typ: "true|false", def: "false", nginx: true, cookie: true, parse: func(v string, s *ingressSettings) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		s.backend.cookie.secure = b
		return nil
	}},
	{name: "load-balance", typ: "roundrobin|leastconn|source|random|uri|hdr(NAME) (any HAProxy algorithm sluice implements)", def: "roundrobin", parse: func(v string, s *ingressSettings) error {
		b, err := parseBalance(v)
		if err != nil {
			return err
		}
		s.backend.balance = b
		return nil
	}},
	{name: "proxy-connect-timeout", typ: "seconds, or a duration such as 500ms or 5s", def: "the dataplane's", nginx: true, parse: func(v string, s *ingressSettings) error {
		d, err := parseTimeout(v)
		if err != nil {
			return err
		}
		s.backend.connectTimeout = d
		return nil
	}},
	{name: "proxy-read-timeout", typ: "seconds, or a duration such as 500ms or 5s", def: "the dataplane's", nginx: true, parse: func(v string, s *ingressSettings) error {
		d, err := parseTimeout(v)
		if err != nil {
			return err
		}
		s.backend.serverTimeout = d
		return nil
	}},
	{name: "path-regex", typ: "true|false", def: "false", parse: func(v string, s *ingressSettings) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		s.pathRegex = b
		return nil
	}},
	{name: "ssl-redirect", typ: "true|false", def: "true", nginx: true, parse: func(v string, s *ingressSettings) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		s.noSSLRedirect = !b
		return nil
	}},
}

// annotationKeys are, index for index with annotations, the full keys, and
// knownAnnotations the sluice.dev/ ones: made once, as every Ingress
// parsed looks them up.
var (
	annotationKeys   = make([]struct{ sluice, nginx string }, len(annotations))
	knownAnnotations = make(map[string]bool, len(annotations))
	// honoredNginx are the ingress-nginx annotations read as their
	// sluice.dev/ counterparts.
	honoredNginx = make(map[string]bool, len(annotations))
)

func init() {
	for i, a := range annotations {
		annotationKeys[i].sluice = annotationPrefix + a.name
		annotationKeys[i].nginx = nginxPrefix + a.name
		knownAnnotations[annotationPrefix+a.name] = true
		if a.nginx {
			honoredNginx[nginxPrefix+a.name] = true
		}
	}
}

// Honors reports whether key is an Ingress annotation the translation reads:
// one of sluice.dev/ or one of the ingress-nginx ones it takes as theirs.
func Honors(key string) bool {
	return knownAnnotations[key] || honoredNginx[key]
}

// ingressSettings is what an Ingress's annotations ask for.
type ingressSettings struct {
	backend   backendSettings
	pathRegex bool
	// noSSLRedirect keeps the Ingress's TLS hosts out of the redirect to
	// HTTPS (ssl-redirect: "false").
	noSSLRedirect bool
}

// backendSettings are the annotations that shape a backend. It is
// comparable: two Ingresses share a backend only when these are equal.
type backendSettings struct {
	cookie         cookieSettings
	balance        config.Balance
	connectTimeout time.Duration // timeout connect
	serverTimeout  time.Duration // timeout server
}

type cookieSettings struct {
	enabled  bool
	name     string
	mode     config.CookieMode
	maxAge   int // seconds; 0: not set
	path     string
	sameSite string
	secure   bool
}

func defaultSettings() ingressSettings {
	return ingressSettings{backend: backendSettings{
		cookie: cookieSettings{name: "SLUICEID", mode: config.CookieInsert},
	}}
}

// parseAnnotations reads the registry's annotations. An invalid value is
// reported and replaced by the default; the rest still applies.
func parseAnnotations(anns map[string]string, ref ObjectRef, events *eventLog) ingressSettings {
	s := defaultSettings()
	var unusedCookie []string
	for i, a := range annotations {
		key := annotationKeys[i].sluice
		v, ok := anns[key]
		if !ok && a.nginx {
			key = annotationKeys[i].nginx
			v, ok = anns[key]
		}
		if !ok {
			continue
		}
		if err := a.parse(v, &s); err != nil {
			events.warnAnnotation(ref, key, ReasonInvalidAnnotation, "annotation %s: %v; using the default (%s)", key, err, a.def)
			continue
		}
		if a.cookie && strings.HasPrefix(key, annotationPrefix) {
			unusedCookie = append(unusedCookie, key)
		}
	}

	// Misspelled sluice.dev/ keys and ingress-nginx features left behind in
	// a migration both change nothing silently unless they are reported.
	var unknown, unsupported []string
	for k := range anns {
		switch {
		case strings.HasPrefix(k, annotationPrefix) && !knownAnnotations[k]:
			unknown = append(unknown, k)
		case strings.HasPrefix(k, nginxPrefix) && !honoredNginx[k]:
			unsupported = append(unsupported, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		events.warnAnnotation(ref, k, ReasonUnknownAnnotation, "annotation %s is not a sluice annotation; ignored", k)
	}
	slices.Sort(unsupported)
	for _, k := range unsupported {
		events.warnAnnotation(ref, k, ReasonUnsupportedAnnotation, "annotation %s is an ingress-nginx feature sluice does not implement; ignored", k)
	}

	if !s.backend.cookie.enabled {
		// ingress-nginx ignores its session-cookie-* annotations without
		// affinity as well, so only sluice's own are worth a warning.
		for _, k := range unusedCookie {
			events.warnAnnotation(ref, k, ReasonUnusedAnnotation, "annotation %s has no effect without %saffinity: cookie", k, annotationPrefix)
		}
		// The cookie settings must not tell apart backends that are the same.
		s.backend.cookie = cookieSettings{}
	}
	return s
}

// backend builds the backend these settings describe.
func (bs backendSettings) backend(name string, servers []config.Server) *config.Backend {
	b := newBackend(name, config.ModeHTTP)
	b.Balance = bs.balance
	b.Timeouts.Connect = bs.connectTimeout
	b.Timeouts.Server = bs.serverTimeout
	b.Servers = slices.Clone(servers)
	if bs.cookie.enabled {
		b.Cookie = bs.cookie.config()
		setCookies(b.Servers)
	}
	return b
}

func (c cookieSettings) config() *config.Cookie {
	ck := &config.Cookie{Name: c.name, Mode: c.mode, Secure: c.secure}
	if c.mode == config.CookieInsert {
		// Our own cookie: hidden from the servers (indirect), from shared
		// caches (nocache) and from scripts (httponly).
		ck.Indirect, ck.NoCache, ck.HTTPOnly = true, true, true
	}
	if c.maxAge > 0 {
		ck.Attrs = append(ck.Attrs, "Max-Age="+strconv.Itoa(c.maxAge))
	}
	if c.path != "" {
		ck.Attrs = append(ck.Attrs, "Path="+c.path)
	}
	if c.sameSite != "" {
		ck.Attrs = append(ck.Attrs, "SameSite="+c.sameSite)
	}
	return ck
}

func parseBool(v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

// validToken checks an RFC 7230 token, which is what cookie and header
// names are.
func validToken(v string) error {
	if v == "" {
		return errors.New("empty name")
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return fmt.Errorf("%q contains %q, which a name cannot hold", v, v[i:i+1])
		}
	}
	return nil
}

// parseBalance reads the load-balance annotation: an HAProxy balance line
// without its keyword, such as "leastconn" or "hdr(X-User)".
func parseBalance(v string) (config.Balance, error) {
	b, err := config.ParseBalance(strings.Fields(v))
	if err != nil {
		return config.Balance{}, fmt.Errorf("%q: %w", v, err)
	}
	return b, nil
}

// maxTimeout is HAProxy's limit on timeouts (2^31-1 ms, about 24.8 days).
const maxTimeout = (1<<31 - 1) * time.Millisecond

// parseTimeout reads a timeout annotation. A plain number is seconds, as in
// ingress-nginx's proxy-*-timeout; with a unit it is an HAProxy duration
// (us, ms, s, m, h, d), so "5" and "5s" mean the same.
func parseTimeout(v string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(n) * time.Second
	} else if d, err = config.ParseDuration(v); err != nil {
		return 0, err
	}
	if d <= 0 || d > maxTimeout {
		return 0, fmt.Errorf("%q is not between 1ms and %v", v, maxTimeout)
	}
	return d, nil
}
