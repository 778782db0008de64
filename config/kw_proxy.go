package config

import (
	"fmt"
	"strings"
)

var proxyKeywords = []keyword{
	{inDefaults | inProxy, "mode", parseMode},
	{feSide, "maxconn", parseProxyMaxConn},
	{beSide, "retries", parseRetries},
	{inFrontend | inListen, "use_backend", parseUseBackend},
	{feSide, "default_backend", parseDefaultBackend},
}

func parseMode(_ *parser, s *section, st *stmt) error {
	args := st.args()
	if len(args) != 1 {
		return fmt.Errorf("expects http or tcp")
	}
	var m Mode
	switch args[0] {
	case "http":
		m = ModeHTTP
	case "tcp":
		m = ModeTCP
	case "health", "log", "spop", "peers", "cli":
		return fmt.Errorf("mode %q is not supported by sluice", args[0])
	default:
		return fmt.Errorf("unknown mode %q: expects http or tcp", args[0])
	}
	if s.fe != nil {
		s.fe.Mode = m
	}
	if s.be != nil {
		s.be.Mode = m
	}
	return nil
}

func parseProxyMaxConn(_ *parser, s *section, st *stmt) error {
	n, err := oneCount(st)
	if err != nil {
		return err
	}
	s.fe.MaxConn = n
	return nil
}

func parseRetries(_ *parser, s *section, st *stmt) error {
	n, err := oneCount(st)
	if err != nil {
		return err
	}
	s.be.Retries = n
	return nil
}

func parseUseBackend(_ *parser, s *section, st *stmt) error {
	args, condWords := splitCond(st.words[1:])
	if len(args) != 1 {
		if len(args) == 0 {
			return fmt.Errorf("missing backend name")
		}
		return fmt.Errorf("expects one backend name, found %q after it (a condition starts with if or unless)", args[1].s)
	}
	name, err := backendName(args[0].s)
	if err != nil {
		return err
	}
	cond, err := parseCondition(condWords)
	if err != nil {
		return err
	}
	s.fe.UseBackends = append(s.fe.UseBackends, UseBackend{Pos: st.pos, Backend: name, Cond: cond})
	return nil
}

func parseDefaultBackend(_ *parser, s *section, st *stmt) error {
	args := st.args()
	if len(args) != 1 {
		return fmt.Errorf("expects exactly one backend name")
	}
	name, err := backendName(args[0])
	if err != nil {
		return err
	}
	s.fe.DefaultBackend = name
	s.ownDefaultBackend = true
	return nil
}

func backendName(s string) (string, error) {
	if strings.Contains(s, "%[") {
		return "", fmt.Errorf("dynamic backend names are not supported by sluice (in %q)", s)
	}
	if s == "" {
		return "", fmt.Errorf("empty backend name")
	}
	return s, nil
}
