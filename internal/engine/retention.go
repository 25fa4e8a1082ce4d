package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// retention prunes history: it deletes what is older than the retention, every
// interval, on one server process at a time. It owns the retention lease.
type retention struct {
	write    writeFunc
	now      func() time.Time
	log      *slog.Logger
	keep     time.Duration // Retention
	interval time.Duration // RetentionInterval
	batch    int           // RetentionBatch

	holder string // this server's name for the lease
	held   bool   // whether it holds the lease
}

// Run prunes every interval while this server holds the retention lease. The
// lease lasts three intervals and its holder renews it, so that another server
// takes over within three intervals of the holder's end (at once when the
// holder stops cleanly and gives it up). Two servers pruning at once (with
// clocks far apart) would do nothing wrong, only the same work.
func (r *retention) Run(ctx context.Context) {
	r.holder = newID()
	defer r.release(ctx)
	job := func(ctx context.Context) (time.Duration, error) { return busy, r.pass(ctx) }
	periodic{name: "prune history", interval: r.interval, idle: r.interval, job: job, log: r.log}.Run(ctx)
}

// pass takes or renews the lease and, holding it, prunes.
func (r *retention) pass(ctx context.Context) error {
	ok, err := r.leaseAcquire(ctx)
	if err != nil {
		return fmt.Errorf("retention lease: %w", err)
	}
	if ok && !r.held {
		r.log.InfoContext(ctx, "this server prunes history now", "retention", r.keep)
	}
	if r.held = ok; !ok {
		return nil
	}
	start := time.Now()
	n, err := r.prune(ctx)
	if n.any() {
		r.log.InfoContext(ctx, "pruned", "events", n.events, "runs", n.runs, "tasks", n.tasks, "replays", n.replays,
			"duration", time.Since(start))
	}
	if errors.Is(err, errLeaseLost) {
		r.held = false
		return nil
	}
	return err
}

// release gives the lease up, if this server holds it, so that another server
// takes over at once. It is best effort: a lease not given up expires by itself.
func (r *retention) release(ctx context.Context) {
	if !r.held {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = r.write(rctx, func(ctx context.Context, q store.Q, _ *signals) error {
		return q.LeaseRelease(ctx, retentionLease, r.holder)
	})
}

// leaseAcquire takes or renews the retention lease for three intervals and
// reports whether this server holds it.
func (r *retention) leaseAcquire(ctx context.Context) (bool, error) {
	now := r.now()
	var ok bool
	err := r.write(ctx, func(ctx context.Context, q store.Q, _ *signals) (err error) {
		ok, err = q.LeaseAcquire(ctx, retentionLease, r.holder, now, now.Add(3*r.interval))
		return err
	})
	return ok, err
}

// prune deletes, in batches of RetentionBatch rows, each its own transaction,
// the runs that ended before the retention with their tasks, then the events
// stored before it that no run refers to any more, then the replay records
// made before it. It renews the lease between batches as needed and stops when
// it was lost. It returns what it deleted, also when it fails halfway.
func (r *retention) prune(ctx context.Context) (pruned, error) {
	before := r.now().Add(-r.keep)
	limit := r.batch
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
	renewed := r.now()
	for _, step := range steps {
		for {
			var batch pruned
			var rows int64
			err := r.write(ctx, func(ctx context.Context, q store.Q, _ *signals) (err error) {
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
			if r.now().Sub(renewed) >= r.interval {
				ok, err := r.leaseAcquire(ctx)
				if err != nil {
					return total, err
				}
				if !ok {
					return total, errLeaseLost
				}
				renewed = r.now()
			}
		}
	}
	return total, nil
}

// refreshStats refreshes the planner statistics of the tables that changed
// much since they were last gathered, so that list pages keep their plans as
// the tables grow.
func (e *Engine) refreshStats(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	tables, err := e.store.StatsRefresh(ctx)
	if len(tables) > 0 {
		e.log.InfoContext(ctx, "refreshed planner statistics", "tables", tables, "duration", time.Since(start))
	}
	return busy, err
}
