package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// The helpers of the durable-wait tests and benchmark: declared waits, runs
// started in bulk, and a log of the assignments raw workers receive.

// eventWaitFor is a wait for one event condition named name, without
// lookback.
func eventWaitFor(name, key, condition string, timeout time.Duration) *switchyardv1.WaitSpec {
	return &switchyardv1.WaitSpec{Conditions: []*switchyardv1.WaitCondition{eventWait(name, key, condition, 0, timeout)}}
}

// assignmentLog records every assignment raw workers receive, by task, and
// what went wrong handling them.
type assignmentLog struct {
	mu     sync.Mutex
	byTask map[string][]*switchyardv1.TaskAssignment
	at     map[string][]time.Time
	errs   []error
}

func newAssignmentLog() *assignmentLog {
	return &assignmentLog{byTask: map[string][]*switchyardv1.TaskAssignment{}, at: map[string][]time.Time{}}
}

func (l *assignmentLog) add(as *switchyardv1.TaskAssignment) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byTask[as.GetTaskId()] = append(l.byTask[as.GetTaskId()], as)
	l.at[as.GetTaskId()] = append(l.at[as.GetTaskId()], now)
}

func (l *assignmentLog) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

// of returns the task's assignments in the order they arrived, and when.
func (l *assignmentLog) of(taskID string) ([]*switchyardv1.TaskAssignment, []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.byTask[taskID]), slices.Clone(l.at[taskID])
}

func (l *assignmentLog) failures() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.errs...)
}

// completing is a raw worker's handler that logs each assignment and
// completes it at once.
func (l *assignmentLog) completing(w *rawWorker, as *switchyardv1.TaskAssignment) {
	l.add(as)
	if err := retryUnavailable(func() error { return w.complete(as, nil) }); err != nil {
		l.fail(fmt.Errorf("complete task %s attempt %d: %w", as.GetTaskId(), as.GetAttempt(), err))
	}
}

// waiting returns a raw worker's handler that logs each assignment and, as
// durable code would, waits for spec under the step name step unless the
// assignment already carries that step; it completes the task once the wait
// is resolved.
func (l *assignmentLog) waiting(step string, spec *switchyardv1.WaitSpec) func(*rawWorker, *switchyardv1.TaskAssignment) {
	return func(w *rawWorker, as *switchyardv1.TaskAssignment) {
		l.add(as)
		if stepNamed(as, step) == nil {
			var res *switchyardv1.WaitResponse
			err := retryUnavailable(func() (err error) {
				res, err = w.wait(as, step, spec.GetMode(), spec.GetConditions()...)
				return err
			})
			if connect.CodeOf(err) == connect.CodeFailedPrecondition {
				// The attempt is over (a retried call that the first one
				// already answered, or an attempt handed to another
				// delivery): as the SDK does, drop it; the assignment
				// counts tell whether a task ran more often than it should.
				return
			}
			if err != nil {
				l.fail(fmt.Errorf("wait of task %s attempt %d: %w", as.GetTaskId(), as.GetAttempt(), err))
				return
			}
			if !res.GetResolved() {
				return // the attempt ended; the task comes back when the wait resolves
			}
		}
		if err := retryUnavailable(func() error { return w.complete(as, nil) }); err != nil {
			l.fail(fmt.Errorf("complete task %s attempt %d: %w", as.GetTaskId(), as.GetAttempt(), err))
		}
	}
}

// startRuns pushes one event with key for each payload, in bulk calls of at
// most 1,000 that take turns over servers, and returns the run each started,
// in the order of payloads.
func startRuns(t testing.TB, servers []*api, key string, payloads []map[string]any) []string {
	t.Helper()
	const batch = 1000
	ids := make([]string, 0, len(payloads))
	for lo, call := 0, 0; lo < len(payloads); lo, call = lo+batch, call+1 {
		req := &switchyardv1.BulkPushEventsRequest{}
		for _, p := range payloads[lo:min(lo+batch, len(payloads))] {
			req.Events = append(req.Events, &switchyardv1.PushEventRequest{Key: key, Payload: mustStruct(p)})
		}
		res, err := servers[call%len(servers)].events.BulkPushEvents(context.Background(), connect.NewRequest(req))
		if err != nil {
			t.Fatalf("bulk push %s events %d to %d: %v", key, lo, lo+len(req.Events)-1, err)
		}
		for j, r := range res.Msg.GetResults() {
			if len(r.GetRunIds()) != 1 {
				t.Fatalf("%s event %d started runs %v, want one", key, lo+j, r.GetRunIds())
			}
			ids = append(ids, r.GetRunIds()[0])
		}
	}
	return ids
}

// awaitRuns polls until at least n runs of workflow have status, and fails
// the test when timeout passes first. A poll answered unavailable counts as
// not yet.
func awaitRuns(t testing.TB, a *api, workflow string, status switchyardv1.RunStatus, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, err := countRuns(context.Background(), a, workflow, status)
		if err != nil && connect.CodeOf(err) != connect.CodeUnavailable {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs of %s are %s after %s, want %d (last error: %v)", got, workflow, status, timeout, n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getRuns returns the runs by id, fetched eight at a time.
func getRuns(t testing.TB, a *api, ids []string) map[string]*switchyardv1.Run {
	t.Helper()
	out := make(map[string]*switchyardv1.Run, len(ids))
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan string)
	for range 8 {
		wg.Go(func() {
			for id := range next {
				var res *connect.Response[switchyardv1.GetRunResponse]
				err := retryUnavailable(func() (err error) {
					res, err = a.runs.GetRun(context.Background(), connect.NewRequest(&switchyardv1.GetRunRequest{Id: id}))
					return err
				})
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("get run %s: %w", id, err))
				} else {
					out[id] = res.Msg.GetRun()
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

// pushedEvent is one event to push through one server.
type pushedEvent struct {
	server  *api
	key     string
	payload map[string]any
	at      time.Time // when to push it; zero means at once
}

// pushEventsAt pushes the events from parallel goroutines, each at its time, and
// returns their ids by index; it fails the test on the first error.
func pushEventsAt(t testing.TB, events []pushedEvent, parallel int) []string {
	t.Helper()
	ids := make([]string, len(events))
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for range parallel {
		wg.Go(func() {
			for i := range next {
				e := events[i]
				time.Sleep(time.Until(e.at))
				res, err := e.server.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: e.key, Payload: mustStruct(e.payload)}))
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("push %s %v: %w", e.key, e.payload, err))
				} else {
					ids[i] = res.Msg.GetEvent().GetId()
				}
				mu.Unlock()
			}
		})
	}
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return events[i].at.Compare(events[j].at) })
	for _, i := range order {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return ids
}

// onlyWait returns the task's one wait row, failing the test when it has
// another number of them.
func onlyWait(t testing.TB, r *switchyardv1.Run, task *switchyardv1.Task) *switchyardv1.WaitInfo {
	t.Helper()
	if len(task.GetWaits()) != 1 {
		t.Errorf("run %s task %s has %d wait rows, want 1: %v", r.GetId(), task.GetName(), len(task.GetWaits()), task.GetWaits())
		return &switchyardv1.WaitInfo{}
	}
	return task.GetWaits()[0]
}
