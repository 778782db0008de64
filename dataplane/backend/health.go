package backend

import (
	"time"
)

// health is the check bookkeeping of a server, guarded by state.hmu. The
// up/down bit itself lives in state.flags so that readers need no lock.
type health struct {
	checked    bool // the server has an active checker
	rise, fall int
	// confirmed is false until the first check completes after checking
	// starts; a failure before that takes the server down at once.
	confirmed bool
	okRun     int // consecutive passed checks
	failRun   int // consecutive failed checks
	// gen identifies the current checker; results of a replaced or stopped
	// checker that arrive late carry an older gen and are dropped.
	gen uint64
}

// CheckResult is the outcome of one health check, with HAProxy's wording.
type CheckResult struct {
	OK bool
	// Reason is "Layer4 check passed", "Layer4 connection problem",
	// "Layer4 timeout", "Layer7 check passed", "Layer7 wrong status 500",
	// "Layer7 timeout" or "Layer7 invalid response".
	Reason string
	// Detail is the underlying error, if any.
	Detail string
	// Status is the HTTP status of an HTTP check, 0 otherwise.
	Status   int
	Duration time.Duration
}

// Cause says what moved a server up or down.
type Cause uint8

const (
	CauseCheck   Cause = iota // an active health check
	CauseTraffic              // connect failures of live traffic
	CauseConfig               // a reload removed the server's `check`
)

func (c Cause) String() string {
	switch c {
	case CauseCheck:
		return "check"
	case CauseTraffic:
		return "traffic"
	case CauseConfig:
		return "config"
	}
	return "unknown"
}

// Transition is a server going up or down. CheckResult is the check (or the
// live connect failure) that tipped it.
type Transition struct {
	Server *Server // the latest generation's view of the server
	Up     bool
	Cause  Cause
	CheckResult
}

// CheckStats are a server's health-check counters since it was first built.
type CheckStats struct {
	Successes uint64
	Failures  uint64
	Last      CheckResult // zero before the first check
}

// CheckStats returns the server's check counters. It takes no lock, so a
// transition callback may call it.
func (s *Server) CheckStats() CheckStats {
	st := s.st
	cs := CheckStats{Successes: st.checksOK.Load(), Failures: st.checksFailed.Load()}
	if last := st.lastCheck.Load(); last != nil {
		cs.Last = *last
	}
	return cs
}

// ReportConnectFailure is passive health checking. The engine calls it when
// a connection attempt of live traffic to s fails (refused, unreachable,
// timed out), not for errors after the connection was made. Exactly:
//
//   - It does nothing unless the server has `check` (HAProxy only observes
//     checked servers) or while the server is already down.
//   - Each call adds one to a count of consecutive live connect failures,
//     kept apart from the active checks' own counts. When it reaches `fall`
//     the server goes down at once (Cause CauseTraffic, Reason
//     "Layer4 connection problem"), without waiting for the next check.
//   - Only active checks bring the server back, after `rise` consecutive
//     successes.
//
// err is only used for the transition's Detail.
func (s *Server) ReportConnectFailure(err error) {
	st := s.st
	st.hmu.Lock()
	if !st.h.checked || st.flags.Load()&flagDown != 0 {
		st.hmu.Unlock()
		return
	}
	n := st.passiveFails.Add(1)
	if int(n) < st.h.fall {
		st.hmu.Unlock()
		return
	}
	res := CheckResult{Reason: "Layer4 connection problem"}
	if err != nil {
		res.Detail = err.Error()
	}
	st.goDown()
	st.transition(false, CauseTraffic, res) // unlocks hmu
}

// ReportSuccess tells that a connection of live traffic to s was made. It
// resets the count of consecutive live connect failures, and only that: a
// server that accepts connections but fails its HTTP checks still goes down
// by its checks. It costs one atomic load when there is nothing to reset.
func (s *Server) ReportSuccess() {
	if s.st.passiveFails.Load() != 0 {
		s.st.passiveFails.Store(0)
	}
}

// recordCheck applies the result of checker generation gen.
func (st *state) recordCheck(gen uint64, res CheckResult) {
	st.hmu.Lock()
	h := &st.h
	if gen != h.gen || !h.checked {
		st.hmu.Unlock()
		return
	}
	if res.OK {
		st.checksOK.Add(1)
	} else {
		st.checksFailed.Add(1)
	}
	st.lastCheck.Store(&res)
	down := st.flags.Load()&flagDown != 0
	confirmed := h.confirmed
	h.confirmed = true
	if res.OK {
		h.failRun = 0
		h.okRun++
		if down && h.okRun >= h.rise {
			st.goUp()
			st.transition(true, CauseCheck, res)
			return
		}
	} else {
		h.okRun = 0
		h.failRun++
		if !down && (!confirmed || h.failRun >= h.fall) {
			st.goDown()
			st.transition(false, CauseCheck, res)
			return
		}
	}
	st.hmu.Unlock()
}

// goDown and goUp flip the health bit; hmu is held.
func (st *state) goDown() {
	st.flags.Or(flagDown)
	st.h.okRun, st.h.failRun = 0, 0
	st.passiveFails.Store(0)
}

func (st *state) goUp() {
	st.flags.And(^flagDown)
	st.h.okRun, st.h.failRun = 0, 0
	st.passiveFails.Store(0)
}

// transition reports a change made under hmu and releases hmu. The callback
// runs outside hmu (so it may call anything on the server) but under nmu,
// so that one server's transitions are reported in the order they happened.
// Then the queue learns about it: requests bound to a server that went down
// are told so at once, and a server that came up takes queued requests.
func (st *state) transition(up bool, cause Cause, res CheckResult) {
	st.nmu.Lock()
	st.hmu.Unlock()
	st.reg.notify(Transition{Server: st.view.Load(), Up: up, Cause: cause, CheckResult: res})
	st.nmu.Unlock()
	if up {
		if st.q.waiting.Load() > 0 {
			st.q.dispatch(st)
		}
		return
	}
	st.q.evict(st, ErrServerDown)
	st.q.rescan()
	// Connections kept to a server that just failed are most likely dead.
	st.idle.drain(false)
}
