package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

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

	running   atomic.Int64 // its attempts under way, as of its latest claim
	gated     atomic.Bool  // its latest claim waited for an acknowledged keep-alive or a heartbeat
	ackStored atomic.Bool  // this process stored an acknowledged keep-alive of it
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

// listen serves a worker's stream ([Engine.Listen]): it registers the stream
// for dispatch, sends what is queued for it and its keep-alives, and hands
// back what the worker did not receive when it ends.
func (d *dispatcher) listen(ctx context.Context, tenantID, workerID string, send func(*Message) error) error {
	c, err := d.connect(ctx, tenantID, workerID)
	if err != nil {
		return err
	}
	var unsent *Message // taken from the queue, but its send failed
	defer func() { d.disconnect(ctx, c, unsent) }()

	d.hub.deliver(signalTasks)
	// A first message at once, so the client sees the stream open (and learns
	// its id) without waiting for work or a keep-alive.
	if err := send(d.keepalive(c)); err != nil {
		return err
	}
	keepalive := time.NewTicker(d.cfg.KeepaliveInterval)
	defer keepalive.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.closed:
			return &Error{Kind: KindFailedPrecondition, Message: "a newer Listen stream of this worker replaced this one"}
		case <-d.draining:
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
			if err := d.checkAcknowledged(ctx, c); err != nil {
				return err
			}
			if err := send(d.keepalive(c)); err != nil {
				return err
			}
		}
	}
}

// connect makes a new stream of the worker the one this process dispatches
// to, replacing an older one, and queues on it what the worker holds already.
func (d *dispatcher) connect(ctx context.Context, tenantID, workerID string) (*workerConn, error) {
	var w *store.Worker
	streamID := newID()
	err := d.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error {
		var err error
		if w, err = q.WorkerGet(ctx, tenantID, workerID); err != nil {
			return err
		}
		return q.WorkerConnect(ctx, tenantID, workerID, streamID, d.now())
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("worker %s not found: register first", workerID)}, "listen"); err != nil {
		return nil, err
	}
	c := &workerConn{
		tenantID: tenantID,
		workerID: workerID,
		streamID: streamID,
		actions:  w.Actions.V,
		slots:    int(w.Slots),
		out:      make(chan *Message, int(w.Slots)+64),
		closed:   make(chan struct{}),

		cancelled: make(map[string]bool),
	}
	d.mu.Lock()
	if old := d.conns[workerID]; old != nil {
		close(old.closed)
	}
	d.conns[workerID] = c
	d.mu.Unlock()
	d.log.InfoContext(ctx, "worker connected", "worker_id", workerID)
	d.resendHeld(ctx, c)
	return c, nil
}

// disconnect ends a stream: assignments it did not deliver (unsent among them)
// go back to the queue, and the worker is marked disconnected.
func (d *dispatcher) disconnect(ctx context.Context, c *workerConn, unsent *Message) {
	workerID := c.workerID
	d.mu.Lock()
	if d.conns[workerID] == c {
		delete(d.conns, workerID)
		close(c.closed)
	}
	d.mu.Unlock()
	left := c.end()
	if unsent != nil && unsent.Assignment != nil {
		left = append(left, unsent)
	}
	// An attempt sent again may be running on the worker: it stays the
	// worker's, and is sent again on its next stream.
	left = slices.DeleteFunc(left, func(m *Message) bool { return m.Assignment.held })
	d.handBack(context.WithoutCancel(ctx), c, left)
	d.workerGone(context.WithoutCancel(ctx), c)
	// Its attempts are lost once its worker stayed silent for half of
	// deadAfter (see reap).
	after(d.cfg.deadAfter()/2+d.cfg.ReapInterval, d.hub.reap)
}

// resendHeld queues again, first on a new stream, every attempt its worker
// holds. An assignment written to a stream just before it ended (the server
// draining, the network failing) may never have reached the worker, which
// would wait for it in vain until its lease ran out; a worker ignores an
// assignment of an attempt it runs already. Those not acknowledged yet get a
// new acknowledgement window.
func (d *dispatcher) resendHeld(ctx context.Context, c *workerConn) {
	var msgs []*Message
	err := d.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error {
		if err := q.TaskResent(ctx, c.tenantID, c.workerID, d.now()); err != nil {
			return err
		}
		held, err := q.TaskListHeld(ctx, c.tenantID, c.workerID)
		if err != nil || len(held) == 0 {
			return err
		}
		msgs, err = assignments(ctx, q, held)
		return err
	})
	if err != nil {
		// The attempts stay the worker's; one that never arrived waits for its lease.
		d.log.WarnContext(ctx, "held attempts not sent again", "worker_id", c.workerID, "error", err.Error())
		return
	}
	for _, m := range msgs {
		m.Assignment.held = true
	}
	if refused := c.enqueue(msgs); len(refused) > 0 {
		d.log.WarnContext(ctx, "held attempts not sent again: the stream's buffer is full", "worker_id", c.workerID, "tasks", len(refused))
	}
	if len(msgs) > 0 {
		d.log.InfoContext(ctx, "held attempts sent again", "worker_id", c.workerID, "tasks", len(msgs))
	}
}

// workerGone marks a worker's stream closed, unless the worker opened a newer
// one meanwhile (here or on another server). Its attempts stay its own while it
// keeps heartbeating (a worker shutting down gracefully closes its stream, then
// finishes and reports what it holds; a worker moving to another server goes on
// with them there); a worker that also went silent loses them to the reaper
// after 1.5 heartbeat intervals, sooner than a connected one.
func (d *dispatcher) workerGone(ctx context.Context, c *workerConn) {
	err := d.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error {
		return q.WorkerDisconnect(ctx, c.tenantID, c.workerID, c.streamID, d.now())
	})
	if err != nil {
		d.log.WarnContext(ctx, "worker disconnect not recorded", "worker_id", c.workerID, "error", err.Error())
	}
	d.log.InfoContext(ctx, "worker disconnected", "worker_id", c.workerID)
}

// sendCancellation passes a cancellation to the worker's stream, if this process
// holds it.
func (d *dispatcher) sendCancellation(workerID, taskID string, attempt int32, reason string) {
	c := d.conn(workerID)
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
		d.log.Warn("cancellation dropped: worker stream full", "worker_id", workerID, "task_id", taskID)
	}
}
