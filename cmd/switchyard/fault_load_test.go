package main

// The load of the fault tests and the checks of what became of it.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// faultRetry is the producers' retry policy: enough attempts, at most half a
// second apart, to outlast a server restart or a database restart of several
// seconds.
var faultRetry = sdk.RetryPolicy{MaxAttempts: 60, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}

// load pushes events at a steady rate through several clients, each push with
// its own idempotency key and the payload {"i": i}, and records which were
// acknowledged and how the others failed.
type load struct {
	key  string
	next atomic.Int64
	stop chan struct{}
	done sync.WaitGroup

	mu     sync.Mutex
	acked  map[int64]*switchyardv1.PushEventResponse
	failed map[connect.Code]int
	sample map[connect.Code]error // the first failure of each code
	ended  time.Time
}

// startLoad pushes events with key through each client, perSecond events a
// second through each (two producers per client), until stopped.
func startLoad(ctx context.Context, key string, perSecond int, clients ...*sdk.Client) *load {
	l := &load{key: key, stop: make(chan struct{}), acked: map[int64]*switchyardv1.PushEventResponse{}, failed: map[connect.Code]int{}, sample: map[connect.Code]error{}}
	const producers = 2
	every := time.Second * producers / time.Duration(perSecond)
	for _, c := range clients {
		for range producers {
			l.done.Go(func() { l.produce(ctx, c, every) })
		}
	}
	return l
}

func (l *load) produce(ctx context.Context, c *sdk.Client, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		i := l.next.Add(1)
		res, err := c.Push(ctx, l.key, map[string]any{"i": i}, sdk.WithIdempotencyKey(fmt.Sprintf("%s-%d", l.key, i)))
		l.mu.Lock()
		if err != nil {
			code := connect.CodeOf(err)
			l.failed[code]++
			if l.sample[code] == nil {
				l.sample[code] = err
			}
		} else {
			l.acked[i] = res
		}
		l.mu.Unlock()
	}
}

// finish stops the producers, waits for the pushes in flight and records when
// the load ended.
func (l *load) finish() {
	close(l.stop)
	l.done.Wait()
	l.mu.Lock()
	l.ended = time.Now()
	l.mu.Unlock()
}

// acknowledged returns how many pushes were acknowledged so far.
func (l *load) acknowledged() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// waitAcknowledged waits until n pushes were acknowledged, failing the test
// after a minute.
func (l *load) waitAcknowledged(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for l.acknowledged() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d pushes acknowledged after a minute, want %d; failures by code: %v", l.acknowledged(), n, l.failures())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failures returns how many pushes failed for good, by code.
func (l *load) failures() map[connect.Code]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.failed)
}

// loadOutcome is what became of a load's pushes.
type loadOutcome struct {
	acked, failed         int
	stored, lost, doubled int // events stored; acknowledged not stored; stored more than once
	runs, succeeded       int // runs of acknowledged pushes; those SUCCEEDED
	stuckTasks            []string
	recovery              time.Duration // from the end of the load until every run SUCCEEDED
}

func (o loadOutcome) String() string {
	return fmt.Sprintf("pushes acknowledged=%d failed=%d stored=%d lost=%d duplicated=%d runs=%d succeeded=%d stuck=%d stuck_tasks=%d recovery=%s",
		o.acked, o.failed, o.stored, o.lost, o.doubled, o.runs, o.succeeded, o.runs-o.succeeded, len(o.stuckTasks), o.recovery.Round(time.Millisecond))
}

// check waits up to within after the load's end for every run of an
// acknowledged push to succeed, then counts what was stored and what is stuck.
// It fails the test on a lost or duplicated push, a push acknowledged without
// exactly one run, or a run not SUCCEEDED in time (logging its tasks still
// waiting for a worker or their lease).
func (l *load) check(t *testing.T, c *sdk.Client, workflow string, within time.Duration) loadOutcome {
	t.Helper()
	ctx := context.Background()
	var o loadOutcome
	l.mu.Lock()
	acked, ended := l.acked, l.ended
	for code, err := range l.sample {
		t.Logf("%d pushes failed for good with %s, such as: %v", l.failed[code], code, err)
		o.failed += l.failed[code]
	}
	l.mu.Unlock()
	o.acked = len(acked)
	want := map[string]bool{}
	for i, res := range acked {
		if len(res.GetRunIds()) != 1 {
			t.Errorf("push %d acknowledged with runs %v, want one", i, res.GetRunIds())
		}
		for _, id := range res.GetRunIds() {
			want[id] = true
		}
	}
	o.runs = len(want)

	o.succeeded = waitSucceeded(t, c, workflow, slices.Collect(maps.Keys(want)), ended.Add(within))
	o.recovery = max(time.Since(ended), 0)
	statuses := runStatuses(t, c, workflow)

	perEvent := storedEvents(t, c, l.key)
	for _, n := range perEvent {
		o.stored += n
	}
	for i := range acked {
		switch n := perEvent[i]; {
		case n == 0:
			o.lost++
			t.Errorf("push %d was acknowledged but its event is not stored", i)
		case n > 1:
			o.doubled++
			t.Errorf("push %d is stored %d times, want once", i, n)
		}
	}
	for id := range want {
		if statuses[id] == switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
			continue
		}
		run, err := c.GetRun(ctx, id)
		if err != nil {
			t.Errorf("get run %s: %v", id, err)
			continue
		}
		for _, task := range run.GetTasks() {
			if task.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_SUCCEEDED {
				o.stuckTasks = append(o.stuckTasks, fmt.Sprintf("run %s %v: task %s %v attempt %d worker %s",
					id, run.GetStatus(), task.GetName(), task.GetStatus(), task.GetAttempt(), task.GetWorkerId()))
			}
		}
	}
	if o.succeeded != o.runs {
		for _, s := range o.stuckTasks[:min(len(o.stuckTasks), 20)] {
			t.Log(s)
		}
		t.Errorf("%d of %d runs SUCCEEDED %s after the load ended, want all; %d tasks still wait for a worker or their lease",
			o.succeeded, o.runs, within, len(o.stuckTasks))
	}
	return o
}

// waitSucceeded waits until each of the runs of workflow succeeded, or the
// deadline passed, and returns how many succeeded.
func waitSucceeded(t *testing.T, c *sdk.Client, workflow string, runIDs []string, deadline time.Time) int {
	t.Helper()
	for {
		statuses := runStatuses(t, c, workflow)
		done := 0
		for _, id := range runIDs {
			if statuses[id] == switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
				done++
			}
		}
		if done == len(runIDs) || time.Now().After(deadline) {
			return done
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runStatuses returns the status of every run of workflow.
func runStatuses(t *testing.T, c *sdk.Client, workflow string) map[string]switchyardv1.RunStatus {
	t.Helper()
	out := map[string]switchyardv1.RunStatus{}
	eachPage(t, "list runs of "+workflow, func(token string) (string, error) {
		res, err := c.ListRuns(context.Background(), &switchyardv1.ListRunsRequest{Workflow: workflow, PageSize: 500, PageToken: token})
		for _, r := range res.GetRuns() {
			out[r.GetId()] = r.GetStatus()
		}
		return res.GetNextPageToken(), err
	})
	return out
}

// storedEvents counts the stored events with key by their payload's i.
func storedEvents(t *testing.T, c *sdk.Client, key string) map[int64]int {
	t.Helper()
	out := map[int64]int{}
	eachPage(t, "list events "+key, func(token string) (string, error) {
		res, err := c.ListEvents(context.Background(), &switchyardv1.ListEventsRequest{Key: key, PageSize: 500, PageToken: token})
		for _, e := range res.GetEvents() {
			out[int64(e.GetPayload().GetFields()["i"].GetNumberValue())]++
		}
		return res.GetNextPageToken(), err
	})
	return out
}

// eachPage calls page with each page token, from the first page's (""), until
// it returns no next token; an error fails the test.
func eachPage(t *testing.T, what string, page func(token string) (next string, err error)) {
	t.Helper()
	for token := ""; ; {
		next, err := page(token)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if next == "" {
			return
		}
		token = next
	}
}

// executions counts how often workers ran each task (by run and task name).
type executions struct {
	mu sync.Mutex
	n  map[string]int
}

// handler returns a TaskFunc that counts the execution and takes d.
func (e *executions) handler(d time.Duration) sdk.TaskFunc {
	return func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
		e.mu.Lock()
		if e.n == nil {
			e.n = map[string]int{}
		}
		e.n[task.RunID+"/"+task.Name]++
		e.mu.Unlock()
		select {
		case <-time.After(d):
			return map[string]any{"ok": true}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// repeats returns how many tasks ran more than once (delivery is at least
// once, so a repeat is allowed; it is counted for the figures).
func (e *executions) repeats() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, runs := range e.n {
		if runs > 1 {
			n++
		}
	}
	return n
}
