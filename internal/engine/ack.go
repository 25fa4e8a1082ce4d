package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// A worker acknowledges, with Acknowledge, what its Listen stream brought: the
// assignments and the latest keep-alive. Acknowledge may reach any server, so
// its effect is stored: tasks.acked_at for the attempts, workers.stream_acked_seq
// for the stream, workers.acknowledges for the worker (set for good by its
// first acknowledgement). Three rules follow for a worker that acknowledges
// (one that never does, such as one built on an older SDK, is held to none:
// heartbeats and leases alone move its attempts):
//   - an assignment not acknowledged within AckTimeout of being sent counts as
//     a lost attempt (the reaper): the task is retried at once as its next
//     attempt, and the worker told to stop the old one;
//   - the server holding the stream ends it when no keep-alive was
//     acknowledged for three keep-alive intervals, so that it stops claiming
//     for a worker that cannot hear it;
//   - a stream gets new work only after its first keep-alive was
//     acknowledged (the dispatcher), so that a worker whose every new stream
//     is silenced (a proxy that keeps dropping them) is not sent work again
//     and again: only its held attempts, which then go elsewhere as above;
//     a stream that lost an assignment must likewise acknowledge a later
//     keep-alive before it gets new work.

// keptKeepalives bounds how many unacknowledged keep-alives a stream
// remembers; the oldest go first (a worker that never acknowledges would
// otherwise grow the list for as long as its stream lasts).
const keptKeepalives = 32

// liveness tracks the keep-alives sent on one stream until the worker
// acknowledges them.
type liveness struct {
	mu    sync.Mutex
	next  uint64      // the number of the next keep-alive, from 1
	first uint64      // the number of sent[0]
	sent  []time.Time // when each keep-alive from first on was sent
	acked uint64      // the latest keep-alive known acknowledged
}

// sentNow records a keep-alive sent at now and returns its number.
func (l *liveness) sentNow(now time.Time) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	if len(l.sent) == 0 {
		l.first = l.next
	}
	l.sent = append(l.sent, now)
	if len(l.sent) > keptKeepalives {
		l.sent = l.sent[1:]
		l.first++
	}
	return l.next
}

// ack records that the worker acknowledged keep-alive seq (and so every
// earlier one).
func (l *liveness) ack(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq <= l.acked || seq > l.next {
		return
	}
	l.acked = seq
	if seq >= l.first {
		l.sent = l.sent[min(int(seq+1-l.first), len(l.sent)):]
		l.first = seq + 1
	}
}

// overdue returns how long the oldest keep-alive not known acknowledged has
// waited, whether that is at least limit, and whether the worker acknowledged
// any keep-alive of the stream.
func (l *liveness) overdue(now time.Time, limit time.Duration) (waited time.Duration, late, subject bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sent) == 0 {
		return 0, false, l.acked > 0
	}
	waited = now.Sub(l.sent[0])
	return waited, waited >= limit, l.acked > 0
}

// keepalive returns the stream's next keep-alive.
func (d *dispatcher) keepalive(c *workerConn) *Message {
	seq := c.live.sentNow(d.now())
	return &Message{Keepalive: &Keepalive{StreamID: c.streamID, Seq: seq, Interval: d.cfg.KeepaliveInterval}}
}

// ackInMemory takes the acknowledgement of a keep-alive (and of nothing else)
// on a stream this process holds without writing it, when the store already
// holds an acknowledged keep-alive of that stream and the stream's latest
// claim did not wait for one: the stored number matters only while it is 0
// (a new or doubted stream), and this process tracks the rest. It reports
// whether it did.
func (d *dispatcher) ackInMemory(tenantID, workerID, streamID string, seq uint64) bool {
	c := d.conn(workerID)
	if c == nil || c.tenantID != tenantID || c.streamID != streamID || !c.ackStored.Load() || c.gated.Load() {
		return false
	}
	c.live.ack(seq)
	return true
}

// conn returns the worker's stream that this process holds, or nil.
func (d *dispatcher) conn(workerID string) *workerConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conns[workerID]
}

// heard wakes the dispatcher when a worker whose stream this process holds
// was heard from (a heartbeat) while its latest claim waited for it.
func (d *dispatcher) heard(workerID string) {
	if c := d.conn(workerID); c != nil && c.gated.Load() {
		poke(d.hub.wake)
	}
}

// checkAcknowledged ends the stream (returning the error to end it with) when
// the worker acknowledges keep-alives but has acknowledged none for three
// intervals, or when a newer stream of the worker, on another server, replaced
// it. The store is read only when a keep-alive is overdue as far as this
// process knows: acknowledgements that reach this process update it directly.
func (d *dispatcher) checkAcknowledged(ctx context.Context, c *workerConn) error {
	limit := 3 * d.cfg.KeepaliveInterval
	if _, late, _ := c.live.overdue(d.now(), limit); !late {
		return nil
	}
	w, err := read(ctx, d.store, func(ctx context.Context, q store.Q) (*store.Worker, error) {
		return q.WorkerGet(ctx, c.tenantID, c.workerID)
	})
	if err != nil {
		// The store is out of reach: the stream is given the benefit of the doubt.
		if ctx.Err() == nil {
			d.log.WarnContext(ctx, "stream acknowledgements not read", "worker_id", c.workerID, "error", err.Error())
		}
		return nil
	}
	if w.StreamID != c.streamID {
		return &Error{Kind: KindFailedPrecondition, Message: "a newer Listen stream of this worker replaced this one"}
	}
	c.live.ack(uint64(max(w.StreamAckedSeq, 0)))
	waited, late, subject := c.live.overdue(d.now(), limit)
	if !late || !(subject || w.Acknowledges) {
		return nil
	}
	d.log.WarnContext(ctx, "stream ended: keep-alives not acknowledged", "worker_id", c.workerID, "waited", waited)
	return &Error{Kind: KindUnavailable, Message: fmt.Sprintf(
		"no keep-alive was acknowledged for %s (keep-alives come every %s): the stream is taken for dead; reconnect",
		waited.Round(100*time.Millisecond), d.cfg.KeepaliveInterval)}
}

// AttemptRef names one attempt of a task.
type AttemptRef struct {
	TaskID  string
	Attempt int32
}

// acknowledge records what a worker received on its stream
// ([Engine.Acknowledge]), in the store and, for a stream this process holds,
// in the stream's keep-alive tracking.
func (d *dispatcher) acknowledge(ctx context.Context, tenantID, workerID, streamID string, attempts []AttemptRef, keepaliveSeq uint64) (bool, error) {
	if len(attempts) == 0 && keepaliveSeq > 0 && d.ackInMemory(tenantID, workerID, streamID, keepaliveSeq) {
		return true, nil
	}
	refs := make([]store.AttemptRef, len(attempts))
	for i, a := range attempts {
		refs[i] = store.AttemptRef{TaskID: a.TaskID, Attempt: a.Attempt}
	}
	now := d.now()
	held := d.conn(workerID)
	if held != nil && held.streamID != streamID {
		held = nil
	}
	var open bool
	err := d.write(ctx, func(ctx context.Context, q store.Q, sig *signals) (err error) {
		if open, err = q.WorkerAcknowledge(ctx, tenantID, workerID, streamID, keepaliveSeq); err != nil {
			return err
		}
		if open && keepaliveSeq > 0 && held == nil {
			// The stream is held by another server, which may be waiting for
			// this keep-alive before it sends work: it is woken, not left to
			// find it on its next (idle, up to IdleInterval) look.
			sig.add(signalTasks)
		}
		if _, err = q.TaskAcknowledge(ctx, workerID, refs, now); err != nil {
			return err
		}
		// An acknowledgement that a database crash loses counts as never
		// sent: its attempts are taken for lost after AckTimeout and run
		// again, and the stream waits for its next keep-alive to come back.
		return q.TxCommitUnflushed(ctx)
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("worker %s not found: register again", workerID)}, "acknowledge"); err != nil {
		return false, err
	}
	if open && keepaliveSeq > 0 && held != nil {
		held.live.ack(keepaliveSeq)
		held.ackStored.Store(true)
		if held.gated.Load() {
			poke(d.hub.wake)
		}
	}
	return open, nil
}

// reapUnacked gives assignments that were not acknowledged within AckTimeout
// of being sent to other workers, when their worker's stream acknowledges
// keep-alives (so it would have acknowledged them too, had they arrived).
//
// Such an attempt counts as lost, like one whose worker went away: the task
// is retried at once as its next attempt while attempts remain, and the old
// worker is told to stop. It uses up an attempt because the worker may be
// running it after all (only the acknowledgement was lost), so the task may
// run once more; max_attempts bounds how often a task runs. A new attempt
// number also keeps the old worker's late report and its cancellation apart
// from the new attempt's (the fence on task, attempt and worker refuses the
// report), even when the same worker is given the task again.
func (d *dispatcher) reapUnacked(ctx context.Context, now time.Time) {
	unacked, err := read(ctx, d.store, func(ctx context.Context, q store.Q) ([]*store.Task, error) {
		return q.TaskListUnacked(ctx, &store.TaskListUnackedParams{SentBefore: now.Add(-d.cfg.AckTimeout), Limit: 100})
	})
	if err != nil {
		if ctx.Err() == nil {
			d.log.WarnContext(ctx, "unacknowledged assignments not listed", "error", err.Error())
		}
		return
	}
	doubted := map[string]bool{}
	for _, t := range unacked {
		d.loseAttempt(ctx, t.TenantID, t, fmt.Sprintf("assignment not acknowledged by the worker within %s", d.cfg.AckTimeout), true)
		if doubted[t.WorkerID] {
			continue
		}
		doubted[t.WorkerID] = true
		// The stream lost an assignment: it gets no new work until a later
		// keep-alive comes back, so the lost attempt is not sent into it again.
		err := d.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error {
			return q.WorkerStreamDoubt(ctx, t.TenantID, t.WorkerID)
		})
		if err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "stream not marked doubtful", "worker_id", t.WorkerID, "error", err.Error())
		}
		d.mu.Lock()
		if c := d.conns[t.WorkerID]; c != nil {
			c.ackStored.Store(false)
		}
		d.mu.Unlock()
	}
}
