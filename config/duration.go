package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

const day = 24 * time.Hour

// durationUnits are HAProxy's time suffixes, largest first so that
// FormatDuration picks the shortest exact spelling.
var durationUnits = []struct {
	suffix string
	unit   time.Duration
}{
	{"d", day},
	{"h", time.Hour},
	{"m", time.Minute},
	{"s", time.Second},
	{"ms", time.Millisecond},
	{"us", time.Microsecond},
}

// ParseDuration reads an HAProxy time value: an unsigned decimal integer
// with an optional unit among us, ms, s, m, h and d. Without a unit the value
// is in milliseconds, as everywhere in HAProxy's configuration.
func ParseDuration(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 {
		if s == "" {
			return 0, errors.New("empty time value")
		}
		return 0, fmt.Errorf("invalid time value %q: want a non-negative integer with an optional unit (us, ms, s, m, h, d)", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("time value %q is too large", s)
	}
	unit := time.Millisecond
	if suffix := s[i:]; suffix != "" {
		unit = 0
		for _, u := range durationUnits {
			if u.suffix == suffix {
				unit = u.unit
				break
			}
		}
		if unit == 0 {
			return 0, fmt.Errorf("invalid time unit %q in %q: want us, ms, s, m, h or d", suffix, s)
		}
	}
	if n > math.MaxInt64/int64(unit) {
		return 0, fmt.Errorf("time value %q is too large", s)
	}
	return time.Duration(n) * unit, nil
}

// FormatDuration writes d with the largest unit that represents it exactly
// ("90s", "2m", "1500ms"), so that ParseDuration(FormatDuration(d)) == d for
// every whole number of microseconds. HAProxy's syntax has no unit below the
// microsecond: a finer duration is rounded up to the next microsecond rather
// than down, since 0 means "not set".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	sign := ""
	if d < 0 {
		// Not valid in a configuration; written anyway so the problem is visible.
		sign = "-"
		if d == math.MinInt64 {
			d = math.MaxInt64
		} else {
			d = -d
		}
	}
	if r := d % time.Microsecond; r != 0 {
		if d > math.MaxInt64-time.Microsecond {
			d -= r
		} else {
			d += time.Microsecond - r
		}
	}
	for _, u := range durationUnits {
		if d%u.unit == 0 {
			return sign + strconv.FormatInt(int64(d/u.unit), 10) + u.suffix
		}
	}
	panic("unreachable: every duration is a whole number of microseconds here")
}
