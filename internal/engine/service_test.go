package engine

import (
	"testing"
	"time"
)

// TestPeriodicNext: the wait of a background loop doubles while it finds
// nothing to do, up to idle, never past what comes due, and is back to its
// interval after work, a wake-up or a failure.
func TestPeriodicNext(t *testing.T) {
	t.Parallel()
	p := periodic{interval: time.Second, idle: 20 * time.Second}
	for _, tc := range []struct {
		name      string
		prev, due time.Duration
		reset     bool
		want      time.Duration
	}{
		{"idle doubles", time.Second, nothingDue, false, 2 * time.Second},
		{"idle stops at idle", 16 * time.Second, nothingDue, false, 20 * time.Second},
		{"idle stays at idle", 20 * time.Second, nothingDue, false, 20 * time.Second},
		{"busy", 20 * time.Second, busy, false, time.Second},
		{"woken idle", 20 * time.Second, nothingDue, true, time.Second},
		{"due before the doubled wait", 8 * time.Second, 3 * time.Second, false, 3 * time.Second},
		{"due before the interval", 8 * time.Second, 300 * time.Millisecond, true, 300 * time.Millisecond},
		{"due later than idle", 16 * time.Second, time.Hour, false, 20 * time.Second},
		{"due at once", time.Second, time.Nanosecond, false, time.Millisecond},
	} {
		if got := p.next(tc.prev, tc.due, tc.reset); got != tc.want {
			t.Errorf("%s: next(%s, %s, %v) = %s; want %s", tc.name, tc.prev, tc.due, tc.reset, got, tc.want)
		}
	}
}

// TestSplitDue: of items listed by time, those whose time came are due, and
// the wait is until the first of the others.
func TestSplitDue(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000, 0)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	id := func(t time.Time) time.Time { return t }
	for _, tc := range []struct {
		name     string
		items    []time.Time
		wantDue  int
		wantNext time.Duration
	}{
		{"none listed", nil, 0, nothingDue},
		{"all due", []time.Time{at(-time.Second), at(0)}, 2, busy},
		{"some due", []time.Time{at(-time.Second), at(3 * time.Second)}, 1, busy},
		{"none due", []time.Time{at(3 * time.Second), at(5 * time.Second)}, 0, 3 * time.Second},
	} {
		due, next := splitDue(tc.items, id, now)
		if len(due) != tc.wantDue || next != tc.wantNext {
			t.Errorf("%s: %d due, next %s; want %d, %s", tc.name, len(due), next, tc.wantDue, tc.wantNext)
		}
	}
}
