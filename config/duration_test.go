package config

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"1", time.Millisecond},
		{"5000", 5 * time.Second},
		{"250us", 250 * time.Microsecond},
		{"250ms", 250 * time.Millisecond},
		{"30s", 30 * time.Second},
		{"5m", 5 * time.Minute},
		{"2h", 2 * time.Hour},
		{"7d", 7 * 24 * time.Hour},
		{"007s", 7 * time.Second},
		{"9223372036854775us", time.Duration(math.MaxInt64/1000) * time.Microsecond},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{"-1", "invalid time value"},
		{"-5s", "invalid time value"},
		{"s", "invalid time value"},
		{"1.5s", "invalid time unit"},
		{"10 s", "invalid time unit"},
		{"10S", "invalid time unit"},
		{"10sec", "invalid time unit"},
		{"1w", "invalid time unit"},
		{"+5", "invalid time value"},
		{"99999999999999999999", "too large"},
		{"9223372036854775807", "too large"}, // in ms, beyond time.Duration
		{"106752d", "too large"},
		{"2562048h", "too large"},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0"},
		{time.Microsecond, "1us"},
		{1500 * time.Microsecond, "1500us"},
		{time.Millisecond, "1ms"},
		{1500 * time.Millisecond, "1500ms"},
		{2 * time.Second, "2s"},
		{90 * time.Second, "90s"},
		{2 * time.Minute, "2m"},
		{90 * time.Minute, "90m"},
		{time.Hour, "1h"},
		{36 * time.Hour, "36h"},
		{48 * time.Hour, "2d"},
		{1500 * time.Nanosecond, "2us"}, // rounded up, never down to 0
		{time.Nanosecond, "1us"},
		{-3 * time.Second, "-3s"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestDurationRoundTrip checks Parse(Format(d)) == d over a spread of whole
// microsecond values, including the largest.
func TestDurationRoundTrip(t *testing.T) {
	values := []time.Duration{math.MaxInt64 / 1000 * 1000, 24 * time.Hour * 3650}
	for d := time.Microsecond; d < 1000*time.Hour; d = d*7 + time.Microsecond {
		values = append(values, d, d.Truncate(time.Millisecond), d.Truncate(time.Second), d.Truncate(time.Minute))
	}
	for _, d := range values {
		s := FormatDuration(d)
		got, err := ParseDuration(s)
		if err != nil || got != d {
			t.Errorf("ParseDuration(FormatDuration(%v) = %q) = %v, %v", d, s, got, err)
		}
	}
}

func TestFormatDurationExtremes(t *testing.T) {
	// Must not panic or overflow.
	for _, d := range []time.Duration{math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		if s := FormatDuration(d); s == "" {
			t.Errorf("FormatDuration(%d) is empty", d)
		}
	}
}
