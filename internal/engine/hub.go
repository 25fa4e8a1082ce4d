package engine

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/switchyard/switchyard/internal/store"
)

// Signals tell the parts of the engine that state changed. After a write
// commits, each of its signals goes straight to this process's hub and to the
// notifier, which batches the signals of concurrent writes into one Postgres
// notification for the other server processes (Postgres serialises the commits
// of notifying transactions, so notifying inside every write would serialise
// all writes). Receivers treat signals as hints and re-read state, so a
// duplicate costs nothing, and periodic polls cover a signal lost in a crash.
const (
	signalTasks  = "tasks"   // tasks were queued or slots freed: dispatch
	signalRun    = "run:"    // + run id: the run changed
	signalCancel = "cancel:" // + worker id + ":" + task id + ":" + attempt + ":" + reason: stop that attempt
	signalAdmit  = "admit"   // a run with a concurrency key ended: start waiting runs
)

// hub fans signals out inside one process.
type hub struct {
	wake  chan struct{} // the dispatcher's wake-up, coalesced
	admit chan struct{} // the scheduler's wake-up, coalesced

	mu       sync.Mutex
	runSubs  map[string]map[chan struct{}]struct{}
	cancelFn func(workerID, taskID string, attempt int32, reason string)
}

func newHub() *hub {
	return &hub{wake: make(chan struct{}, 1), admit: make(chan struct{}, 1), runSubs: make(map[string]map[chan struct{}]struct{})}
}

// deliver acts on a notification: signals separated by newlines.
func (h *hub) deliver(payload string) {
	for sig := range strings.SplitSeq(payload, "\n") {
		h.deliverOne(sig)
	}
}

func (h *hub) deliverOne(sig string) {
	switch {
	case sig == signalTasks:
		poke(h.wake)
	case sig == signalAdmit:
		poke(h.admit)
	case strings.HasPrefix(sig, signalRun):
		id := strings.TrimPrefix(sig, signalRun)
		h.mu.Lock()
		for ch := range h.runSubs[id] {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
		h.mu.Unlock()
	case strings.HasPrefix(sig, signalCancel):
		parts := strings.SplitN(strings.TrimPrefix(sig, signalCancel), ":", 4)
		if len(parts) != 4 {
			return
		}
		attempt, err := strconv.Atoi(parts[2])
		if err != nil {
			return
		}
		h.mu.Lock()
		fn := h.cancelFn
		h.mu.Unlock()
		if fn != nil {
			fn(parts[0], parts[1], int32(attempt), parts[3])
		}
	}
}

// poke sends on a coalescing wake-up channel without blocking.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// subscribeRun returns a channel that receives (coalesced) whenever the run
// changes, until ctx ends.
func (h *hub) subscribeRun(ctx context.Context, runID string) <-chan struct{} {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.runSubs[runID] == nil {
		h.runSubs[runID] = make(map[chan struct{}]struct{})
	}
	h.runSubs[runID][ch] = struct{}{}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		delete(h.runSubs[runID], ch)
		if len(h.runSubs[runID]) == 0 {
			delete(h.runSubs, runID)
		}
		h.mu.Unlock()
	})
	return ch
}

// notifier sends signals to the other server processes, batching those that
// arrive while a notification is being sent.
type notifier struct {
	in chan string
}

// maxNotifyPayload stays below Postgres's 8000-byte notification payload limit.
const maxNotifyPayload = 7000

// signal delivers sigs to this process and queues them for the others.
func (e *Engine) signal(sigs ...string) {
	for _, s := range sigs {
		e.hub.deliver(s)
	}
	if !e.store.Postgres() {
		return
	}
	for _, s := range sigs {
		select {
		case e.notify.in <- s:
		default:
			// The queue is full: the other processes' polls will catch up.
		}
	}
}

// runNotifier sends queued signals until ctx ends: one statement for whatever
// queued up meanwhile, deduplicated, in payloads under the size limit.
func (e *Engine) runNotifier(ctx context.Context) {
	for {
		var first string
		select {
		case <-ctx.Done():
			return
		case first = <-e.notify.in:
		}
		seen := map[string]bool{first: true}
		batch := []string{first}
	drain:
		for len(batch) < 1000 {
			select {
			case s := <-e.notify.in:
				if !seen[s] {
					seen[s] = true
					batch = append(batch, s)
				}
			default:
				break drain
			}
		}
		var payloads []string
		var cur strings.Builder
		for _, s := range batch {
			if cur.Len() > 0 && cur.Len()+1+len(s) > maxNotifyPayload {
				payloads = append(payloads, cur.String())
				cur.Reset()
			}
			if cur.Len() > 0 {
				cur.WriteByte('\n')
			}
			cur.WriteString(s)
		}
		payloads = append(payloads, cur.String())
		err := e.store.Read(ctx, func(ctx context.Context, q store.Q) error { return q.Notify(ctx, payloads...) })
		if err != nil && ctx.Err() == nil {
			e.log.WarnContext(ctx, "notify other servers", "error", err.Error())
		}
	}
}
