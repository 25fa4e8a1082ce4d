// Package engine holds Switchyard's business rules: what an event is, how a push
// is stored and deduplicated, and (as the engine grows) how events trigger runs
// and tasks reach workers. It knows nothing of protocols: the handlers in package
// service convert requests into the engine's types and its errors into Connect
// codes.
package engine

import (
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/switchyard/switchyard/service/store"
)

// Config wires an [Engine].
type Config struct {
	Store  *store.Store
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests pass a fake one.
	Now func() time.Time
}

// Engine carries out every operation of the API against the store.
type Engine struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns an engine over the config's store.
func New(cfg Config) *Engine {
	e := &Engine{store: cfg.Store, log: cfg.Logger, now: cfg.Now}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e
}

// newID returns a UUIDv7: time-ordered, so ids make good index keys and cursors.
func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
