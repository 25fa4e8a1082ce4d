package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard/switchyard/internal/store"
)

// Message is one message for a worker's Listen stream: exactly one field is set.
type Message struct {
	Assignment   *Assignment
	Cancellation *Cancellation
	Keepalive    *Keepalive
}

// Keepalive says the stream is alive; the worker acknowledges it by its
// stream id and number.
type Keepalive struct {
	StreamID string
	// Seq numbers the stream's keep-alives from 1.
	Seq uint64
	// Interval is the longest wait until the next keep-alive.
	Interval time.Duration
}

// Assignment is one attempt of a task given to a worker.
type Assignment struct {
	TaskID        string
	Attempt       int32
	RunID         string
	Workflow      string
	TaskName      string
	Action        string
	Input         map[string]any
	ParentOutputs map[string]map[string]any
	Deadline      time.Time
	// TraceParent is the W3C traceparent of the assignment's span; empty when
	// not traced.
	TraceParent string

	runTraceParent string     // the run's, the parent of the assignment's span
	span           trace.Span // the assignment's, until sent or handed back
	held           bool       // sent again to a new stream: the worker may run it already
}

// Cancellation tells a worker to stop an attempt.
type Cancellation struct {
	TaskID  string
	Attempt int32
	Reason  string
}

// workerConn is a Listen stream this process holds.
type workerConn struct {
	tenantID string
	workerID string
	streamID string
	actions  []string
	slots    int
	out      chan *Message
	closed   chan struct{} // closed when a newer stream of the same worker replaces this one

	mu        sync.Mutex
	gone      bool            // the stream ended: assignments go back to the queue
	cancelled map[string]bool // attempts already told to stop; signals may repeat

	live liveness // its keep-alives and which the worker acknowledged
}

// enqueue queues assignments for the stream and returns those it cannot take
// (the stream ended, or its buffer is full), which the caller hands back.
func (c *workerConn) enqueue(msgs []*Message) (refused []*Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range msgs {
		if c.gone {
			refused = append(refused, m)
			continue
		}
		select {
		case c.out <- m:
		default:
			refused = append(refused, m)
		}
	}
	return refused
}

// end marks the stream ended and returns the assignments still queued for it.
func (c *workerConn) end() (unsent []*Message) {
	c.mu.Lock()
	c.gone = true
	c.mu.Unlock()
	for {
		select {
		case m := <-c.out:
			if m.Assignment != nil {
				unsent = append(unsent, m)
			}
		default:
			return unsent
		}
	}
}

// dispatcher hands queued tasks to the workers whose streams this process holds.
// Each server process dispatches only to its own streams; claims are one
// statement that skips rows other processes hold, so no attempt goes to two
// workers.
type dispatcher struct {
	mu    sync.Mutex
	conns map[string]*workerConn
}

func (e *Engine) runDispatcher(ctx context.Context) {
	tick := time.NewTicker(e.cfg.DispatchInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.hub.wake:
		case <-tick.C:
		}
		e.dispatchOnce(ctx)
	}
}

func (e *Engine) dispatchOnce(ctx context.Context) {
	e.disp.mu.Lock()
	conns := make([]*workerConn, 0, len(e.disp.conns))
	for _, c := range e.disp.conns {
		conns = append(conns, c)
	}
	e.disp.mu.Unlock()
	for _, c := range conns {
		if ctx.Err() != nil {
			return
		}
		if err := e.dispatchTo(ctx, c); err != nil && ctx.Err() == nil {
			e.log.WarnContext(ctx, "dispatch failed", "worker_id", c.workerID, "error", err.Error())
		}
	}
}

// dispatchTo claims up to the worker's free slots and sends the assignments.
func (e *Engine) dispatchTo(ctx context.Context, c *workerConn) error {
	select {
	case <-e.draining:
		return nil // shutting down: the streams are ending, claim nothing more
	default:
	}
	var claimed []*store.Task
	var msgs []*Message
	start := time.Now()
	now := micros(e.now())
	err := e.store.Write(ctx, func(ctx context.Context, q store.Q) error {
		claimed, msgs = nil, nil
		load, err := q.WorkerLoad(ctx, c.tenantID, c.workerID)
		if err != nil {
			return err
		}
		if load.LastHeartbeatAt < now-3*e.cfg.HeartbeatInterval.Microseconds() {
			return nil // taken for dead: its attempts go elsewhere, so must new ones
		}
		if load.Acknowledges && load.StreamAckedSeq == 0 {
			// A worker that acknowledges gets new work on a stream only once
			// the stream has shown it reaches the worker (its first keep-alive
			// came back), so that nothing is sent into a stream a proxy silenced.
			return nil
		}
		free := c.slots - load.Running
		if free <= 0 {
			return nil
		}
		claimed, err = q.TaskClaim(ctx, &store.TaskClaimParams{TenantID: c.tenantID, WorkerID: c.workerID, Actions: c.actions, Limit: free, Now: now})
		if err != nil || len(claimed) == 0 {
			return err
		}
		msgs, err = assignments(ctx, q, c.tenantID, claimed)
		return err
	})
	if err != nil {
		return fmt.Errorf("claim for worker %s: %w", c.workerID, err)
	}
	e.traceAssignments(msgs, c.workerID, start)
	var sig signals
	for _, t := range claimed {
		sig.add(signalRun + t.RunID)
		sig.record(taskStarted(t, now))
	}
	e.committed(&sig)
	// The stream may have ended between the claim and now.
	e.handBack(context.WithoutCancel(ctx), c, c.enqueue(msgs))
	return nil
}

// handBack returns assignments that never reached the worker to the queue,
// without using up an attempt.
func (e *Engine) handBack(ctx context.Context, c *workerConn, msgs []*Message) {
	if len(msgs) == 0 {
		return
	}
	for _, m := range msgs {
		m.Assignment.traceHandedBack()
	}
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		for _, m := range msgs {
			a := m.Assignment
			ok, err := q.TaskHandBack(ctx, &store.Task{ID: a.TaskID, Attempt: a.Attempt, WorkerID: c.workerID})
			if err != nil {
				return err
			}
			if ok {
				sig.add(signalTasks)
				sig.add(signalRun + a.RunID)
			}
		}
		return nil
	})
	if err != nil {
		// The attempts stay the worker's until its lease or heartbeat lapses.
		e.log.WarnContext(ctx, "assignments not handed back", "worker_id", c.workerID, "tasks", len(msgs), "error", err.Error())
		return
	}
	e.log.InfoContext(ctx, "assignments handed back", "worker_id", c.workerID, "tasks", len(msgs))
}

// assignments builds the messages for claimed tasks: the run's input and the
// outputs of each task's parents.
func assignments(ctx context.Context, q store.Q, tenantID string, claimed []*store.Task) ([]*Message, error) {
	ids := make([]string, len(claimed))
	for i, t := range claimed {
		ids[i] = t.RunID
	}
	runs, err := q.RunGetMany(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*Message, len(claimed))
	for i, t := range claimed {
		run, ok := runs[t.RunID]
		if !ok {
			return nil, fmt.Errorf("run %s of task %s: %w", t.RunID, t.ID, store.ErrNotFound)
		}
		a := &Assignment{
			TaskID:        t.ID,
			Attempt:       t.Attempt,
			RunID:         t.RunID,
			Workflow:      run.WorkflowName,
			TaskName:      t.Name,
			Action:        t.Action,
			ParentOutputs: map[string]map[string]any{},
			Deadline:      fromMicros(t.LeaseExpiresAt),

			runTraceParent: run.TraceParent,
		}
		_ = json.Unmarshal([]byte(run.Input), &a.Input)
		var parents []string
		_ = json.Unmarshal([]byte(t.Parents), &parents)
		outputs, err := q.TaskOutputs(ctx, t.RunID, parents)
		if err != nil {
			return nil, err
		}
		for name, o := range outputs {
			var m map[string]any
			_ = json.Unmarshal([]byte(o), &m)
			a.ParentOutputs[name] = m
		}
		out[i] = &Message{Assignment: a}
	}
	return out, nil
}

// Listen serves a worker's stream: it sends assignments, cancellations and
// keep-alives through send until ctx ends or send fails. When the stream ends,
// the attempts the worker still holds are given to other workers.
func (e *Engine) Listen(ctx context.Context, tenantID, workerID string, send func(*Message) error) error {
	var w *store.Worker
	streamID := newID()
	err := e.store.Write(ctx, func(ctx context.Context, q store.Q) error {
		var err error
		if w, err = q.WorkerGet(ctx, tenantID, workerID); err != nil {
			return err
		}
		return q.WorkerConnect(ctx, tenantID, workerID, streamID, micros(e.now()))
	})
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Kind: KindNotFound, Message: fmt.Sprintf("worker %s not found: register first", workerID)}
	}
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var actions []string
	_ = json.Unmarshal([]byte(w.Actions), &actions)
	c := &workerConn{
		tenantID: tenantID,
		workerID: workerID,
		streamID: streamID,
		actions:  actions,
		slots:    int(w.Slots),
		out:      make(chan *Message, int(w.Slots)+64),
		closed:   make(chan struct{}),

		cancelled: make(map[string]bool),
	}
	e.disp.mu.Lock()
	if old := e.disp.conns[workerID]; old != nil {
		close(old.closed)
	}
	e.disp.conns[workerID] = c
	e.disp.mu.Unlock()
	e.log.InfoContext(ctx, "worker connected", "worker_id", workerID)
	e.resendHeld(ctx, c)

	var unsent *Message // taken from the queue, but its send failed
	defer func() {
		e.disp.mu.Lock()
		if e.disp.conns[workerID] == c {
			delete(e.disp.conns, workerID)
			close(c.closed)
		}
		e.disp.mu.Unlock()
		left := c.end()
		if unsent != nil && unsent.Assignment != nil {
			left = append(left, unsent)
		}
		// An attempt sent again may be running on the worker: it stays the
		// worker's, and is sent again on its next stream.
		left = slices.DeleteFunc(left, func(m *Message) bool { return m.Assignment.held })
		e.handBack(context.WithoutCancel(ctx), c, left)
		e.workerGone(context.WithoutCancel(ctx), c)
	}()

	e.hub.deliver(signalTasks)
	// A first message at once, so the client sees the stream open (and learns
	// its id) without waiting for work or a keep-alive.
	if err := send(e.keepalive(c)); err != nil {
		return err
	}
	keepalive := time.NewTicker(e.cfg.KeepaliveInterval)
	defer keepalive.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.closed:
			return &Error{Kind: KindFailedPrecondition, Message: "a newer Listen stream of this worker replaced this one"}
		case <-e.draining:
			return errDraining
		case m := <-c.out:
			if err := send(m); err != nil {
				unsent = m
				return err
			}
			if m.Assignment != nil {
				m.Assignment.traceSent()
			}
		case <-keepalive.C:
			if err := e.checkAcknowledged(ctx, c); err != nil {
				return err
			}
			if err := send(e.keepalive(c)); err != nil {
				return err
			}
		}
	}
}

// resendHeld queues again, first on a new stream, every attempt its worker
// holds. An assignment written to a stream just before it ended (the server
// draining, the network failing) may never have reached the worker, which
// would wait for it in vain until its lease ran out; a worker ignores an
// assignment of an attempt it runs already. Those not acknowledged yet get a
// new acknowledgement window.
func (e *Engine) resendHeld(ctx context.Context, c *workerConn) {
	var msgs []*Message
	err := e.store.Write(ctx, func(ctx context.Context, q store.Q) error {
		if err := q.TaskResent(ctx, c.tenantID, c.workerID, micros(e.now())); err != nil {
			return err
		}
		held, err := q.TaskListHeld(ctx, c.tenantID, c.workerID)
		if err != nil || len(held) == 0 {
			return err
		}
		msgs, err = assignments(ctx, q, c.tenantID, held)
		return err
	})
	if err != nil {
		// The attempts stay the worker's; one that never arrived waits for its lease.
		e.log.WarnContext(ctx, "held attempts not sent again", "worker_id", c.workerID, "error", err.Error())
		return
	}
	for _, m := range msgs {
		m.Assignment.held = true
	}
	if refused := c.enqueue(msgs); len(refused) > 0 {
		e.log.WarnContext(ctx, "held attempts not sent again: the stream's buffer is full", "worker_id", c.workerID, "tasks", len(refused))
	}
	if len(msgs) > 0 {
		e.log.InfoContext(ctx, "held attempts sent again", "worker_id", c.workerID, "tasks", len(msgs))
	}
}

// workerGone marks a worker's stream closed, unless the worker opened a newer
// one meanwhile (here or on another server). Its attempts stay its own while it
// keeps heartbeating (a worker shutting down gracefully closes its stream, then
// finishes and reports what it holds; a worker moving to another server goes on
// with them there); a worker that also went silent loses them to the reaper
// after 1.5 heartbeat intervals, sooner than a connected one.
func (e *Engine) workerGone(ctx context.Context, c *workerConn) {
	err := e.store.Write(ctx, func(ctx context.Context, q store.Q) error {
		return q.WorkerDisconnect(ctx, c.tenantID, c.workerID, c.streamID, micros(e.now()))
	})
	if err != nil {
		e.log.WarnContext(ctx, "worker disconnect not recorded", "worker_id", c.workerID, "error", err.Error())
	}
	e.log.InfoContext(ctx, "worker disconnected", "worker_id", c.workerID)
}

// loseAttempt ends an attempt the engine gave up on (its worker went away, it
// timed out, or, with unacked, its worker did not acknowledge it and still has
// not): retried at once while attempts remain, failed otherwise.
func (e *Engine) loseAttempt(ctx context.Context, tenantID string, t *store.Task, reason string, unacked bool) {
	_, err := e.finishAttempt(ctx, tenantID, attemptReport{
		TaskID: t.ID, Attempt: t.Attempt, WorkerID: t.WorkerID,
		Error: reason, Retryable: true, Immediate: true, Unacknowledged: unacked,
	})
	var ee *Error
	if err != nil && !(errors.As(err, &ee) && ee.Kind == KindFailedPrecondition) {
		e.log.WarnContext(ctx, "lost attempt not requeued", "task_id", t.ID, "error", err.Error())
		return
	}
	if err == nil {
		e.log.InfoContext(ctx, "attempt lost", "task_id", t.ID, "attempt", t.Attempt, "worker_id", t.WorkerID, "reason", reason)
	}
}

// sendCancellation passes a cancellation to the worker's stream, if this process
// holds it.
func (e *Engine) sendCancellation(workerID, taskID string, attempt int32, reason string) {
	e.disp.mu.Lock()
	c := e.disp.conns[workerID]
	e.disp.mu.Unlock()
	if c == nil {
		return
	}
	key := fmt.Sprint(taskID, "/", attempt)
	c.mu.Lock()
	seen := c.cancelled[key]
	if len(c.cancelled) > 10_000 {
		clear(c.cancelled)
	}
	c.cancelled[key] = true
	c.mu.Unlock()
	if seen {
		return
	}
	select {
	case c.out <- &Message{Cancellation: &Cancellation{TaskID: taskID, Attempt: attempt, Reason: reason}}:
	default:
		e.log.Warn("cancellation dropped: worker stream full", "worker_id", workerID, "task_id", taskID)
	}
}

// runReaper finds attempts whose timeout passed or whose worker stopped
// heartbeating, and assignments their worker did not acknowledge in time, and
// gives them to other workers.
func (e *Engine) runReaper(ctx context.Context) {
	tick := time.NewTicker(e.cfg.ReapInterval)
	defer tick.Stop()
	var lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := e.now()
		if now.Sub(lastPrune) > 10*time.Minute {
			lastPrune = now
			e.pruneDeliveries(ctx, now)
		}
		var lost []*store.Task
		err := e.store.Read(ctx, func(ctx context.Context, q store.Q) error {
			var err error
			lost, err = q.TaskListLost(ctx, &store.TaskListLostParams{
				Now:                     micros(now),
				ConnectedSilentSince:    micros(now.Add(-3 * e.cfg.HeartbeatInterval)),
				DisconnectedSilentSince: micros(now.Add(-3 * e.cfg.HeartbeatInterval / 2)),
				Limit:                   100,
			})
			return err
		})
		if err != nil {
			if ctx.Err() == nil {
				e.log.WarnContext(ctx, "reaper", "error", err.Error())
			}
			continue
		}
		for _, t := range lost {
			reason := "worker went away (stream closed or heartbeats stopped)"
			if t.LeaseExpiresAt < micros(now) {
				reason = fmt.Sprintf("attempt timed out after %s", time.Duration(t.TimeoutMS)*time.Millisecond)
				e.obs.TaskTimedOut(t.Action)
			}
			e.loseAttempt(ctx, t.TenantID, t, reason, false)
		}
		e.reapUnacked(ctx, now)
	}
}
