package engine

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// The conversions between the engine's values and the store's columns.

func jsonDecode(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// newID returns a UUIDv7: time-ordered, so ids make good index keys and cursors.
func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
