package engine

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Signals tell the parts of the engine that state changed. After a write
// commits, each of its signals goes straight to this process's hub and to the
// store's notifier for the other server processes, whose notifiers hand
// them to their hubs. Receivers treat signals as hints and re-read state, so a
// duplicate costs nothing, and periodic polls cover a signal lost in a crash.
const (
	signalTasks   = "tasks"    // tasks were queued or slots freed: dispatch
	signalRun     = "run:"     // + run id: the run changed
	signalCancel  = "cancel:"  // + worker id + ":" + task id + ":" + attempt + ":" + reason: stop that attempt
	signalAdmit   = "admit"    // a run with a concurrency key ended: start waiting runs
	signalDue     = "due"      // a delayed run or a cron schedule was stored: look at the schedules
	signalLater   = "tasks@"   // + Unix microseconds: a task is queued from then on: dispatch then
	signalWaits   = "waits"    // durable waits changed: resolve them
	signalWaitAt  = "waits@"   // + Unix microseconds: a durable wait comes due then
	signalWindow  = "windows@" // + Unix microseconds: an event window fires then
	signalBulk    = "bulk"     // a bulk operation was started: run it
	signalRevoked = "revoked:" // + token id: the token was revoked
	signalTenant  = "tenant:"  // + tenant id: the tenant (its rate limit) changed
)

// hub fans signals out inside one process: it owns the wake-ups of the
// dispatcher and the admission of waiting runs, and the watchers of each run.
type hub struct {
	wake    chan struct{} // the dispatcher's wake-up, coalesced
	admit   chan struct{} // the scheduler's wake-up, coalesced
	due     chan struct{} // the wake-up of the delayed runs' scheduler, coalesced
	cron    chan struct{} // the cron scheduler's wake-up, coalesced
	reap    chan struct{} // the reaper's wake-up, coalesced
	waits   chan struct{} // the wait resolver's wake-up, coalesced
	windows chan struct{} // the event windows' wake-up, coalesced
	bulk    chan struct{} // the bulk operations' wake-up, coalesced
	now     func() time.Time

	mu       sync.Mutex
	runSubs  map[string]map[chan struct{}]struct{}
	cancelFn func(workerID, taskID string, attempt int32, reason string)
	// listeners are called with what follows their prefix in a signal:
	// the caches of other parts (tokens, tenant limits) that it empties.
	listeners map[string][]func(id string)
}

func newHub(now func() time.Time) *hub {
	wake := func() chan struct{} { return make(chan struct{}, 1) }
	return &hub{wake: wake(), admit: wake(), due: wake(), cron: wake(), reap: wake(), waits: wake(), windows: wake(), bulk: wake(), now: now,
		runSubs: make(map[string]map[chan struct{}]struct{})}
}

// after pokes ch once d has passed.
func after(d time.Duration, ch chan struct{}) {
	time.AfterFunc(d, func() { poke(ch) })
}

// deliver acts on one signal, of this process or another.
func (h *hub) deliver(sig string) {
	switch {
	case sig == signalTasks:
		poke(h.wake)
	case sig == signalAdmit:
		poke(h.admit)
	case sig == signalDue:
		poke(h.due)
		poke(h.cron)
	case sig == signalWaits:
		poke(h.waits)
	case sig == signalBulk:
		poke(h.bulk)
	case strings.HasPrefix(sig, signalWaitAt):
		h.at(strings.TrimPrefix(sig, signalWaitAt), h.waits)
	case strings.HasPrefix(sig, signalWindow):
		h.at(strings.TrimPrefix(sig, signalWindow), h.windows)
	case strings.HasPrefix(sig, signalLater):
		h.at(strings.TrimPrefix(sig, signalLater), h.wake)
	case strings.HasPrefix(sig, signalRevoked):
		h.tell(signalRevoked, strings.TrimPrefix(sig, signalRevoked))
	case strings.HasPrefix(sig, signalTenant):
		h.tell(signalTenant, strings.TrimPrefix(sig, signalTenant))
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

// listen has fn called with the id of each signal prefix+id.
func (h *hub) listen(prefix string, fn func(id string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.listeners == nil {
		h.listeners = map[string][]func(string){}
	}
	h.listeners[prefix] = append(h.listeners[prefix], fn)
}

// tell calls the listeners of prefix with id.
func (h *hub) tell(prefix, id string) {
	h.mu.Lock()
	fns := h.listeners[prefix]
	h.mu.Unlock()
	for _, fn := range fns {
		fn(id)
	}
}

// at pokes ch a moment after the time us (Unix microseconds), so that it
// has passed on the receiver's clock.
func (h *hub) at(us string, ch chan struct{}) {
	t, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return
	}
	after(time.UnixMicro(t).Sub(h.now())+time.Millisecond, ch)
}

// atSignal is the signal prefix followed by t in Unix microseconds.
func atSignal(prefix string, t time.Time) string {
	return prefix + strconv.FormatInt(t.UnixMicro(), 10)
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
