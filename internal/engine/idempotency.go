package engine

import (
	"fmt"

	"github.com/switchyard/switchyard/internal/store"
)

// Idempotency keys. A request that makes something (an event, a run, a worker,
// a replay) may carry a key: the first request with the key makes it, and a
// retry with the key gets what the first made (deduplicated) when it is the same
// request, that is when every part a retry must repeat is equal. Another request
// under a used key is refused.

// sameRetry compares a request made under an idempotency key with the first one
// made under it, each given as the parts a retry must repeat (parts names them
// for the refusal). The same request is nil; another is KindAlreadyExists,
// naming what the first made: holder ("event 0190…", "events[2] of this call")
// and, when stored, its id under the detail idKey.
func sameRetry[R comparable](key string, first, retry R, parts, holder, idKey, id string) error {
	if first == retry {
		return nil
	}
	e := &Error{
		Kind:    KindAlreadyExists,
		Message: fmt.Sprintf("idempotency key %q was already used by %s for a different request (%s differ)", key, holder, parts),
		Details: map[string]string{"idempotency_key": key},
	}
	if id != "" {
		e.Details[idKey] = id
	}
	return e
}

// eventRequest is what a push must repeat under its idempotency key; the times
// the server fills in are not part of it.
type eventRequest struct {
	key, payload, metadata, scope string // payload: the JSON text
	priority                      int32
}

const eventRequestParts = "key, payload, metadata, scope or priority"

func eventRequestOf(ev *store.Event) eventRequest {
	return eventRequest{key: ev.Key, payload: ev.Payload.Text(), metadata: fmt.Sprintf("%q", ev.Metadata.V), scope: ev.Scope, priority: ev.Priority}
}

// sameEvent compares a pushed event with the first push under its key, which
// stored (or was deduplicated to) event id.
func sameEvent(first, pushed *store.Event, id string) error {
	return sameRetry(pushed.IdempotencyKey, eventRequestOf(first), eventRequestOf(pushed), eventRequestParts,
		"event "+id, "event_id", id)
}

// sameEventInCall compares a pushed event with an earlier item of the same call
// (label) that holds its key.
func sameEventInCall(earlier, pushed *store.Event, label string) error {
	return sameRetry(pushed.IdempotencyKey, eventRequestOf(earlier), eventRequestOf(pushed), eventRequestParts,
		label+" of this call", "", "")
}

// runRequest is what a manual run must repeat under its idempotency key.
type runRequest struct {
	workflow, input string // input: the JSON text
	priority        int32
	scheduledAt     store.Time
}

// sameRun compares a manual run with the stored run that holds its key.
func sameRun(stored *store.Run, retry runRequest) error {
	first := runRequest{workflow: stored.WorkflowName, input: stored.Input.Text(), priority: stored.Priority, scheduledAt: stored.ScheduledAt}
	return sameRetry(stored.IdempotencyKey, first, retry, "workflow, input, run_at or priority", "run "+stored.ID, "run_id", stored.ID)
}

// sameReplay compares a replay (source: what is replayed, and how) with the
// recorded replay that holds its key.
func sameReplay(stored *store.Replay, source string) error {
	return sameRetry(stored.IdempotencyKey, stored.Source, source, "what is replayed or how", "a replay of "+stored.Source, "", "")
}

// workerRequest is what a registration must repeat under its idempotency key.
type workerRequest struct {
	name, actions, labels string
	slots                 int32
}

func workerRequestOf(w *store.Worker) workerRequest {
	return workerRequest{name: w.Name, actions: fmt.Sprintf("%q", w.Actions.V), labels: fmt.Sprintf("%q", w.Labels.V), slots: w.Slots}
}

// sameWorker compares a registration with the stored worker that holds its key.
func sameWorker(stored, retry *store.Worker) error {
	return sameRetry(retry.IdempotencyKey, workerRequestOf(stored), workerRequestOf(retry), "name, actions, slots or labels",
		"worker "+stored.ID, "worker_id", stored.ID)
}
