package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// TestRateWindowNeverExceedsItsLimit starts units at many instants, in an
// order that is not the order of their times (as server processes decide),
// each only when the window allows it, and checks every window of one
// period: none holds more than the limit, and a start refused at t is
// allowed at the time earliest gave.
func TestRateWindowNeverExceedsItsLimit(t *testing.T) {
	t.Parallel()
	const limit, period = 5, 1000 * time.Microsecond
	base := time.UnixMicro(1_000_000)
	var w rateWindow
	var starts []time.Time
	for i := range 400 {
		at := base.Add(time.Duration(i*37%50+i*13) * time.Microsecond)
		if next, ok := w.earliest(at, period, limit, 1); ok && !next.After(at) {
			w.add(at, period, limit, 1)
			starts = append(starts, at)
		} else if !ok || !next.After(at) {
			t.Fatalf("start %d at %v: earliest %v, %v", i, at, next, ok)
		}
	}
	if len(starts) < 20 { // 5.2 periods at 5 a period: at most 26
		t.Fatalf("only %d starts allowed", len(starts))
	}
	for _, s := range starts {
		n := 0
		for _, o := range starts {
			if !o.Before(s) && o.Before(s.Add(period)) {
				n++
			}
		}
		if n > limit {
			t.Fatalf("%d starts in the window from %v, limit %d", n, s, limit)
		}
	}
}

// TestRateWindowEarliest: the first time units fit, and reservations (future
// entries) of a throttle queue up one period apart per limit's worth.
func TestRateWindowEarliest(t *testing.T) {
	t.Parallel()
	const period = 256 * time.Microsecond // a grain of 1 µs: no rounding
	var w rateWindow
	var slots []string
	for range 7 {
		at, _ := w.earliest(time.UnixMicro(0), period, 2, 1)
		w.add(at, period, 2, 1)
		slots = append(slots, fmt.Sprint(at.UnixMicro()))
	}
	if got := strings.Join(slots, " "); got != "0 0 256 256 512 512 768" {
		t.Fatalf("slots %s, want two per period", got)
	}
	if _, ok := w.earliest(time.UnixMicro(0), period, 2, 3); ok {
		t.Fatal("3 units fit a limit of 2")
	}
	if len(w.log) > 2 {
		t.Fatalf("log %v keeps more than the limit's units", w.log)
	}
}

// TestRoundRobinOrder: one run per key per round, from the key after the
// last admitted, oldest first within a key.
func TestRoundRobinOrder(t *testing.T) {
	t.Parallel()
	var waiting []*store.Run
	for i, k := range "aaabbc" {
		waiting = append(waiting, &store.Run{ID: fmt.Sprint(string(k), i), ConcurrencyKey: string(k)})
	}
	for last, want := range map[string]string{"": "a0 b3 c5 a1 b4 a2", "a": "b3 c5 a0 b4 a1 a2", "c": "a0 b3 c5 a1 b4 a2", "bb": "c5 a0 b3 a1 b4 a2"} {
		var got []string
		for _, r := range roundRobinOrder(waiting, last) {
			got = append(got, r.ID)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("after %q: %v, want %s", last, got, want)
		}
	}
}
