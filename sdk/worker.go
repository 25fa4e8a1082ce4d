package sdk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// Worker defaults, used for the zero fields of a [WorkerConfig].
const (
	// DefaultSlots is how many tasks a worker runs at once by default.
	DefaultSlots = 10
	// DefaultShutdownTimeout is how long a stopping worker waits for running
	// tasks, and then for their reports, by default.
	DefaultShutdownTimeout = 30 * time.Second
)

// WorkerConfig describes a [Worker].
type WorkerConfig struct {
	// Name is for people, such as the host name (the default).
	Name string
	// Slots is how many tasks the worker runs at once: 1 to 1000; 0 means
	// [DefaultSlots].
	Slots int
	// Labels are shown with the worker.
	Labels map[string]string
	// ShutdownTimeout is how long Run waits, once its context ends, for running
	// tasks to finish before it cancels them, and then for their results to be
	// acknowledged by a server (for those at least 5 s); 0 means
	// [DefaultShutdownTimeout].
	ShutdownTimeout time.Duration
	// Logger receives the worker's logs; nil discards them.
	Logger *slog.Logger
}

// Worker runs the tasks of the actions it handles. Declare actions with
// [Worker.Handle] and workflows with [Worker.Workflow], then call [Worker.Run]
// once.
type Worker struct {
	client *Client
	cfg    WorkerConfig
	log    *slog.Logger

	mu        sync.Mutex
	handlers  map[string]TaskFunc
	workflows []*switchyardv1.WorkflowSpec
	started   bool

	// The registration, renewed when the server forgets the worker.
	sessMu       sync.Mutex
	workerID     string
	interval     time.Duration
	reregister   bool
	streamCancel context.CancelFunc

	// The attempts that were assigned and not yet finished.
	slots    chan struct{}
	taskCtx  context.Context
	tasksMu  sync.Mutex
	attempts map[attemptKey]*attempt
	tasks    sync.WaitGroup
	// The results of finished attempts until a server acknowledges them
	// (see worker_report.go), and the latest attempts whose reports were
	// settled: the server may send an attempt again on a new stream while its
	// report is on the way.
	pending     map[attemptKey]*report
	settled     keyMemory
	reportDone  chan struct{} // signalled whenever a report is settled
	reportsCtx  context.Context
	stopReports context.CancelCauseFunc
	// reportBackoff is the wait before try n+2 of a report that failed with
	// err: the client's backoff (a report has no limit of attempts, only its
	// attempt's lease).
	reportBackoff func(n int, err error) time.Duration
}

// NewWorker returns a worker that talks to the server through c.
func NewWorker(c *Client, cfg WorkerConfig) *Worker {
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
		if cfg.Name == "" {
			cfg.Name = "worker"
		}
	}
	cfg.Slots = cmp.Or(max(cfg.Slots, 0), DefaultSlots)
	cfg.ShutdownTimeout = cmp.Or(max(cfg.ShutdownTimeout, 0), DefaultShutdownTimeout)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reportsCtx, stopReports := context.WithCancelCause(context.Background())
	return &Worker{
		client:   c,
		cfg:      cfg,
		log:      log,
		handlers: map[string]TaskFunc{},
		slots:    make(chan struct{}, cfg.Slots),
		attempts: map[attemptKey]*attempt{},

		pending:       map[attemptKey]*report{},
		settled:       newKeyMemory(settledKept),
		reportDone:    make(chan struct{}, 1),
		reportsCtx:    reportsCtx,
		stopReports:   stopReports,
		reportBackoff: c.retry.backoff,
	}
}

// Handle makes the worker run fn for tasks of action. It must be called before
// Run; it panics when the action already has a handler or fn is nil.
func (w *Worker) Handle(action string, fn TaskFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if fn == nil {
		panic("sdk: nil TaskFunc for action " + action)
	}
	if _, ok := w.handlers[action]; ok {
		panic("sdk: action " + action + " already has a handler")
	}
	w.handlers[action] = fn
}

// Workflow declares a workflow that Run puts on the server before it starts
// taking work. It must be called before Run.
func (w *Worker) Workflow(spec *switchyardv1.WorkflowSpec) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.workflows = append(w.workflows, spec)
}

// Run declares the worker's workflows, registers it, and runs assigned tasks
// until ctx ends; meanwhile it heartbeats, and reconnects with backoff whenever
// its stream breaks (registering again if the server forgot it). A task's slot
// is free as soon as its TaskFunc returns; its result is kept and sent until a
// server acknowledges it, through any failure of the connection or the server,
// until the attempt's deadline (see [Task].Deadline) has passed, and at once
// when a stream opens or the server assigns the attempt again.
//
// When ctx ends Run takes no more work, waits up to ShutdownTimeout for running
// tasks, then cancels the rest and reports them as retryable failures ("worker
// shutting down"), then waits up to ShutdownTimeout for results no server has
// acknowledged yet, and returns nil. It does not wait for a TaskFunc that
// ignores its cancelled context.
//
// Run returns an error when the workflows cannot be declared or the worker
// cannot register at start. It may be called once.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("run worker: Run was already called")
	}
	if len(w.handlers) == 0 {
		w.mu.Unlock()
		return errors.New("run worker: no action has a handler")
	}
	w.started = true
	specs := slices.Clone(w.workflows)
	w.mu.Unlock()

	for _, spec := range specs {
		if _, err := w.client.PutWorkflow(ctx, spec); err != nil {
			return startError(ctx, err)
		}
	}
	if err := w.register(ctx); err != nil {
		return startError(ctx, err)
	}

	bg := context.WithoutCancel(ctx)
	taskCtx, cancelTasks := context.WithCancelCause(bg)
	defer cancelTasks(nil)
	w.taskCtx = taskCtx
	hbCtx, stopHeartbeat := context.WithCancel(bg)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeat(hbCtx)
	}()

	w.listen(ctx)
	w.shutdown(cancelTasks)
	stopHeartbeat()
	<-hbDone
	w.log.Info("worker stopped", "worker_id", w.session())
	return nil
}

// startError is what Run returns when it could not start: nothing when ctx
// ended meanwhile (the caller asked to stop), err otherwise.
func startError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("run worker: %w", err)
}

// actions returns the handled actions, sorted.
func (w *Worker) actions() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Sorted(maps.Keys(w.handlers))
}

// handler returns the TaskFunc of action.
func (w *Worker) handler(action string) TaskFunc {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.handlers[action]
}

// defaultHeartbeatInterval is used when the server names no interval.
const defaultHeartbeatInterval = 10 * time.Second

// register registers the worker and records its id and heartbeat interval.
// Its retries share one idempotency key, so a registration whose answer was
// lost does not leave a second worker behind.
func (w *Worker) register(ctx context.Context) error {
	req := &switchyardv1.RegisterWorkerRequest{
		Name:           w.cfg.Name,
		Actions:        w.actions(),
		Slots:          int32(w.cfg.Slots),
		Labels:         w.cfg.Labels,
		IdempotencyKey: newIdempotencyKey(),
	}
	var res *connect.Response[switchyardv1.RegisterWorkerResponse]
	err := retry(ctx, w.client.retry, func(ctx context.Context) (err error) {
		res, err = w.client.workers.RegisterWorker(ctx, connect.NewRequest(req))
		return err
	})
	if err != nil {
		return fmt.Errorf("register worker %s: %w", w.cfg.Name, err)
	}
	interval := cmp.Or(max(res.Msg.GetHeartbeatInterval().AsDuration(), 0), defaultHeartbeatInterval)
	w.sessMu.Lock()
	w.workerID = res.Msg.GetWorkerId()
	w.interval = interval
	w.reregister = false
	w.sessMu.Unlock()
	w.log.Info("worker registered", "worker_id", res.Msg.GetWorkerId(), "name", w.cfg.Name,
		"actions", req.Actions, "slots", w.cfg.Slots, "heartbeat_interval", interval)
	return nil
}

// session returns the current worker id.
func (w *Worker) session() string {
	w.sessMu.Lock()
	defer w.sessMu.Unlock()
	return w.workerID
}

// forget marks the registration as lost and breaks the open stream, so that the
// listen loop registers again.
func (w *Worker) forget() {
	w.sessMu.Lock()
	defer w.sessMu.Unlock()
	w.reregister = true
	if w.streamCancel != nil {
		w.streamCancel()
	}
}

// heartbeat calls Heartbeat every interval until ctx ends.
func (w *Worker) heartbeat(ctx context.Context) {
	for {
		w.sessMu.Lock()
		id, interval := w.workerID, w.interval
		w.sessMu.Unlock()
		if sleep(ctx, interval) != nil {
			return
		}
		_, err := w.client.workers.Heartbeat(ctx, connect.NewRequest(&switchyardv1.HeartbeatRequest{WorkerId: id}))
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return
		case connect.CodeOf(err) == connect.CodeNotFound:
			w.log.Warn("server forgot the worker: registering again", "worker_id", id)
			w.forget()
		default:
			w.log.Warn("heartbeat failed", "worker_id", id, "code", connect.CodeOf(err).String(), "error", err)
		}
	}
}

// errStreamClosed stands for a Listen stream the server closed cleanly.
var errStreamClosed = errors.New("the server closed the stream")

// listen holds a Listen stream open until ctx ends, reconnecting with
// exponential backoff and full jitter whenever it breaks.
func (w *Worker) listen(ctx context.Context) {
	backoff := w.client.retry
	for failures := 0; ctx.Err() == nil; failures++ {
		w.sessMu.Lock()
		again := w.reregister
		w.sessMu.Unlock()
		var err error
		if again {
			err = w.register(ctx)
		}
		if err == nil {
			var received bool
			received, err = w.listenOnce(ctx)
			if received {
				failures = 0
			}
		}
		if ctx.Err() != nil {
			return
		}
		if connect.CodeOf(err) == connect.CodeNotFound {
			w.sessMu.Lock()
			w.reregister = true
			w.sessMu.Unlock()
		}
		d := backoff.backoff(failures, err)
		w.log.Warn("listen stream ended: reconnecting", "worker_id", w.session(),
			"code", connect.CodeOf(err).String(), "error", err, "retry_in", d)
		if sleep(ctx, d) != nil {
			return
		}
	}
}

// listenOnce opens one Listen stream and dispatches its messages until it ends.
// It acknowledges each assignment and keep-alive in the background, and ends
// the stream when nothing arrived on it for three keep-alive intervals or the
// server says it is no longer open. It reports whether any message arrived.
func (w *Worker) listenOnce(ctx context.Context) (bool, error) {
	sctx, end := context.WithCancelCause(ctx)
	defer end(nil)
	w.sessMu.Lock()
	workerID := w.workerID
	w.streamCancel = func() { end(nil) }
	w.sessMu.Unlock()

	stream, err := w.client.workers.Listen(sctx, connect.NewRequest(&switchyardv1.ListenRequest{WorkerId: workerID}))
	if err != nil {
		return false, err
	}
	defer stream.Close()
	dog := newWatchdog(end)
	defer dog.stop()
	acks := w.startAcker(workerID, end)
	defer acks.stop()
	w.log.Info("listening for tasks", "worker_id", workerID)
	w.sendPendingNow(workerID, "the stream is open")
	received := false
	for stream.Receive() {
		received = true
		var interval time.Duration
		switch m := stream.Msg().GetMessage().(type) {
		case *switchyardv1.ListenResponse_Assignment:
			w.start(workerID, m.Assignment)
			acks.assignment(m.Assignment)
		case *switchyardv1.ListenResponse_Cancellation:
			w.cancelAttempt(m.Cancellation)
		case *switchyardv1.ListenResponse_Keepalive:
			interval = m.Keepalive.GetInterval().AsDuration()
			acks.keepalive(m.Keepalive)
		}
		dog.fed(interval)
	}
	if cause := context.Cause(sctx); errors.Is(cause, errStreamSilent) || errors.Is(cause, errStreamNotOpen) {
		return received, cause
	}
	if err := stream.Err(); err != nil {
		return received, err
	}
	return received, errStreamClosed
}
