package sdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// Liveness of the Listen stream, in both directions: the worker acknowledges
// each assignment and keep-alive it receives (the server gives an
// unacknowledged assignment to another worker after a few seconds, and ends a
// stream whose keep-alives go unacknowledged), and takes a stream on which
// nothing arrived for three announced keep-alive intervals for dead.

// defaultStreamSilence is how long a stream may stay silent before the first
// keep-alive announces the server's interval, or when the server announces
// none: three keep-alive intervals of such a server.
const defaultStreamSilence = 45 * time.Second

// ackTimeout bounds one Acknowledge call; ackRetryDelay spaces the retries
// of a failed one while its stream lasts.
const (
	ackTimeout    = 5 * time.Second
	ackRetryDelay = 250 * time.Millisecond
)

// Causes that end a stream from the worker's side.
var (
	// errStreamSilent: nothing arrived for three keep-alive intervals.
	errStreamSilent = errors.New("no message on the Listen stream")
	// errStreamNotOpen: the server says the stream is no longer the worker's.
	errStreamNotOpen = errors.New("the server no longer takes the Listen stream as open")
)

// watchdog ends a stream on which nothing arrived for three keep-alive
// intervals.
type watchdog struct {
	timer *time.Timer
	limit atomic.Int64 // nanoseconds
}

// newWatchdog starts a watchdog that calls end with the cause.
func newWatchdog(end context.CancelCauseFunc) *watchdog {
	d := &watchdog{}
	d.limit.Store(int64(defaultStreamSilence))
	d.timer = time.AfterFunc(defaultStreamSilence, func() {
		end(fmt.Errorf("%w for %s", errStreamSilent, time.Duration(d.limit.Load())))
	})
	return d
}

// fed restarts the wait: a message arrived. A keep-alive's interval (0: not
// announced) sets the wait to three of them.
func (d *watchdog) fed(interval time.Duration) {
	if interval > 0 {
		d.limit.Store(int64(3 * interval))
	}
	d.timer.Reset(time.Duration(d.limit.Load()))
}

// stop stops the watchdog.
func (d *watchdog) stop() { d.timer.Stop() }

// acker acknowledges what one Listen stream brings, in the background:
// what arrives while a call is on its way goes in the next, so the receive
// loop never waits.
type acker struct {
	w        *Worker
	workerID string
	end      context.CancelCauseFunc // ends the stream

	mu       sync.Mutex
	streamID string
	seq      uint64 // the latest keep-alive received
	ackedSeq uint64 // the latest keep-alive acknowledged
	refs     []*switchyardv1.AttemptRef
	off      bool // the server does not serve Acknowledge

	wake chan struct{}
	done chan struct{}
}

// startAcker runs an acker for one stream until stop.
func (w *Worker) startAcker(workerID string, end context.CancelCauseFunc) *acker {
	a := &acker{w: w, workerID: workerID, end: end, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go a.run()
	return a
}

// keepalive notes a keep-alive to acknowledge.
func (a *acker) keepalive(k *switchyardv1.Keepalive) {
	a.mu.Lock()
	if k.GetStreamId() != "" {
		a.streamID, a.seq = k.GetStreamId(), max(a.seq, k.GetSeq())
	}
	a.mu.Unlock()
	a.poke()
}

// assignment notes an assignment to acknowledge.
func (a *acker) assignment(as *switchyardv1.TaskAssignment) {
	a.mu.Lock()
	a.refs = append(a.refs, &switchyardv1.AttemptRef{TaskId: as.GetTaskId(), Attempt: as.GetAttempt()})
	a.mu.Unlock()
	a.poke()
}

func (a *acker) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// stop ends the acker once it sent what it holds (one more try, in the
// background: the stream's assignments run here, whatever became of it).
func (a *acker) stop() { close(a.done) }

func (a *acker) run() {
	for {
		select {
		case <-a.wake:
		case <-a.done:
			a.flush(false)
			return
		}
		if !a.flush(true) {
			select {
			case <-time.After(ackRetryDelay):
				a.poke()
			case <-a.done:
				a.flush(false)
				return
			}
		}
	}
}

// flush sends what is pending in one Acknowledge; open says whether the
// stream is still being received. It reports false when the call failed and
// should be tried again.
func (a *acker) flush(open bool) bool {
	a.mu.Lock()
	streamID, seq, refs := a.streamID, a.seq, a.refs
	if a.off || streamID == "" || (seq == a.ackedSeq && len(refs) == 0) {
		a.mu.Unlock()
		return true
	}
	a.refs = nil
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(a.w.taskCtx, ackTimeout)
	defer cancel()
	res, err := a.w.client.workers.Acknowledge(ctx, connect.NewRequest(&switchyardv1.AcknowledgeRequest{
		WorkerId: a.workerID, StreamId: streamID, Assignments: refs, KeepaliveSeq: seq,
	}))
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case err == nil:
		a.ackedSeq = max(a.ackedSeq, seq)
		if open && !res.Msg.GetStreamOpen() {
			a.end(errStreamNotOpen)
		}
		return true
	case connect.CodeOf(err) == connect.CodeUnimplemented:
		a.off = true // a server without acknowledgements holds the worker to none
		return true
	case connect.CodeOf(err) == connect.CodeNotFound, connect.CodeOf(err) == connect.CodeInvalidArgument:
		a.w.log.Warn("acknowledgement refused", "worker_id", a.workerID, "code", connect.CodeOf(err).String(), "error", err)
		return true
	}
	a.refs = append(refs, a.refs...)
	if open {
		a.w.log.Debug("acknowledgement failed: trying again", "worker_id", a.workerID, "error", err)
	} else {
		a.w.log.Warn("acknowledgement failed", "worker_id", a.workerID, "assignments", len(refs), "error", err)
	}
	return false
}
