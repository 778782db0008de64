package backend

import (
	"sync"
	"sync/atomic"
)

// Server is one configured server as one routing-table generation sees it.
// Its exported fields are that generation's settings and never change; the
// live state behind it (health, in-flight count, idle connections, checker)
// is shared with every other generation that keeps the server, so a reload
// that changes, say, its weight yields a new *Server over the same state.
// Registry.Build returns the very same *Server while nothing changes.
type Server struct {
	Backend  string // name of the backend
	Name     string
	Addr     string // host:port
	Weight   int    // 0..256; 0 takes persistent traffic only
	Backup   bool
	Cookie   string // persistence cookie value, "" for none
	MaxConn  int    // 0: no limit
	Disabled bool
	Checked  bool // the server has `check` (and is not disabled)

	st *state
}

// state flags; a server is up exactly when none is set.
const (
	flagDown     uint32 = 1 << iota // failed its health checks
	flagDisabled                    // `disabled` in the latest configuration
	flagRetired                     // no longer in the routing table
)

// state is the live part of a server, owned by the Registry.
type state struct {
	active atomic.Int64  // slots held: requests or TCP sessions in flight
	limit  atomic.Int64  // maxconn of the latest configuration, 0: none
	flags  atomic.Uint32 // flagDown | flagDisabled | flagRetired

	// passiveFails counts consecutive connect failures of live traffic. It is
	// only written under hmu, except for the reset in ReportSuccess.
	passiveFails atomic.Int32

	key  serverKey
	reg  *Registry
	q    *queue                 // the backend's queue
	view atomic.Pointer[Server] // the latest generation's Server

	hmu sync.Mutex
	h   health     // guarded by hmu
	nmu sync.Mutex // serializes transition callbacks, see transition

	checksOK     atomic.Uint64
	checksFailed atomic.Uint64
	lastCheck    atomic.Pointer[CheckResult]

	checker *checker // guarded by Registry.mu

	idle idleList
}

// Up reports whether the server may take traffic: it is not disabled, not
// retired, and is up by its health checks (or has none).
func (s *Server) Up() bool { return s.st.flags.Load() == 0 }

// Available reports whether the server is Up and has a free slot.
func (s *Server) Available() bool { return s.st.flags.Load() == 0 && s.st.hasRoom() }

// Active is the number of slots held on the server: requests (HTTP) or
// sessions (TCP) between Acquire and Release, across all generations.
func (s *Server) Active() int64 { return s.st.active.Load() }

// State is the server's state for logs and metrics.
func (s *Server) State() State {
	f := s.st.flags.Load()
	switch {
	case f&flagRetired != 0:
		return StateRetired
	case f&flagDisabled != 0:
		return StateMaint
	case f&flagDown != 0:
		return StateDown
	}
	return StateUp
}

// String is "backend/server", the way HAProxy names a server in its logs.
func (s *Server) String() string { return s.Backend + "/" + s.Name }

// Release gives back a slot obtained from Pool.Acquire or
// Pool.AcquireServer. When requests are queued, the slot goes straight to the
// oldest one that may use this server.
func (s *Server) Release() {
	st := s.st
	st.active.Add(-1)
	if st.q.waiting.Load() > 0 {
		st.q.dispatch(st)
	}
}

// hasRoom reports whether a slot is free, without taking it.
func (st *state) hasRoom() bool {
	max := st.limit.Load()
	return max == 0 || st.active.Load() < max
}

// tryAcquire takes a slot if one is free.
func (st *state) tryAcquire() bool {
	max := st.limit.Load()
	if max == 0 {
		st.active.Add(1)
		return true
	}
	for {
		n := st.active.Load()
		if n >= max {
			return false
		}
		if st.active.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// State is a server's operational state.
type State uint8

const (
	StateUp      State = iota
	StateDown          // failed health checks (or live traffic)
	StateMaint         // disabled
	StateRetired       // removed from the configuration
)

func (s State) String() string {
	switch s {
	case StateUp:
		return "UP"
	case StateDown:
		return "DOWN"
	case StateMaint:
		return "MAINT"
	case StateRetired:
		return "RETIRED"
	}
	return "UNKNOWN"
}
