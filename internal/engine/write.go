package engine

import (
	"context"
	"log/slog"
	"slices"

	"github.com/switchyard/switchyard/internal/store"
)

// The one write path: every transaction of the engine runs through
// [Engine.write], which delivers what the transaction collected (signals for
// the parts of this process and the others, state changes for the observer
// and the log) once it committed, and never before.

// read returns what get reads on one pooled connection of st.
func read[T any](ctx context.Context, st *store.Store, get func(ctx context.Context, q store.Q) (T, error)) (T, error) {
	var v T
	err := st.Read(ctx, func(ctx context.Context, q store.Q) (err error) {
		v, err = get(ctx, q)
		return err
	})
	return v, err
}

// writeFunc is the engine's one write path, [Engine.write], as the parts take
// it: fn runs in a transaction, and the signals it adds are delivered once the
// transaction committed.
type writeFunc func(ctx context.Context, fn func(ctx context.Context, q store.Q, sig *signals) error) error

// signals collects what one write tells others once it committed: signals for
// the engine's parts, and the state changes for the observer and the log.
type signals struct {
	names   []string
	changes []change
}

func (s *signals) add(sig string) {
	if !slices.Contains(s.names, sig) {
		s.names = append(s.names, sig)
	}
}

// record has a state change observed and logged once the write committed.
func (s *signals) record(c change) {
	s.changes = append(s.changes, c)
}

// write runs fn in a transaction and, once it committed, delivers the signals it
// added to this process, hands them to the notifier for the others and tells
// the observer what changed.
func (e *Engine) write(ctx context.Context, fn func(ctx context.Context, q store.Q, sig *signals) error) error {
	var sig signals
	err := e.store.Write(ctx, func(ctx context.Context, q store.Q) error {
		sig = signals{}
		return fn(ctx, q, &sig)
	})
	if err != nil {
		return err
	}
	e.committed(&sig)
	return nil
}

// committed delivers what a committed write collected. State changes are
// logged at debug level.
func (e *Engine) committed(sig *signals) {
	e.signal(sig.names...)
	debug := e.log.Enabled(context.Background(), slog.LevelDebug)
	for _, c := range sig.changes {
		if c.observe != nil {
			c.observe(e.obs)
		}
		if debug && c.msg != "" {
			e.log.Debug(c.msg, c.attrs...)
		}
	}
}

// signal delivers sigs to this process's parts and sends them to the other
// server processes.
func (e *Engine) signal(sigs ...string) {
	for _, s := range sigs {
		e.hub.deliver(s)
	}
	e.notifier.Send(sigs...)
}
