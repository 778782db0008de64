package config

import (
	"fmt"
	"strings"
)

var balanceKeywords = []keyword{
	{beSide, "balance", parseBalanceLine},
}

func parseBalanceLine(_ *parser, s *section, st *stmt) error {
	b, err := ParseBalance(st.args())
	if err != nil {
		return err
	}
	s.be.Balance = b
	return nil
}

// ParseBalance reads the arguments of a `balance` line (without the keyword):
// roundrobin, static-rr, leastconn, first, source, uri, random,
// url_param NAME or hdr(NAME).
func ParseBalance(args []string) (Balance, error) {
	if len(args) == 0 {
		return Balance{}, fmt.Errorf("missing algorithm")
	}
	alg, rest := args[0], args[1:]
	var b Balance
	switch {
	case alg == "roundrobin":
		b.Algorithm = BalanceRoundRobin
	case alg == "static-rr":
		b.Algorithm = BalanceStaticRR
	case alg == "leastconn":
		b.Algorithm = BalanceLeastConn
	case alg == "first":
		b.Algorithm = BalanceFirst
	case alg == "source":
		b.Algorithm = BalanceSource
	case alg == "uri":
		b.Algorithm = BalanceURI
	case alg == "random":
		b.Algorithm = BalanceRandom
	case alg == "url_param":
		if len(rest) == 0 || rest[0] == "" {
			return Balance{}, fmt.Errorf("url_param needs a parameter name")
		}
		b.Algorithm, b.Param, rest = BalanceURLParam, rest[0], rest[1:]
	case strings.HasPrefix(alg, "hdr(") && strings.HasSuffix(alg, ")"):
		name := alg[len("hdr(") : len(alg)-1]
		if err := checkHeaderName(name); err != nil {
			return Balance{}, fmt.Errorf("hdr(): %w", err)
		}
		b.Algorithm, b.Param = BalanceHdr, name
	case alg == "hdr":
		return Balance{}, fmt.Errorf("hdr needs a header name: hdr(NAME)")
	case strings.HasPrefix(alg, "random("), alg == "hash", alg == "rdp-cookie",
		strings.HasPrefix(alg, "rdp-cookie("), alg == "log-hash", alg == "sticky":
		return Balance{}, fmt.Errorf("algorithm %q is not supported by sluice", alg)
	default:
		return Balance{}, fmt.Errorf("unknown algorithm %q", alg)
	}
	if len(rest) > 0 {
		return Balance{}, fmt.Errorf("option %q of balance %s is not supported by sluice", rest[0], alg)
	}
	return b, nil
}
