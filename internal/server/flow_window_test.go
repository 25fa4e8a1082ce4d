package server_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// debounceSpec debounces "<name>.*" events per payload.user, with a quiet
// period of 2 s.
func debounceSpec(name string) *switchyardv1.WorkflowSpec {
	return &switchyardv1.WorkflowSpec{Name: name, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")},
		EventTriggers: []*switchyardv1.EventTrigger{{Key: name + ".*", Debounce: &switchyardv1.Debounce{
			Key: "payload.user", QuietPeriod: durationpb.New(2 * time.Second), MaxWait: durationpb.New(time.Hour)}}}}
}

// batchSpec batches "<name>.*" events by 100, closing a batch 3 s after its
// first event.
func batchSpec(name string) *switchyardv1.WorkflowSpec {
	return &switchyardv1.WorkflowSpec{Name: name, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")},
		EventTriggers: []*switchyardv1.EventTrigger{{Key: name + ".*", Batch: &switchyardv1.EventBatch{
			MaxEvents: 100, MaxWait: durationpb.New(3 * time.Second)}}}}
}

// burstClock is the servers' clock in the window tests: it stands still while
// a burst is pushed, so that no quiet period or max wait passes in the middle
// of a burst however slow the machine is; thawed, it is the real clock.
type burstClock struct{ frozen atomic.Pointer[time.Time] }

func (c *burstClock) now() time.Time {
	if t := c.frozen.Load(); t != nil {
		return *t
	}
	return time.Now()
}

func (c *burstClock) freeze() {
	t := time.Now()
	c.frozen.Store(&t)
}

func (c *burstClock) thaw() { c.frozen.Store(nil) }

// engineWith is fastEngine on clock.
func engineWith(clock *burstClock) engine.Config {
	cfg := fastEngine
	cfg.Now = clock.now
	return cfg
}

// pushSpread pushes n events of key with payload {user, i} from 10 callers
// at once, spread over the servers' APIs, and returns their ids.
func pushSpread(t *testing.T, apis []*api, key string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	for c := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < n; i += 10 {
				res, err := apis[i%len(apis)].events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{
					Key: key, Payload: mustStruct(map[string]any{"user": "u1", "i": i})}))
				if err != nil {
					t.Errorf("push %d: %v", i, err)
					return
				}
				ids[i] = res.Msg.GetEvent().GetId()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return ids
}

// checkDebounced waits for the debounced run of the burst ids and checks it:
// one run, listing every event of the burst, started with the last of them.
func checkDebounced(t *testing.T, a *api, workflow string, ids []string) {
	t.Helper()
	waitFor(t, "the debounced run", 30*time.Second, func() bool { return len(listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: workflow})) > 0 })
	runs := listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: workflow})
	if len(runs) != 1 {
		t.Fatalf("%d runs for a burst of %d events, want 1", len(runs), len(ids))
	}
	run := getRun(t, a, runs[0].GetId())
	got := run.GetEventIds()
	if !sameSet(got, ids) {
		t.Fatalf("the run lists %d events, want the burst's %d", len(got), len(ids))
	}
	last := got[len(got)-1]
	if run.GetEventId() != last {
		t.Fatalf("run started with event %s, want the last one %s", run.GetEventId(), last)
	}
	ev, err := a.events.GetEvent(context.Background(), connect.NewRequest(&switchyardv1.GetEventRequest{Id: last}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := run.GetInput().GetFields()["i"].GetNumberValue(), ev.Msg.GetEvent().GetPayload().GetFields()["i"].GetNumberValue(); got != want {
		t.Fatalf("run input i=%v, want the last event's %v", got, want)
	}
}

// checkBatched waits until batches cover all ids and checks them: 100, 100
// and 50 events, each event in exactly one batch, and linked to its run.
func checkBatched(t *testing.T, a *api, workflow string, ids []string) {
	t.Helper()
	var runs []*switchyardv1.Run
	waitFor(t, "batches covering every event", 30*time.Second, func() bool {
		runs = listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: workflow})
		n := 0
		for _, r := range runs {
			n += len(r.GetInput().GetFields()["events"].GetListValue().GetValues())
		}
		return n >= len(ids)
	})
	seen := map[string]int{}
	var sizes []int
	for _, r := range runs {
		events := r.GetInput().GetFields()["events"].GetListValue().GetValues()
		sizes = append(sizes, len(events))
		listed := getRun(t, a, r.GetId()).GetEventIds()
		for i, v := range events {
			id := v.GetStructValue().GetFields()["id"].GetStringValue()
			seen[id]++
			if listed[i] != id {
				t.Fatalf("run %s: event_ids[%d] = %s, input lists %s", r.GetId(), i, listed[i], id)
			}
		}
		ev, err := a.events.GetEvent(context.Background(), connect.NewRequest(&switchyardv1.GetEventRequest{Id: listed[0]}))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(ev.Msg.GetEvent().GetRunIds(), r.GetId()) {
			t.Fatalf("event %s names runs %v, not its batch's run %s", listed[0], ev.Msg.GetEvent().GetRunIds(), r.GetId())
		}
	}
	slices.Sort(sizes)
	if fmt.Sprint(sizes) != "[50 100 100]" {
		t.Fatalf("batch sizes %v, want [50 100 100]", sizes)
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("event %s is in %d batches, want 1", id, seen[id])
		}
	}
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// TestDebounceBurstStartsOneRun pushes a burst of 100 events from concurrent
// callers: one run starts, with the last event, listing all 100; an event for
// another debounce key has its own run.
func TestDebounceBurstStartsOneRun(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		clock := new(burstClock)
		srv := servertest.Start(t, eng, servertest.Options{Engine: engineWith(clock)})
		a := newAPI(srv.URL, grpcProtocol())
		putWorkflow(t, a, debounceSpec("typing"))
		clock.freeze()
		ids := pushSpread(t, []*api{a}, "typing.key", 100)
		other, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{
			Key: "typing.key", Payload: mustStruct(map[string]any{"user": "u2"})}))
		if err != nil {
			t.Fatal(err)
		}
		clock.thaw()
		waitFor(t, "the other user's run", 30*time.Second, func() bool {
			return len(listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: "typing"})) == 2
		})
		runs := listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: "typing", EventId: other.Msg.GetEvent().GetId()})
		if len(runs) != 1 {
			t.Fatalf("%d runs for the other user's event, want 1", len(runs))
		}
		for _, r := range listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: "typing"}) {
			if r.GetId() != runs[0].GetId() {
				run := getRun(t, a, r.GetId())
				if !sameSet(run.GetEventIds(), ids) || run.GetEventId() != run.GetEventIds()[99] {
					t.Fatalf("the burst's run lists %d events and starts with %s", len(run.GetEventIds()), run.GetEventId())
				}
			}
		}
	})
}

// TestBatchOf250Events pushes 250 events into batches of 100: three runs,
// covering every event exactly once.
func TestBatchOf250Events(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		clock := new(burstClock)
		srv := servertest.Start(t, eng, servertest.Options{Engine: engineWith(clock)})
		a := newAPI(srv.URL, grpcProtocol())
		putWorkflow(t, a, batchSpec("ingest"))
		clock.freeze()
		ids := pushSpread(t, []*api{a}, "ingest.row", 250)
		clock.thaw()
		checkBatched(t, a, "ingest", ids)
	})
}

// TestWindowsFireOnceAcrossThreeServers runs debounce and batch windows on
// three servers sharing one Postgres, with the events pushed through all
// three: the burst starts one run and the batches cover every event once.
func TestWindowsFireOnceAcrossThreeServers(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t)
	url := storetest.NewSchema(t)
	clock := new(burstClock)
	var apis []*api
	for range 3 {
		srv := servertest.Start(t, pg, servertest.Options{Store: store.Config{DatabaseURL: url}, Engine: engineWith(clock)})
		apis = append(apis, newAPI(srv.URL, grpcProtocol()))
	}
	putWorkflow(t, apis[0], debounceSpec("typing"))
	putWorkflow(t, apis[1], batchSpec("ingest"))
	clock.freeze()
	burst := pushSpread(t, apis, "typing.key", 100)
	batched := pushSpread(t, apis, "ingest.row", 250)
	clock.thaw()
	checkDebounced(t, apis[2], "typing", burst)
	checkBatched(t, apis[0], "ingest", batched)
}

// TestBatchMeetsTriggerRateLimit: the runs of a batching trigger meet its
// rate limit like the runs of any trigger: of two full batches under a limit
// of one run an hour, the second run is skipped.
func TestBatchMeetsTriggerRateLimit(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv := servertest.Start(t, eng, servertest.Options{Engine: fastEngine})
		a := newAPI(srv.URL, grpcProtocol())
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "pairs", Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")},
			EventTriggers: []*switchyardv1.EventTrigger{{Key: "pair.item",
				Batch:     &switchyardv1.EventBatch{MaxEvents: 2, MaxWait: durationpb.New(time.Hour)},
				RateLimit: &switchyardv1.TriggerRateLimit{MaxRuns: 1, Period: durationpb.New(time.Hour), OverLimit: switchyardv1.OverLimit_OVER_LIMIT_SKIP}}}})
		var events []*switchyardv1.PushEventRequest
		for i := range 4 {
			events = append(events, &switchyardv1.PushEventRequest{Key: "pair.item", Payload: mustStruct(map[string]any{"i": i})})
		}
		if _, err := a.events.BulkPushEvents(context.Background(), connect.NewRequest(&switchyardv1.BulkPushEventsRequest{Events: events})); err != nil {
			t.Fatal(err)
		}
		got := runStatuses(t, a, "pairs")
		if got[switchyardv1.RunStatus_RUN_STATUS_QUEUED] != 1 || got[switchyardv1.RunStatus_RUN_STATUS_SKIPPED] != 1 || len(got) != 2 {
			t.Fatalf("batch runs %v, want one queued and one skipped by the trigger's rate limit", got)
		}
	})
}
