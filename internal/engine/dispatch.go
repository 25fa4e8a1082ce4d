package engine

import (
	"context"
	"fmt"
	"log/slog"
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
	// Steps are the steps the task recorded in earlier attempts; WaitResult
	// is how its declared wait ended (nil without one).
	Steps      []*Step
	WaitResult *WaitResult

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

// dispatcher hands queued tasks to the workers whose Listen streams this process holds, and takes back lost attempts.
// It owns the streams, the claims and assignments, their acknowledgements and hand-backs, and the reaper.
//
// Each server process dispatches only to its own streams; claims are one
// statement that skips rows other processes hold, so no attempt goes to two
// workers.
type dispatcher struct {
	store    *store.Store
	write    writeFunc
	log      *slog.Logger
	now      func() time.Time
	cfg      Config
	obs      Observer
	tracer   trace.Tracer
	hub      *hub
	attempts attemptEnder
	draining <-chan struct{} // closed when the server shuts down

	mu    sync.Mutex
	conns map[string]*workerConn
}

// attemptEnder ends an attempt by the engine's rules: [Engine.finishAttempt].
type attemptEnder interface {
	finishAttempt(ctx context.Context, tenantID string, r attemptReport) (willRetry bool, err error)
}

// dispatchAll is the dispatch loop's job, on each wake-up and at every
// DispatchInterval: it claims for every stream, and is busy while it claimed
// anything. A failed claim is logged; the next round tries again.
func (d *dispatcher) dispatchAll(ctx context.Context) (time.Duration, error) {
	if d.dispatchOnce(ctx) {
		return busy, nil
	}
	return nothingDue, nil
}

// claim is what one dispatch round took for one stream.
type claim struct {
	c    *workerConn
	n    int
	msgs []*Message
}

// dispatchOnce claims up to the free slots of every stream this process
// holds, in one transaction, and sends the assignments.
func (d *dispatcher) dispatchOnce(ctx context.Context) (claimedAny bool) {
	select {
	case <-d.draining:
		return false // shutting down: the streams are ending, claim nothing more
	default:
	}
	d.mu.Lock()
	conns := make([]*workerConn, 0, len(d.conns))
	for _, c := range d.conns {
		conns = append(conns, c)
	}
	d.mu.Unlock()
	if len(conns) == 0 {
		return false
	}
	var claims []claim
	start := time.Now()
	now := d.now()
	err := d.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		claims = claims[:0]
		for _, c := range conns {
			claimed, msgs, err := d.claimFor(ctx, q, sig, c, now)
			if err != nil {
				return fmt.Errorf("claim for worker %s: %w", c.workerID, err)
			}
			if len(claimed) > 0 {
				claims = append(claims, claim{c: c, n: len(claimed), msgs: msgs})
			}
		}
		if len(claims) == 0 {
			return nil
		}
		// The assignments go out without waiting for the claim to reach the
		// disk. A claim that a database crash loses leaves its tasks queued
		// at their earlier attempt, as if never claimed: a worker that ran
		// one is refused its report (or, given the same attempt again, has it
		// accepted once), and the task runs again, as after any lost attempt.
		// Every later flushed commit (a report of the attempt among them)
		// flushes the claim first.
		return q.TxCommitUnflushed(ctx)
	})
	if err != nil {
		if ctx.Err() == nil {
			d.log.WarnContext(ctx, "dispatch failed", "error", err.Error())
		}
		return false
	}
	for _, cl := range claims {
		cl.c.running.Add(int64(cl.n))
		d.traceAssignments(cl.msgs, cl.c.workerID, start)
		// The stream may have ended between the claim and now.
		d.handBack(context.WithoutCancel(ctx), cl.c, cl.c.enqueue(cl.msgs))
	}
	return len(claims) > 0
}

// claimFor claims up to the worker's free slots in the caller's transaction
// and builds the assignments.
func (d *dispatcher) claimFor(ctx context.Context, q store.Q, sig *signals, c *workerConn, now time.Time) ([]*store.Task, []*Message, error) {
	load, err := q.WorkerLoad(ctx, c.tenantID, c.workerID)
	if err != nil {
		return nil, nil, err
	}
	c.running.Store(int64(load.Running))
	c.gated.Store(false)
	if load.LastHeartbeatAt.Before(now.Add(-d.cfg.deadAfter())) {
		// Taken for dead: its attempts go elsewhere, so must new ones. Its
		// next heartbeat wakes the dispatcher.
		c.gated.Store(true)
		return nil, nil, nil
	}
	if load.Acknowledges && load.StreamAckedSeq == 0 {
		// A worker that acknowledges gets new work on a stream only once
		// the stream has shown it reaches the worker (its first keep-alive
		// came back), so that nothing is sent into a stream a proxy
		// silenced. Its next acknowledged keep-alive wakes the dispatcher.
		c.gated.Store(true)
		return nil, nil, nil
	}
	free := c.slots - load.Running
	if free <= 0 {
		return nil, nil, nil
	}
	claimed, wakeAt, err := claimWithinLimits(ctx, q, store.TaskClaimParams{TenantID: c.tenantID, WorkerID: c.workerID, Actions: c.actions, Limit: free, Now: now})
	d.wakeAt(wakeAt, now)
	if err != nil || len(claimed) == 0 {
		return nil, nil, err
	}
	msgs, err := assignments(ctx, q, claimed)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range claimed {
		sig.add(signalRun + t.RunID)
		sig.record(taskStarted(t, now))
	}
	return claimed, msgs, nil
}

// handBack returns assignments that never reached the worker to the queue,
// without using up an attempt.
func (d *dispatcher) handBack(ctx context.Context, c *workerConn, msgs []*Message) {
	if len(msgs) == 0 {
		return
	}
	for _, m := range msgs {
		m.Assignment.traceHandedBack()
	}
	err := d.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
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
		d.log.WarnContext(ctx, "assignments not handed back", "worker_id", c.workerID, "tasks", len(msgs), "error", err.Error())
		return
	}
	d.log.InfoContext(ctx, "assignments handed back", "worker_id", c.workerID, "tasks", len(msgs))
}

// assignments builds the messages for claimed tasks: the run's input (which
// the claim returned) and the outputs of each task's parents.
func assignments(ctx context.Context, q store.Q, claimed []*store.Task) ([]*Message, error) {
	out := make([]*Message, len(claimed))
	for i, t := range claimed {
		out[i] = &Message{Assignment: &Assignment{
			TaskID:        t.ID,
			Attempt:       t.Attempt,
			RunID:         t.RunID,
			Workflow:      t.RunWorkflow,
			TaskName:      t.Name,
			Action:        t.Action,
			Input:         t.RunInput.Map(),
			ParentOutputs: map[string]map[string]any{},
			Deadline:      t.LeaseExpiresAt.Time,

			runTraceParent: t.RunTraceParent,
		}}
	}
	parents := map[string][]string{}
	for _, t := range claimed {
		parents[t.RunID] = append(parents[t.RunID], t.Parents.V...)
	}
	outputs, err := q.TaskOutputs(ctx, parents)
	if err != nil {
		return nil, err
	}
	for i, t := range claimed {
		for _, name := range t.Parents.V {
			if o, ok := outputs[t.RunID][name]; ok {
				out[i].Assignment.ParentOutputs[name] = o.Map()
			}
		}
	}
	return out, addSteps(ctx, q, claimed, out)
}
