package engine

import (
	"context"
	"strconv"
	"strings"
	"sync"
)

// Signals tell the parts of the engine that state changed. A write sends each
// signal twice: through the database (Q.Notify, delivered on commit to every
// server process sharing a Postgres database) and, after commit, straight to
// this process's hub, so a single process never waits on a round trip. Receivers
// treat signals as hints and re-read state, so a duplicate costs nothing.
const (
	signalTasks  = "tasks"   // tasks were queued or slots freed: dispatch
	signalRun    = "run:"    // + run id: the run changed
	signalCancel = "cancel:" // + worker id + ":" + task id + ":" + attempt + ":" + reason: stop that attempt
)

// hub fans signals out inside one process.
type hub struct {
	wake chan struct{} // the dispatcher's wake-up, coalesced

	mu       sync.Mutex
	runSubs  map[string]map[chan struct{}]struct{}
	cancelFn func(workerID, taskID string, attempt int32, reason string)
}

func newHub() *hub {
	return &hub{wake: make(chan struct{}, 1), runSubs: make(map[string]map[chan struct{}]struct{})}
}

// deliver acts on one signal.
func (h *hub) deliver(sig string) {
	switch {
	case sig == signalTasks:
		select {
		case h.wake <- struct{}{}:
		default:
		}
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
