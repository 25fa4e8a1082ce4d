package engine

import (
	"context"
	"errors"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// watchState is what the watch streams share (WatchRun, WatchBulkOperation):
// it calls send with what get reads, then with each state that differs from
// the last sent, until ended says the state is final (after sending it) or ctx
// ends. It reads again when the hub signals id, or every poll (a notification
// from another process may be missed); while nothing changes it calls send
// with T's zero value (a keep-alive) every keep-alive interval. A read the
// database cannot serve now (overload) is tried again at the next wake-up once
// a first state was sent.
func watchState[T any](ctx context.Context, e *Engine, id string, poll time.Duration,
	get func(ctx context.Context) (T, error), differs func(last, cur T) bool, ended func(T) bool, send func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := e.hub.subscribeRun(ctx, id)
	keepalive := time.NewTicker(e.cfg.KeepaliveInterval)
	defer keepalive.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var last T
	sent := false
	for {
		cur, err := get(ctx)
		switch {
		case err != nil && (!sent || !errors.Is(err, store.ErrUnavailable)):
			return err
		case err != nil:
		case !sent || differs(last, cur):
			if err := send(cur); err != nil {
				return err
			}
			last, sent = cur, true
			keepalive.Reset(e.cfg.KeepaliveInterval)
		}
		if sent && err == nil && ended(cur) {
			return nil
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-e.draining:
				return errDraining
			case <-changed:
				break wait
			case <-tick.C:
				break wait
			case <-keepalive.C:
				var zero T
				if err := send(zero); err != nil {
					return err
				}
			}
		}
	}
}
