package config

import (
	"fmt"
	"time"
)

var timeoutKeywords = []keyword{
	{inDefaults | inProxy, "timeout", parseTimeout},
}

// timeoutField is one `timeout NAME`, the side of the proxy it applies to
// and where it is stored. A timeout only lands on the side that uses it, so a
// defaults section fills a frontend's client timeout and a backend's server
// timeout but never the other way round.
type timeoutField struct {
	name string
	fe   bool // applies to frontends
	be   bool // applies to backends
	ptr  func(*Timeouts) *time.Duration
}

var timeoutFields = []timeoutField{
	{"connect", false, true, func(t *Timeouts) *time.Duration { return &t.Connect }},
	{"client", true, false, func(t *Timeouts) *time.Duration { return &t.Client }},
	{"server", false, true, func(t *Timeouts) *time.Duration { return &t.Server }},
	{"http-request", true, true, func(t *Timeouts) *time.Duration { return &t.HTTPRequest }},
	{"http-keep-alive", true, true, func(t *Timeouts) *time.Duration { return &t.HTTPKeepAlive }},
	{"queue", false, true, func(t *Timeouts) *time.Duration { return &t.Queue }},
	{"tunnel", false, true, func(t *Timeouts) *time.Duration { return &t.Tunnel }},
	{"check", false, true, func(t *Timeouts) *time.Duration { return &t.Check }},
}

var unsupportedTimeouts = map[string]bool{
	"client-fin": true, "server-fin": true, "tarpit": true, "client-hs": true,
}

func parseTimeout(_ *parser, s *section, st *stmt) error {
	args := st.args()
	if len(args) == 0 {
		return fmt.Errorf("missing timeout name")
	}
	kw := "timeout " + args[0]
	var f *timeoutField
	for i := range timeoutFields {
		if timeoutFields[i].name == args[0] {
			f = &timeoutFields[i]
		}
	}
	if f == nil {
		if unsupportedTimeouts[args[0]] {
			return kwError(kw, "not supported by sluice")
		}
		return fmt.Errorf("unknown timeout %q", args[0])
	}
	if len(args) != 2 {
		return kwError(kw, "expects exactly one time value")
	}
	d, err := ParseDuration(args[1])
	if err != nil {
		return kwError(kw, "%s", err)
	}
	fe, be := f.fe && s.fe != nil, f.be && s.be != nil
	if !fe && !be {
		side := "backend"
		if f.fe {
			side = "frontend"
		}
		return kwError(kw, "not allowed in a %s section: it applies to the %s side", sectionNames[s.kind], side)
	}
	if fe {
		*f.ptr(&s.fe.Timeouts) = d
	}
	if be {
		*f.ptr(&s.be.Timeouts) = d
	}
	return nil
}
