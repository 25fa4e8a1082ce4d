// Package engine holds Switchyard's business rules behind one API facade, [Engine].
// It owns how events are stored and start runs, and how tasks reach workers; its parts work behind the facade.
//
// It knows nothing of protocols: the handlers in package service convert
// requests into the engine's types and its errors into Connect codes.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard/switchyard/internal/engine/groupcommit"
	"github.com/switchyard/switchyard/internal/store"
)

// Config wires an [Engine]. Zero durations take the defaults shown.
type Config struct {
	Store  *store.Store
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. The engine reads it to the
	// microsecond, the precision times are stored at.
	Now func() time.Time
	// HeartbeatInterval is how often workers heartbeat (5s); a worker silent for
	// three intervals is taken for dead.
	HeartbeatInterval time.Duration
	// KeepaliveInterval spaces keep-alive messages on streams (3s). A Listen
	// stream whose worker acknowledges keep-alives is ended when none was
	// acknowledged for three intervals.
	KeepaliveInterval time.Duration
	// AckTimeout is how long an assignment may go unacknowledged (5s) before
	// it is given to another worker, once the worker's stream has acknowledged
	// a keep-alive.
	AckTimeout time.Duration
	// DispatchInterval is the fallback poll of the queue between wake-ups
	// (250ms) while there is work. A retry whose backoff passed wakes it at
	// that time.
	DispatchInterval time.Duration
	// ReapInterval is how often lost attempts are looked for (1s) while this
	// process's workers run tasks; a stream that ends wakes it when its
	// attempts may be taken for lost.
	ReapInterval time.Duration
	// ScheduleInterval is how often delayed runs, waiting runs and cron ticks
	// are looked at (1s) while there are any; each also starts at its time.
	ScheduleInterval time.Duration
	// IdleInterval is the longest wait of those loops (20s): each waits twice
	// as long after every look that found nothing to do, up to this, so an
	// idle server hardly queries its database; a signal (a queued task, a
	// freed slot, a stored schedule, from this process or, through the
	// notifier, another) brings the wait back to its interval. It bounds how
	// late this process notices what another process's crash left.
	IdleInterval time.Duration
	// CronCatchUp is how late a cron tick may fire (1m): a server that falls
	// behind (a slow scan, a short outage) fires each tick it missed; ticks
	// older than this were missed while no server ran, and fire once.
	CronCatchUp time.Duration
	// PriorityAging is the wait that one priority level is worth (10s): a
	// queued task is passed by tasks of higher priority only when they became
	// ready less than (difference in priority × PriorityAging) after it.
	PriorityAging time.Duration
	// Observer is told what the engine does, for metrics; nil means nobody.
	Observer Observer
	// TracerProvider records the spans that carry a trace from a push to the
	// runs and tasks it starts; nil means the OpenTelemetry global, a no-op
	// unless the process set one.
	TracerProvider trace.TracerProvider
	// SecretKey seals stored secrets (webhook secrets); [SecretKeyBytes] long.
	// Without it webhooks cannot be created.
	SecretKey []byte
	// Retention is how long history is kept ([DefaultRetention], 30 days): a
	// run that ended longer ago is deleted with its tasks, an event stored
	// longer ago once no run refers to it, a replay record made longer ago. It
	// is thereby the shortest time an idempotency key deduplicates. Negative
	// keeps everything.
	Retention time.Duration
	// RetentionInterval is how often history is pruned (1m), by one server
	// process at a time (the holder of a lease of three intervals).
	RetentionInterval time.Duration
	// RetentionBatch is the most rows one pruning statement deletes (500); each
	// batch is its own short transaction.
	RetentionBatch int
	// StatsInterval is how often the planner statistics of tables that changed
	// much are refreshed (1m; see [store.Store.StatsRefresh]).
	StatsInterval time.Duration
}

// Engine is the API facade: it carries out every operation of the API against
// the store, and assembles the engine's parts, which work behind it.
//
// The parts, each its own type with narrow dependencies:
//   - the group committers ([groupcommit.Committer]) share one transaction
//     among concurrent single pushes, and another among concurrent reports
//     that end attempts;
//   - the hub fans signals out inside this process, and the store's notifier
//     ([store.Notifier]) carries them to and from the other server processes;
//   - the dispatcher ([dispatcher]) hands queued tasks to the workers whose
//     streams this process holds, and its reaper takes back lost attempts;
//   - the schedulers start what waits for a time or for room: cron ticks
//     ([cronScheduler]), scheduled and waiting runs ([runAdmitter]); and they
//     prune old history ([retention]) and webhook deliveries.
//
// Every transaction goes through one write path, [Engine.write], which hands
// the signals a write collected to the hub and the notifier once it committed.
type Engine struct {
	store    *store.Store
	log      *slog.Logger
	now      func() time.Time
	cfg      Config
	hub      *hub
	notifier *store.Notifier
	disp     *dispatcher
	triggers triggerCache
	webhooks webhookCache
	group    *groupcommit.Committer[*pushItem]
	reports  *groupcommit.Committer[*reportItem]
	obs      Observer
	tracer   trace.Tracer
	services []service     // the parts that work in the background
	draining chan struct{} // closed by Drain
	drainMu  sync.Once
}

// New returns an engine over the config's store. Call [Engine.Start] to run its
// background work (dispatch, recovery of lost attempts, notifications,
// schedulers).
func New(cfg Config) *Engine {
	cfg = cfg.withDefaults()
	e := &Engine{store: cfg.Store, log: cfg.Logger, now: cfg.Now, cfg: cfg, obs: cfg.Observer, hub: newHub(cfg.Now), draining: make(chan struct{})}
	e.tracer = newTracer(cfg.TracerProvider)
	e.disp = &dispatcher{store: cfg.Store, write: e.write, log: cfg.Logger, now: cfg.Now, cfg: cfg, obs: cfg.Observer, tracer: e.tracer,
		hub: e.hub, attempts: e, draining: e.draining, conns: make(map[string]*workerConn)}
	e.hub.cancelFn = e.disp.sendCancellation
	e.notifier = cfg.Store.NewNotifier(cfg.Logger, e.hub.deliver)
	e.group = groupcommit.New(pushGroups, e.commitPushes)
	e.reports = groupcommit.New(reportGroups, e.commitReports)
	admitter := &runAdmitter{store: cfg.Store, write: e.write, now: cfg.Now, runs: e, ahead: cfg.IdleInterval}
	cron := &cronScheduler{store: cfg.Store, write: e.write, now: cfg.Now, log: cfg.Logger, catchUp: cfg.CronCatchUp, ahead: cfg.IdleInterval, triggers: &e.triggers, starter: e}
	e.services = []service{
		e.notifier,
		e.every("dispatch", cfg.DispatchInterval, e.hub.wake, e.disp.dispatchAll),
		e.every("reap lost attempts", cfg.ReapInterval, e.hub.reap, e.disp.reap),
		e.every("start scheduled runs", cfg.ScheduleInterval, e.hub.due, admitter.admitDue),
		e.every("start waiting runs", cfg.ScheduleInterval, e.hub.admit, func(ctx context.Context) (time.Duration, error) {
			waiting, err := admitter.admitWaiting(ctx)
			released, err2 := admitter.admitReleased(ctx)
			return min(waiting, released), errors.Join(err, err2)
		}),
		// A window wakes the servers at its time, an operation when it
		// starts; with nothing to do, the loops look less often, up to
		// IdleInterval (a wake-up lost in a crash waits that long).
		e.every("fire event windows", cfg.ScheduleInterval, e.hub.windows, e.fireDueWindows),
		e.every("run bulk operations", cfg.ScheduleInterval, e.hub.bulk, e.runBulkOperations),
		e.every("fire cron ticks", cfg.ScheduleInterval, e.hub.cron, cron.fire),
		e.every("resolve waits", cfg.ScheduleInterval, e.hub.waits, e.resolveWaits),
		e.every("prune webhook deliveries", deliveryPruneInterval, nil, func(ctx context.Context) (time.Duration, error) {
			return busy, e.pruneDeliveries(ctx)
		}),
		e.every("refresh planner statistics", cfg.StatsInterval, nil, e.refreshStats),
	}
	if cfg.Retention >= 0 {
		e.services = append(e.services, &retention{write: e.write, now: cfg.Now, log: cfg.Logger,
			keep: cfg.Retention, interval: cfg.RetentionInterval, batch: cfg.RetentionBatch})
	}
	return e
}

// withDefaults returns the config with its zero values replaced by defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Now = storedPrecision(cfg.Now)
	setDefault(&cfg.HeartbeatInterval, 5*time.Second)
	setDefault(&cfg.KeepaliveInterval, 3*time.Second)
	setDefault(&cfg.AckTimeout, 5*time.Second)
	setDefault(&cfg.DispatchInterval, 250*time.Millisecond)
	setDefault(&cfg.ReapInterval, time.Second)
	setDefault(&cfg.ScheduleInterval, time.Second)
	setDefault(&cfg.IdleInterval, 20*time.Second)
	setDefault(&cfg.PriorityAging, 10*time.Second)
	setDefault(&cfg.CronCatchUp, time.Minute)
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	setDefault(&cfg.RetentionInterval, time.Minute)
	setDefault(&cfg.StatsInterval, time.Minute)
	if cfg.RetentionBatch <= 0 {
		cfg.RetentionBatch = 500
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	return cfg
}

// storedPrecision reads clock to the microsecond, the precision times are
// stored at, so that a time the engine compares is the time it stores.
func storedPrecision(clock func() time.Time) func() time.Time {
	return func() time.Time {
		t := clock()
		return t.Add(-time.Duration(t.Nanosecond() % 1000))
	}
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Start runs the engine's background parts until ctx ends; it returns at once.
func (e *Engine) Start(ctx context.Context) {
	for _, s := range e.services {
		go s.Run(ctx)
	}
}

// Drain ends every Listen and WatchRun stream this process serves with an
// unavailable error, so that their clients reconnect (to another server) while
// this one shuts down. The attempts of its workers go back to the queue.
func (e *Engine) Drain() {
	e.drainMu.Do(func() { close(e.draining) })
}

// errDraining ends streams while the server shuts down.
var errDraining = &Error{Kind: KindUnavailable, Message: "the server is shutting down; reconnect"}
