package sock

import (
	"testing"
	"time"
)

func TestLazyDeadline(t *testing.T) {
	now := time.Now()
	var set []time.Time
	record := func(t time.Time) error { set = append(set, t); return nil }
	var d lazyDeadline

	// First deadline: set with a margin of 1/16 of its distance.
	if err := d.update(now.Add(16*time.Second), record); err != nil {
		t.Fatal(err)
	}
	if len(set) != 1 || set[0].Before(now.Add(16*time.Second)) || set[0].After(now.Add(17*time.Second)) {
		t.Fatalf("first update set %v, want within [16s, 17s] from now", set)
	}
	// A later deadline inside the margin: nothing to do.
	d.update(now.Add(16*time.Second+100*time.Millisecond), record)
	if len(set) != 1 {
		t.Fatalf("update inside the margin re-armed the timer: %v", set)
	}
	// Past the margin: set again.
	d.update(now.Add(18*time.Second), record)
	if len(set) != 2 || set[1].Before(now.Add(18*time.Second)) {
		t.Fatalf("update past the margin: %v", set)
	}
	// A shorter timeout (keep-alive after a long request): never late by
	// more than the margin, so it is set.
	d.update(now.Add(time.Second), record)
	if len(set) != 3 || set[2].After(now.Add(time.Second+maxDeadlineSlack)) {
		t.Fatalf("shorter deadline: %v", set)
	}
	// Zero clears, always.
	d.update(time.Time{}, record)
	if len(set) != 4 || !set[3].IsZero() {
		t.Fatalf("clearing: %v", set)
	}
	// Long timeouts get at most maxDeadlineSlack of margin.
	d.update(now.Add(time.Hour), record)
	if got := set[4].Sub(now.Add(time.Hour)); got > maxDeadlineSlack {
		t.Fatalf("margin %v on a one-hour deadline, want at most %v", got, maxDeadlineSlack)
	}
}
