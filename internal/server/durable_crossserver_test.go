package server_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestDurableWaitsWakeOnceAcrossServers runs 1,000 waiting runs on two servers
// sharing one Postgres schema, with a raw worker on each server: 700 tasks
// with a declared wait for their order's event, 100 tasks that wait for their
// order's event through the Wait RPC, and 200 declared waits in four batches
// of 50 whose one condition each batch event matches. The matching events are
// pushed through both servers in turn, concurrently; each batch event is
// pushed twice at once, once through each server; decoy events match no wait
// (unknown orders, or the right order under another key). Every run
// succeeds; every task is assigned once (an RPC task twice: its first attempt
// and its resumption); every wait row is satisfied by the right event (a batch
// run's by one of its batch's two events), GetEvent names the runs each event
// woke and no run twice, and the decoys woke none.
func TestDurableWaitsWakeOnceAcrossServers(t *testing.T) {
	t.Parallel()
	servers := startServers(t, storetest.Postgres(t))
	a, b := servers[0], servers[1]
	orders, rpcs, batches, perBatch := 700, 100, 4, 50
	if testing.Short() {
		orders, rpcs, perBatch = 140, 20, 10
	}
	const (
		paidKey, batchKey, refundKey = "cross.order.paid", "cross.batch.ready", "cross.order.refunded"
		byOrder                      = "event.payload.order_id == input.order_id"
		byBatch                      = "event.payload.batch == input.batch"
		long                         = time.Hour
	)
	putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "cross-order", OnEvents: []string{"cross.order.created"}, Tasks: []*switchyardv1.TaskSpec{
		{Name: "ship", Action: "cross.ship", WaitFor: eventWaitFor("paid", paidKey, byOrder, long)},
	}})
	putWorkflow(t, b, &switchyardv1.WorkflowSpec{Name: "cross-batch", OnEvents: []string{"cross.batch.created"}, Tasks: []*switchyardv1.TaskSpec{
		{Name: "go", Action: "cross.ship", WaitFor: eventWaitFor("ready", batchKey, byBatch, long)},
	}})
	putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "cross-rpc", OnEvents: []string{"cross.rpc.created"}, Tasks: []*switchyardv1.TaskSpec{
		task("call", "cross.rpc"),
	}})

	log := newAssignmentLog()
	for _, s := range servers {
		startRawWorker(t, s, []string{"cross.ship"}, 64, log.completing)
		startRawWorker(t, s, []string{"cross.rpc"}, 32, log.waiting("paid", eventWaitFor("paid", paidKey, byOrder, long)))
	}

	var orderInputs, rpcInputs, batchInputs []map[string]any
	for i := range orders {
		orderInputs = append(orderInputs, map[string]any{"order_id": fmt.Sprintf("o-%d", i)})
	}
	for i := range rpcs {
		rpcInputs = append(rpcInputs, map[string]any{"order_id": fmt.Sprintf("r-%d", i)})
	}
	for i := range batches * perBatch {
		batchInputs = append(batchInputs, map[string]any{"batch": fmt.Sprintf("b-%d", i%batches), "n": i})
	}
	orderRuns := startRuns(t, servers, "cross.order.created", orderInputs)
	rpcRuns := startRuns(t, servers, "cross.rpc.created", rpcInputs)
	batchRuns := startRuns(t, servers, "cross.batch.created", batchInputs)
	awaitRuns(t, a, "cross-order", switchyardv1.RunStatus_RUN_STATUS_WAITING, orders, time.Minute)
	awaitRuns(t, b, "cross-rpc", switchyardv1.RunStatus_RUN_STATUS_WAITING, rpcs, time.Minute)
	awaitRuns(t, a, "cross-batch", switchyardv1.RunStatus_RUN_STATUS_WAITING, batches*perBatch, time.Minute)

	// The events: the orders', each batch's twice (one through each server, in
	// a row so that they race), and decoys; taking turns over the servers.
	var events []pushedEvent
	for i, in := range slices.Concat(orderInputs, rpcInputs) {
		events = append(events, pushedEvent{server: servers[i%2], key: paidKey, payload: in})
	}
	batchEvents := len(events)
	for i := range batches {
		for _, s := range servers {
			events = append(events, pushedEvent{server: s, key: batchKey, payload: map[string]any{"batch": fmt.Sprintf("b-%d", i)}})
		}
	}
	decoys := len(events)
	for i := range 20 {
		events = append(events,
			pushedEvent{server: servers[i%2], key: paidKey, payload: map[string]any{"order_id": fmt.Sprintf("nobody-%d", i)}},
			pushedEvent{server: servers[(i+1)%2], key: refundKey, payload: orderInputs[i]})
	}
	pushed := time.Now()
	eventIDs := pushEventsAt(t, events, 16)
	t.Logf("pushed %d events in %s", len(events), time.Since(pushed).Round(time.Millisecond))

	awaitRuns(t, a, "cross-order", switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED, orders, 2*time.Minute)
	awaitRuns(t, b, "cross-rpc", switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED, rpcs, time.Minute)
	awaitRuns(t, a, "cross-batch", switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED, batches*perBatch, time.Minute)
	t.Logf("every run succeeded %s after the first push", time.Since(pushed).Round(time.Millisecond))
	if err := log.failures(); err != nil {
		t.Fatalf("workers: %v", err)
	}
	runs := getRuns(t, b, slices.Concat(orderRuns, rpcRuns, batchRuns))

	// Declared order waits: one assignment, carrying the order's event.
	for i, id := range orderRuns {
		r, want := runs[id], eventIDs[i]
		tk := taskByName(r, "ship")
		checkDeclaredWake(t, log, r, tk, want)
		if got := wokeRuns(t, a, want); !slices.Equal(got, []string{id}) {
			t.Errorf("event %s of order %d woke runs %v, want [%s]", want, i, got, id)
		}
	}
	// RPC waits: the first attempt, then one resumption with the wait step.
	for i, id := range rpcRuns {
		r, want := runs[id], eventIDs[orders+i]
		tk := taskByName(r, "call")
		w := onlyWait(t, r, tk)
		if r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || w.GetStep() != "paid" || w.GetState() != switchyardv1.WaitState_WAIT_STATE_SATISFIED || w.GetEventId() != want {
			t.Errorf("rpc run %s: status %v, wait %v; want SUCCEEDED, step paid SATISFIED by event %s", id, r.GetStatus(), w, want)
		}
		if tk.GetAttempt() != 2 || tk.GetResumes() != 1 {
			t.Errorf("rpc run %s: task attempt %d resumes %d, want attempt 2 after 1 resume", id, tk.GetAttempt(), tk.GetResumes())
		}
		as, _ := log.of(tk.GetId())
		if len(as) != 2 || as[0].GetAttempt() != 1 || as[1].GetAttempt() != 2 {
			t.Errorf("rpc run %s: %d assignments %v, want attempts 1 then 2", id, len(as), attemptsOf(as))
			continue
		}
		step := stepNamed(as[1], "paid")
		if got := step.GetWait().GetConditions(); len(got) != 1 || got[0].GetEvent().GetId() != want || got[0].GetState() != switchyardv1.WaitState_WAIT_STATE_SATISFIED {
			t.Errorf("rpc run %s: the resumed assignment's wait step is %v, want condition paid SATISFIED by %s", id, step, want)
		}
		if got := wokeRuns(t, b, want); !slices.Equal(got, []string{id}) {
			t.Errorf("event %s of rpc order %d woke runs %v, want [%s]", want, i, got, id)
		}
	}
	// Batch waits: each satisfied by one of its batch's two events, and the two
	// events together woke the batch's runs, each once.
	for i := range batches {
		first, second := eventIDs[batchEvents+2*i], eventIDs[batchEvents+2*i+1]
		var want, woke []string
		for j, id := range batchRuns {
			if j%batches != i {
				continue
			}
			want = append(want, id)
			r := runs[id]
			w := onlyWait(t, r, taskByName(r, "go"))
			if w.GetEventId() != first && w.GetEventId() != second {
				t.Errorf("batch run %s: wait %v, want it satisfied by %s or %s", id, w, first, second)
				continue
			}
			checkDeclaredWake(t, log, r, taskByName(r, "go"), w.GetEventId())
		}
		for _, ev := range []string{first, second} {
			got := wokeRuns(t, a, ev)
			for _, id := range got {
				if w := onlyWait(t, runs[id], runs[id].GetTasks()[0]); w.GetEventId() != ev {
					t.Errorf("event %s names run %s among those it woke, but the run's wait was satisfied by %q", ev, id, w.GetEventId())
				}
			}
			woke = append(woke, got...)
		}
		slices.Sort(want)
		slices.Sort(woke)
		if !slices.Equal(woke, want) {
			t.Errorf("batch b-%d: its two events woke %d runs (%d distinct), want its %d runs once each", i, len(woke), len(slices.Compact(slices.Clone(woke))), len(want))
		}
		t.Logf("batch b-%d: %d runs woken by the event through server A, %d by the one through server B", i, len(wokeRuns(t, b, first)), len(wokeRuns(t, b, second)))
	}
	for i := decoys; i < len(events); i++ {
		if got := wokeRuns(t, b, eventIDs[i]); len(got) != 0 {
			t.Errorf("decoy event %s %v woke runs %v, want none", events[i].key, events[i].payload, got)
		}
	}
}

// checkDeclaredWake checks a task with a declared wait of one event condition
// that want satisfied: its run succeeded, its one wait row is satisfied by
// want, and it was assigned once, with want in the assignment's wait result,
// an attempt that does not count against its retries.
func checkDeclaredWake(t *testing.T, log *assignmentLog, r *switchyardv1.Run, tk *switchyardv1.Task, want string) {
	t.Helper()
	w := onlyWait(t, r, tk)
	if r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || w.GetStep() != "wait_for" || w.GetKind() != "event" ||
		w.GetState() != switchyardv1.WaitState_WAIT_STATE_SATISFIED || w.GetEventId() != want || w.GetResolvedAt() == nil {
		t.Errorf("run %s: status %v, wait %v; want SUCCEEDED, an event wait_for SATISFIED by event %s", r.GetId(), r.GetStatus(), w, want)
	}
	if tk.GetAttempt()-tk.GetResumes() != 1 {
		t.Errorf("run %s: task attempt %d resumes %d, want one attempt counted", r.GetId(), tk.GetAttempt(), tk.GetResumes())
	}
	as, _ := log.of(tk.GetId())
	if len(as) != 1 {
		t.Errorf("run %s: task %s assigned %d times (attempts %v), want once", r.GetId(), tk.GetName(), len(as), attemptsOf(as))
		return
	}
	res := as[0].GetWaitResult()
	if got := res.GetConditions(); res.GetTimedOut() || len(got) != 1 || got[0].GetState() != switchyardv1.WaitState_WAIT_STATE_SATISFIED || got[0].GetEvent().GetId() != want {
		t.Errorf("run %s: the assignment's wait result is %v, want its one condition SATISFIED by %s", r.GetId(), res, want)
	}
}

// attemptsOf lists the assignments' attempt numbers.
func attemptsOf(as []*switchyardv1.TaskAssignment) []int32 {
	var out []int32
	for _, a := range as {
		out = append(out, a.GetAttempt())
	}
	return out
}

// startServers starts the servers of a test on eng, with the fast engine
// intervals: two on one new Postgres schema, or one on SQLite (a file has one
// server).
func startServers(t *testing.T, eng storetest.Engine) []*api {
	t.Helper()
	opts, n := servertest.Options{Engine: fastEngine}, 1
	if eng.Name == "postgres" {
		opts.Store, n = store.Config{DatabaseURL: storetest.NewSchema(t)}, 2
	}
	var apis []*api
	for range n {
		apis = append(apis, newAPI(servertest.Start(t, eng, opts).URL, grpcProtocol()))
	}
	return apis
}

// TestDurableWaitTimeoutRacesEvent gives 200 runs a declared event wait that
// times out after 3 seconds (on_wait_timeout RUN, so the task runs either
// way), and pushes each run's event from 32ms before its wait's deadline to
// 8ms after, through the servers in turn (two on one Postgres schema; one on
// SQLite). Each wait resolves one way only: satisfied by its event, stored before the deadline
// (the wait row names it, the assignment carries it, GetEvent names the run),
// or timed out (no event on the row or in the assignment, the event woke
// nothing), and its task is assigned once.
func TestDurableWaitTimeoutRacesEvent(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			testDurableWaitTimeoutRacesEvent(t, eng)
		})
	}
}

func testDurableWaitTimeoutRacesEvent(t *testing.T, eng storetest.Engine) {
	n := 200
	if testing.Short() {
		n = 60
	}
	const key, timeout = "race.paid", 3 * time.Second
	servers := startServers(t, eng)
	putWorkflow(t, servers[0], &switchyardv1.WorkflowSpec{Name: "race", OnEvents: []string{"race.created"}, Tasks: []*switchyardv1.TaskSpec{{
		Name: "pay", Action: "race.pay",
		WaitFor:       eventWaitFor("paid", key, "event.payload.order_id == input.order_id", timeout),
		OnWaitTimeout: switchyardv1.WaitTimeoutAction_WAIT_TIMEOUT_ACTION_RUN,
	}}})
	log := newAssignmentLog()
	for _, s := range servers {
		startRawWorker(t, s, []string{"race.pay"}, 64, log.completing)
	}
	var inputs []map[string]any
	for i := range n {
		inputs = append(inputs, map[string]any{"order_id": fmt.Sprintf("o-%d", i)})
	}
	// Started 20 at a time every 100ms, so that the deadlines, and the pushes,
	// spread over a second.
	var runIDs []string
	for lo := 0; lo < n; lo += 20 {
		runIDs = append(runIDs, startRuns(t, servers, "race.created", inputs[lo:min(lo+20, n)])...)
		time.Sleep(100 * time.Millisecond)
	}
	waiting := getRuns(t, servers[0], runIDs)

	// Each event is pushed from 32ms before its wait's deadline to 8ms after
	// (the server stamps it a little later than the push starts).
	var events []pushedEvent
	deadlines := make([]time.Time, n)
	for i, id := range runIDs {
		w := onlyWait(t, waiting[id], taskByName(waiting[id], "pay"))
		if w.GetDeadline() == nil {
			t.Fatalf("run %s: wait %v has no deadline, want its creation + %s", id, w, timeout)
		}
		deadlines[i] = w.GetDeadline().AsTime()
		offset := time.Duration(i%11-8) * 4 * time.Millisecond
		events = append(events, pushedEvent{server: servers[i%len(servers)], key: key, payload: inputs[i], at: deadlines[i].Add(offset)})
	}
	eventIDs := pushEventsAt(t, events, 32)
	awaitRuns(t, servers[0], "race", switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED, n, time.Minute)
	if err := log.failures(); err != nil {
		t.Fatalf("workers: %v", err)
	}

	runs := getRuns(t, servers[len(servers)-1], runIDs)
	satisfied, timedOut := 0, 0
	for i, id := range runIDs {
		r, ev := runs[id], eventIDs[i]
		tk := taskByName(r, "pay")
		w := onlyWait(t, r, tk)
		as, _ := log.of(tk.GetId())
		if r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || len(as) != 1 {
			t.Errorf("run %s: status %v, task assigned %d times (attempts %v); want SUCCEEDED, once", id, r.GetStatus(), len(as), attemptsOf(as))
			continue
		}
		res, woke := as[0].GetWaitResult(), wokeRuns(t, servers[i%len(servers)], ev)
		conds := res.GetConditions()
		if len(conds) != 1 {
			t.Errorf("run %s: the assignment's wait result %v has %d conditions, want 1", id, res, len(conds))
			continue
		}
		switch w.GetState() {
		case switchyardv1.WaitState_WAIT_STATE_SATISFIED:
			satisfied++
			if w.GetEventId() != ev || res.GetTimedOut() || conds[0].GetState() != switchyardv1.WaitState_WAIT_STATE_SATISFIED || conds[0].GetEvent().GetId() != ev || !slices.Equal(woke, []string{id}) {
				t.Errorf("run %s: wait satisfied by %q, assignment's result %v, event %s woke %v; want all to name event %s and run %s", id, w.GetEventId(), res, ev, woke, ev, id)
			}
			if stored := conds[0].GetEvent().GetCreatedAt().AsTime(); !stored.Before(deadlines[i]) {
				t.Errorf("run %s: wait satisfied by event %s stored at %s, at or after its deadline %s", id, ev, stored, deadlines[i])
			}
		case switchyardv1.WaitState_WAIT_STATE_TIMED_OUT:
			timedOut++
			if w.GetEventId() != "" || !res.GetTimedOut() || conds[0].GetState() != switchyardv1.WaitState_WAIT_STATE_TIMED_OUT || conds[0].GetEvent() != nil || len(woke) != 0 {
				t.Errorf("run %s: wait timed out with event %q, assignment's result %v, event %s woke %v; want no event anywhere", id, w.GetEventId(), res, ev, woke)
			}
			if w.GetResolvedAt().AsTime().Before(deadlines[i]) {
				t.Errorf("run %s: wait timed out at %s, before its deadline %s", id, w.GetResolvedAt().AsTime(), deadlines[i])
			}
		default:
			t.Errorf("run %s: wait %v, want SATISFIED or TIMED_OUT", id, w)
		}
	}
	t.Logf("figures: %d waits satisfied, %d timed out", satisfied, timedOut)
}
