package config

import (
	"fmt"
	"strconv"
)

const processOnly = "sluice runs as one process inside the controller"

var globalKeywords = []keyword{
	{inGlobal, "maxconn", parseGlobalMaxConn},
	{inGlobal, "stats", parseGlobalStats},

	// Process management: the controller's own process is managed by Kubernetes.
	{inGlobal, "daemon", noEffect(processOnly)},
	{inGlobal, "master-worker", noEffect(processOnly)},
	{inGlobal, "chroot", noEffect(processOnly)},
	{inGlobal, "user", noEffect(processOnly)},
	{inGlobal, "group", noEffect(processOnly)},
	{inGlobal, "uid", noEffect(processOnly)},
	{inGlobal, "gid", noEffect(processOnly)},
	{inGlobal, "pidfile", noEffect(processOnly)},
	{inGlobal, "nbproc", noEffect(processOnly)},
	{inGlobal, "nbthread", noEffect(processOnly)},
	{inGlobal, "thread-groups", noEffect(processOnly)},
	{inGlobal, "cpu-map", noEffect(processOnly)},
	{inGlobal, "ulimit-n", noEffect(processOnly)},
	{inGlobal, "node", noEffect(processOnly)},
	{inGlobal, "description", noEffect("descriptions are informational")},
	{inGlobal, "quiet", noEffect(processOnly)},
	{inGlobal, "zero-warning", noEffect(processOnly)},
	{inGlobal, "hard-stop-after", noEffect("sluice never reloads")},
	{inGlobal, "close-spread-time", noEffect("sluice never reloads")},
	{inGlobal, "expose-experimental-directives", noEffect(processOnly)},
	{inGlobal, "insecure-fork-wanted", noEffect(processOnly)},
	{inGlobal, "insecure-setuid-wanted", noEffect(processOnly)},
	{inGlobal, "set-dumpable", noEffect(processOnly)},
	{inGlobal, "busy-polling", noEffect(processOnly)},
	{inGlobal, "noepoll", noEffect(processOnly)},
	{inGlobal, "nopoll", noEffect(processOnly)},
	{inGlobal, "nosplice", noEffect(processOnly)},
	{inGlobal, "noreuseport", noEffect(processOnly)},
	{inGlobal, "nogetaddrinfo", noEffect(processOnly)},
	{inGlobal, "log", noEffect("sluice writes its own access log")},
	{inGlobal, "log-tag", noEffect("sluice writes its own access log")},
	{inGlobal, "log-send-hostname", noEffect("sluice writes its own access log")},

	// Meaningful in HAProxy; sluice refuses them by name ("not supported").
	{inGlobal, "localpeer", unsupported},
	{inGlobal, "default-path", unsupported},
	{inGlobal, "ca-base", unsupported},
	{inGlobal, "crt-base", unsupported},
	{inGlobal, "key-base", unsupported},
	{inGlobal, "maxconnrate", unsupported},
	{inGlobal, "maxsessrate", unsupported},
	{inGlobal, "maxsslconn", unsupported},
	{inGlobal, "maxsslrate", unsupported},
	{inGlobal, "maxpipes", unsupported},
	{inGlobal, "maxcomprate", unsupported},
	{inGlobal, "maxcompcpuusage", unsupported},
	{inGlobal, "maxzlibmem", unsupported},
	{inGlobal, "spread-checks", unsupported},
	{inGlobal, "max-spread-checks", unsupported},
	{inGlobal, "server-state-file", unsupported},
	{inGlobal, "server-state-base", unsupported},
	{inGlobal, "setenv", unsupported},
	{inGlobal, "presetenv", unsupported},
	{inGlobal, "resetenv", unsupported},
	{inGlobal, "unsetenv", unsupported},
	{inGlobal, "external-check", unsupported},
	{inGlobal, "unix-bind", unsupported},
	{inGlobal, "set-var", unsupported},
	{inGlobal, "set-var-fmt", unsupported},
	{inGlobal, "stats-file", unsupported},
	{inGlobal, "limited-quic", unsupported},
	{inGlobal, "strict-limits", unsupported},
	{inGlobal, "pp2-never-send-local", unsupported},
	{inGlobal, "numa-cpu-mapping", unsupported},
	{inGlobal, "dns-accept-family", unsupported},
	{inGlobal, "uri-reject-empty-host", unsupported},
}

func parseGlobalMaxConn(p *parser, _ *section, st *stmt) error {
	n, err := oneCount(st)
	if err != nil {
		return err
	}
	p.cfg.Global.MaxConn = n
	return nil
}

// parseGlobalStats accepts the runtime API settings, which sluice has no
// equivalent of, and refuses the rest of the `stats` family.
func parseGlobalStats(p *parser, _ *section, st *stmt) error {
	if len(st.words) < 2 {
		return fmt.Errorf("missing sub-keyword")
	}
	sub := st.words[1].s
	switch sub {
	case "socket", "timeout", "maxconn", "bind-process":
		p.warnf(st.pos, "stats "+sub, "ignored: sluice has no HAProxy runtime API")
		return nil
	}
	return kwError("stats "+sub, "not supported by sluice")
}

// oneCount reads the single non-negative integer argument of a keyword.
func oneCount(st *stmt) (int, error) {
	args := st.args()
	if len(args) != 1 {
		return 0, fmt.Errorf("expects exactly one number, found %d arguments", len(args))
	}
	return parseCount(args[0])
}

// parseCount reads a non-negative decimal integer that fits an int32, which
// is as far as HAProxy's own counters go.
func parseCount(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, fmt.Errorf("invalid number %q: want a non-negative integer below 2^31", s)
	}
	return int(n), nil
}
