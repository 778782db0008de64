package config

import (
	"strings"
)

// Error is one problem found in a configuration. Parse errors carry the
// position of the offending line; errors about objects built in code have a
// zero Pos and name the frontend, backend or server in Msg instead.
type Error struct {
	Pos     Pos
	Keyword string // the directive at fault, e.g. "bind" or "timeout client"
	Msg     string
}

// Error formats the problem as FILE:LINE: 'keyword': message, leaving out
// the parts that are unknown.
func (e *Error) Error() string { return formatDiag(e.Pos, e.Keyword, e.Msg) }

// Warning is a directive that was accepted but has no effect in sluice (for
// example `daemon` or `log global`). It has the same shape as Error.
type Warning struct {
	Pos     Pos
	Keyword string
	Msg     string
}

func (w Warning) String() string { return formatDiag(w.Pos, w.Keyword, w.Msg) }

func formatDiag(pos Pos, kw, msg string) string {
	var b strings.Builder
	if p := pos.String(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	if kw != "" {
		b.WriteByte('\'')
		b.WriteString(kw)
		b.WriteString("': ")
	}
	b.WriteString(msg)
	return b.String()
}

// ErrorList is every error found in one configuration, in the order the
// offending statements appear. Parse and Validate keep going after an error so
// that one run reports everything.
type ErrorList []*Error

// Error joins the errors one per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// err returns l as an error, or nil when l is empty, so that callers never
// return a non-nil interface holding an empty list.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
