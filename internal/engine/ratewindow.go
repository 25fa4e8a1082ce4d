package engine

import (
	"cmp"
	"slices"
	"time"
)

// A rate window is the recent use of one key of a limit: the start times
// (Unix microseconds) of its latest starts, ascending, with the units each
// took. A start of u units at t is allowed when the units of the entries
// later than t - period (future ones, a throttle's reservations, included)
// leave room for u. Because every entry later than t - period counts,
// whichever order server processes decide in, no window of one period ever
// holds more than the limit: the last start decided in such a window saw
// every other one of it.
//
// Times are rounded up to a 256th of the period (which keeps a window's log
// at a few hundred entries however many starts it counts) and the log keeps
// only the latest max units and nothing older than two periods (the extra
// period tolerates clocks read before a lock was waited for). Rounding up
// makes an entry count a little longer, never shorter: the limit errs on the
// side of waiting.
type rateWindow struct {
	log [][2]int64
}

// grain is the rounding step of a period's window.
func grain(period time.Duration) int64 {
	return max(period.Microseconds()/256, 1)
}

// used returns the units counted at t.
func (w *rateWindow) used(t time.Time, period time.Duration) int64 {
	from := t.UnixMicro() - period.Microseconds()
	var n int64
	for _, e := range w.log {
		if e[0] > from {
			n += e[1]
		}
	}
	return n
}

// earliest returns the first time from t on when units fit under limit per
// period; ok is false when they never fit (units above the limit).
func (w *rateWindow) earliest(t time.Time, period time.Duration, limit, units int64) (at time.Time, ok bool) {
	if units > limit {
		return time.Time{}, false
	}
	excess := w.used(t, period) + units - limit
	if excess <= 0 {
		return t, true
	}
	from := t.UnixMicro() - period.Microseconds()
	for _, e := range w.log {
		if e[0] <= from {
			continue
		}
		if excess -= e[1]; excess <= 0 {
			return time.UnixMicro(e[0] + period.Microseconds()).UTC(), true
		}
	}
	return t, true // not reached: the log's units cover the excess
}

// add counts units started at t and drops what no longer counts.
func (w *rateWindow) add(t time.Time, period time.Duration, limit, units int64) {
	g := grain(period)
	at := (t.UnixMicro() + g - 1) / g * g
	i, found := slices.BinarySearchFunc(w.log, at, func(e [2]int64, at int64) int { return cmp.Compare(e[0], at) })
	if found {
		w.log[i][1] += units
	} else {
		w.log = slices.Insert(w.log, i, [2]int64{at, units})
	}
	keepFrom := t.UnixMicro() - 2*period.Microseconds()
	var total int64
	for _, e := range w.log {
		total += e[1]
	}
	drop := 0
	for drop < len(w.log) && (w.log[drop][0] <= keepFrom || total-w.log[drop][1] >= limit) {
		total -= w.log[drop][1]
		drop++
	}
	w.log = w.log[drop:]
}
