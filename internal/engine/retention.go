package engine

import (
	"context"
	"errors"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// DefaultRetention is how long history is kept when [Config.Retention] is zero.
const DefaultRetention = 30 * 24 * time.Hour

// retentionLease names the lease whose holder prunes.
const retentionLease = "retention"

// retentionPause spaces pruning batches, so that other writers (on SQLite, all
// of them share one connection) get the database between them.
const retentionPause = 20 * time.Millisecond

// errLeaseLost ends a pruning pass whose server no longer holds the lease.
var errLeaseLost = errors.New("retention lease lost to another server")

// pruned counts what a pruning pass deleted.
type pruned struct {
	runs, tasks, events, replays int64
}

func (p *pruned) add(o pruned) {
	p.runs += o.runs
	p.tasks += o.tasks
	p.events += o.events
	p.replays += o.replays
}

func (p pruned) any() bool { return p.runs+p.tasks+p.events+p.replays > 0 }

// runRetention deletes history older than the retention, every
// RetentionInterval, on one server process at a time: the one that holds the
// retention lease. The lease lasts three intervals and its holder renews it, so
// that another server takes over within three intervals of the holder's end
// (at once when the holder stops cleanly and gives it up). Two servers pruning
// at once (with clocks far apart) would do nothing wrong, only the same work.
func (e *Engine) runRetention(ctx context.Context) {
	if e.cfg.Retention < 0 {
		return
	}
	holder := newID()
	held := false
	defer func() {
		if !held {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		// Best effort: a lease not given up expires by itself.
		_ = e.store.Write(rctx, func(ctx context.Context, q store.Q) error {
			return q.LeaseRelease(ctx, retentionLease, holder)
		})
	}()
	tick := time.NewTicker(e.cfg.RetentionInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ok, err := e.retentionLeaseAcquire(ctx, holder)
		if err != nil {
			if ctx.Err() == nil {
				e.log.WarnContext(ctx, "retention lease", "error", err.Error())
			}
			continue
		}
		if ok && !held {
			e.log.InfoContext(ctx, "this server prunes history now", "retention", e.cfg.Retention)
		}
		held = ok
		if !held {
			continue
		}
		start := time.Now()
		n, err := e.prune(ctx, holder)
		if n.any() {
			e.log.InfoContext(ctx, "pruned", "events", n.events, "runs", n.runs, "tasks", n.tasks, "replays", n.replays,
				"duration", time.Since(start))
		}
		switch {
		case errors.Is(err, errLeaseLost):
			held = false
		case err != nil && ctx.Err() == nil:
			e.log.WarnContext(ctx, "prune", "error", err.Error())
		}
	}
}

// retentionLeaseAcquire takes or renews the retention lease for three
// intervals and reports whether this server holds it.
func (e *Engine) retentionLeaseAcquire(ctx context.Context, holder string) (bool, error) {
	now := e.now()
	var ok bool
	err := e.store.Write(ctx, func(ctx context.Context, q store.Q) (err error) {
		ok, err = q.LeaseAcquire(ctx, retentionLease, holder, micros(now), micros(now.Add(3*e.cfg.RetentionInterval)))
		return err
	})
	return ok, err
}

// prune deletes, in batches of RetentionBatch rows, each its own transaction,
// the runs that ended before the retention with their tasks, then the events
// stored before it that no run refers to any more, then the replay records
// made before it. It renews the lease between batches as needed and stops when
// it was lost. It returns what it deleted, also when it fails halfway.
func (e *Engine) prune(ctx context.Context, holder string) (pruned, error) {
	before := micros(e.now().Add(-e.cfg.Retention))
	limit := e.cfg.RetentionBatch
	steps := []func(ctx context.Context, q store.Q) (pruned, int64, error){
		func(ctx context.Context, q store.Q) (pruned, int64, error) {
			runs, tasks, err := q.RunPrune(ctx, before, limit)
			return pruned{runs: runs, tasks: tasks}, runs, err
		},
		func(ctx context.Context, q store.Q) (pruned, int64, error) {
			n, err := q.EventPrune(ctx, before, limit)
			return pruned{events: n}, n, err
		},
		func(ctx context.Context, q store.Q) (pruned, int64, error) {
			n, err := q.ReplayPrune(ctx, before, limit)
			return pruned{replays: n}, n, err
		},
	}
	var total pruned
	renewed := e.now()
	for _, step := range steps {
		for {
			var batch pruned
			var rows int64
			err := e.store.Write(ctx, func(ctx context.Context, q store.Q) (err error) {
				batch, rows, err = step(ctx, q)
				return err
			})
			if err != nil {
				return total, err
			}
			total.add(batch)
			if rows < int64(limit) {
				break
			}
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(retentionPause):
			}
			if e.now().Sub(renewed) >= e.cfg.RetentionInterval {
				ok, err := e.retentionLeaseAcquire(ctx, holder)
				if err != nil {
					return total, err
				}
				if !ok {
					return total, errLeaseLost
				}
				renewed = e.now()
			}
		}
	}
	return total, nil
}
