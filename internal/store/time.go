package store

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Time is an instant stored in a BIGINT column as Unix microseconds; the zero
// Time is stored as 0 and 0 is read as the zero Time. Read times are in UTC.
type Time struct {
	time.Time
}

// TimeOf is t as a time column holds it: in UTC, to the microsecond (the
// zero time stays zero), so a Time equals what reading it back yields.
func TimeOf(t time.Time) Time {
	if t.IsZero() {
		return Time{}
	}
	return TimeMicros(t.UnixMicro())
}

// TimeMicros is the Time of Unix microseconds us (0 is the zero Time).
func TimeMicros(us int64) Time {
	if us == 0 {
		return Time{}
	}
	return Time{time.UnixMicro(us).UTC()}
}

// Micros is t as Unix microseconds, 0 for the zero Time.
func (t Time) Micros() int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// Value stores the time as Unix microseconds.
func (t Time) Value() (driver.Value, error) { return t.Micros(), nil }

// Scan reads Unix microseconds; NULL is the zero Time.
func (t *Time) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t = Time{}
	case int64:
		*t = TimeMicros(v)
	default:
		return fmt.Errorf("store: time column holds %T, not Unix microseconds", src)
	}
	return nil
}
