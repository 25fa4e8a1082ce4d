package webhook

import (
	"strconv"
	"time"
)

// checkTimestamp parses value, the Unix seconds from header, and accepts it
// when it is within tolerance of now in either direction: a request from the
// past beyond the window may be a replay, one from the future a forged clock.
func checkTimestamp(header, value string, now time.Time, tolerance time.Duration) *Rejection {
	secs, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return malformed(header)
	}
	// Sub saturates instead of overflowing, so absurd timestamps are simply
	// far away.
	if now.Sub(time.Unix(secs, 0)).Abs() > tolerance {
		return reject(reasonTimestamp)
	}
	return nil
}
