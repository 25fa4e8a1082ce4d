package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

func rateLimitClient(url string) switchyardv1connect.RateLimitServiceClient {
	p := grpcProtocol()
	opts := append(append([]connect.ClientOption{}, p.Options...), connect.WithInterceptors(servertest.BearerInterceptor(servertest.AdminToken)))
	return switchyardv1connect.NewRateLimitServiceClient(p.HTTP, url, opts...)
}

func declareLimit(t testing.TB, c switchyardv1connect.RateLimitServiceClient, name string, max int32, period time.Duration) {
	t.Helper()
	if _, err := c.PutRateLimit(context.Background(), connect.NewRequest(namedLimit(name, max, period))); err != nil {
		t.Fatalf("put rate limit %s: %v", name, err)
	}
}

// pushEach pushes one event of key per payload, in order.
func pushEach(t testing.TB, a *api, key string, payloads ...map[string]any) []string {
	t.Helper()
	var ids []string
	for _, p := range payloads {
		res, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: key, Payload: mustStruct(p)}))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Msg.GetRunIds()...)
	}
	return ids
}

// TestRateLimitHoldsTasksQueued declares a static limit (2 per hour) and a
// dynamic one (1 per hour per customer): the tasks over them stay QUEUED,
// saying which limit holds them and until when, in GetRun and ListRuns; the
// limits list their fill; raising the static limit lets its task start.
func TestRateLimitHoldsTasksQueued(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv, a := startEngineServer(t, eng)
		limits := rateLimitClient(srv.URL)
		declareLimit(t, limits, "stripe-api", 2, time.Hour)
		declareLimit(t, limits, "per-customer", 1, time.Hour)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "charge", OnEvents: []string{"charge"}, Tasks: []*switchyardv1.TaskSpec{
			{Name: "charge", Action: "stripe.charge", RateLimits: []*switchyardv1.TaskRateLimit{{Limit: "stripe-api"}}},
		}})
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "mail", OnEvents: []string{"mail"}, Tasks: []*switchyardv1.TaskSpec{
			{Name: "mail", Action: "mail.send", RateLimits: []*switchyardv1.TaskRateLimit{{Limit: "per-customer", Key: "input.customer_id"}}},
		}})
		startRawWorker(t, a, []string{"stripe.charge", "mail.send"}, 10, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			if err := w.complete(as, nil); err != nil {
				t.Errorf("complete: %v", err)
			}
		})
		charges := pushEach(t, a, "charge", map[string]any{}, map[string]any{}, map[string]any{})
		mails := pushEach(t, a, "mail", map[string]any{"customer_id": "a"}, map[string]any{"customer_id": "a"}, map[string]any{"customer_id": "b"})
		for _, id := range []string{charges[0], charges[1], mails[0], mails[2]} {
			if r := waitRun(t, a, id, 20*time.Second); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
				t.Fatalf("run %s: %v, want SUCCEEDED", id, r.GetStatus())
			}
		}
		for id, want := range map[string]string{charges[2]: "rate limited by stripe-api until ", mails[1]: `rate limited by per-customer (key "a") until `} {
			var r *switchyardv1.Run
			waitFor(t, "the held run's reason", 10*time.Second, func() bool {
				r = getRun(t, a, id)
				return r.GetWaitReason() != ""
			})
			task := r.GetTasks()[0]
			if r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_QUEUED || !strings.HasPrefix(r.GetWaitReason(), want) ||
				task.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_QUEUED || task.GetWaitReason() != r.GetWaitReason() || task.GetAttempt() != 0 {
				t.Fatalf("held run: %v, reason %q; task %v %q attempt %d; want QUEUED, %q…, attempt 0", r.GetStatus(), r.GetWaitReason(), task.GetStatus(), task.GetWaitReason(), task.GetAttempt(), want)
			}
			if wait := time.Until(task.GetAvailableAt().AsTime()); wait < 59*time.Minute {
				t.Fatalf("held task available in %s, want about an hour", wait)
			}
		}
		list, err := a.runs.ListRuns(context.Background(), connect.NewRequest(&switchyardv1.ListRunsRequest{Workflow: "charge", Status: switchyardv1.RunStatus_RUN_STATUS_QUEUED}))
		if err != nil || len(list.Msg.GetRuns()) != 1 || !strings.HasPrefix(list.Msg.GetRuns()[0].GetWaitReason(), "rate limited by stripe-api until ") {
			t.Fatalf("queued charges listed: %v, %v; want one with its reason", list.Msg.GetRuns(), err)
		}
		fill, err := limits.ListRateLimits(context.Background(), connect.NewRequest(&switchyardv1.ListRateLimitsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		used := map[string]int64{}
		for _, l := range fill.Msg.GetRateLimits() {
			for _, k := range l.GetKeys() {
				used[l.GetName()+"/"+k.GetKey()] = k.GetUsed()
			}
		}
		if want := map[string]int64{"stripe-api/": 2, "per-customer/a": 1, "per-customer/b": 1}; fmt.Sprint(used) != fmt.Sprint(want) {
			t.Fatalf("fill: %v, want %v", used, want)
		}
		declareLimit(t, limits, "stripe-api", 3, time.Hour) // changed live
		if r := waitRun(t, a, charges[2], 20*time.Second); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || r.GetTasks()[0].GetWaitReason() != "" {
			t.Fatalf("after raising the limit: %v %q, want SUCCEEDED without a reason", r.GetStatus(), r.GetTasks()[0].GetWaitReason())
		}
		if r := getRun(t, a, mails[1]); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_QUEUED {
			t.Fatalf("customer a's second mail: %v, want still QUEUED", r.GetStatus())
		}
	})
}

// TestRateLimitExactAcrossThreeServers runs three servers on one Postgres,
// a worker on each, and 250 single-task runs under a limit of 50 per second:
// every run succeeds on its first attempt, and no window of one second holds
// more than 50 task starts (the starts as stored, to the microsecond). The
// figure at scale (5,000 queued) is BenchmarkRateLimitedThroughput's.
func TestRateLimitExactAcrossThreeServers(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t)
	url := storetest.NewSchema(t)
	var apis []*api
	for range 3 {
		srv := servertest.Start(t, pg, servertest.Options{Store: store.Config{DatabaseURL: url, MaxConns: 6}, Engine: fastEngine})
		apis = append(apis, newAPI(srv.URL, grpcProtocol()))
		if len(apis) == 1 {
			declareLimit(t, rateLimitClient(srv.URL), "api", 50, time.Second)
		}
	}
	putWorkflow(t, apis[0], &switchyardv1.WorkflowSpec{Name: "limited", OnEvents: []string{"limited"}, Tasks: []*switchyardv1.TaskSpec{
		{Name: "call", Action: "api.call", RateLimits: []*switchyardv1.TaskRateLimit{{Limit: "api"}}},
	}})
	for _, a := range apis {
		startRawWorker(t, a, []string{"api.call"}, 40, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			if err := w.complete(as, nil); err != nil {
				t.Errorf("complete: %v", err)
			}
		})
	}
	const n = 250
	var events []*switchyardv1.PushEventRequest
	for i := range n {
		events = append(events, &switchyardv1.PushEventRequest{Key: "limited", Payload: mustStruct(map[string]any{"i": i})})
	}
	res, err := apis[0].events.BulkPushEvents(context.Background(), connect.NewRequest(&switchyardv1.BulkPushEventsRequest{Events: events}))
	if err != nil {
		t.Fatal(err)
	}
	var starts []time.Time
	for _, r := range res.Msg.GetResults() {
		run := waitRun(t, apis[len(starts)%3], r.GetRunIds()[0], 60*time.Second)
		task := run.GetTasks()[0]
		if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || task.GetAttempt() != 1 {
			t.Fatalf("run %s: %v after %d attempts, want SUCCEEDED on the first", run.GetId(), run.GetStatus(), task.GetAttempt())
		}
		starts = append(starts, task.GetStartedAt().AsTime())
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i, s := range starts {
		j, _ := slices.BinarySearchFunc(starts, s.Add(time.Second), func(a, b time.Time) int { return a.Compare(b) })
		most = max(most, j-i)
	}
	if most > 50 {
		t.Fatalf("the busiest 1 s window holds %d starts, over the limit of 50", most)
	}
	// At 50 a second, 250 starts cannot all fit in less than 4 s: a limiter
	// that let more through would finish sooner (120 slots wait for them).
	if span := starts[n-1].Sub(starts[0]); span < 4*time.Second {
		t.Fatalf("%d starts took %s, want at least 4 s at 50 per second", n, span)
	}
}

// TestTriggerRateLimitThrottlesOrSkips: a trigger allowing 2 runs per hour
// per customer throttles the third run of one customer (SCHEDULED at its
// slot, with the reason) or, with over_limit SKIP, records it SKIPPED with
// the reason; another customer's run starts.
func TestTriggerRateLimitThrottlesOrSkips(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		for name, over := range map[string]switchyardv1.OverLimit{"throttled": switchyardv1.OverLimit_OVER_LIMIT_QUEUE, "skipping": switchyardv1.OverLimit_OVER_LIMIT_SKIP} {
			putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: name, Tasks: []*switchyardv1.TaskSpec{task("t", "x")},
				EventTriggers: []*switchyardv1.EventTrigger{{Key: name, RateLimit: &switchyardv1.TriggerRateLimit{
					Key: "payload.customer", MaxRuns: 2, Period: durationpb.New(time.Hour), OverLimit: over}}}})
		}
		c := func(id string) map[string]any { return map[string]any{"customer": id} }
		throttled := pushEach(t, a, "throttled", c("a"), c("a"), c("a"), c("b"))
		skipped := pushEach(t, a, "skipping", c("a"), c("a"), c("a"), c("b"))
		for i, id := range []string{throttled[0], throttled[1], throttled[3], skipped[0], skipped[1], skipped[3]} {
			if r := getRun(t, a, id); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_QUEUED || r.GetWaitReason() != "" {
				t.Fatalf("run %d: %v %q, want QUEUED (started, no worker)", i, r.GetStatus(), r.GetWaitReason())
			}
		}
		r := getRun(t, a, throttled[2])
		if r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SCHEDULED ||
			r.GetWaitReason() != fmt.Sprintf(`throttled by the trigger's rate limit (at most 2 runs per 1h0m0s for key "a") until %s`, r.GetScheduledAt().AsTime().Format(time.RFC3339Nano)) {
			t.Fatalf("throttled run: %v %q, want SCHEDULED with the reason", r.GetStatus(), r.GetWaitReason())
		}
		if wait := time.Until(r.GetScheduledAt().AsTime()); wait < 59*time.Minute {
			t.Fatalf("throttled run starts in %s, want about an hour", wait)
		}
		r = getRun(t, a, skipped[2])
		if r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SKIPPED || r.GetFinishedAt() == nil ||
			r.GetError() != `skipped by the trigger's rate limit: at most 2 runs per 1h0m0s for key "a"` {
			t.Fatalf("skipped run: %v %q, want SKIPPED with the reason", r.GetStatus(), r.GetError())
		}
	})
}

// TestGroupRoundRobinInterleavesKeys: with GROUP_ROUND_ROBIN and room for
// one run, six runs of key a pushed before two of key b start a, b, a, b, a,
// a, a, a: keys take turns, so b does not wait behind all of a.
func TestGroupRoundRobinInterleavesKeys(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "fair", OnEvents: []string{"fair"}, Tasks: []*switchyardv1.TaskSpec{task("t", "fair.work")},
			Concurrency: &switchyardv1.ConcurrencyRule{Key: "payload.customer", MaxRuns: 1, Strategy: switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_GROUP_ROUND_ROBIN}})
		var keys []map[string]any
		for _, k := range "aaaaaabb" {
			keys = append(keys, map[string]any{"customer": string(k)})
		}
		runs := pushEach(t, a, "fair", keys...)
		if r := getRun(t, a, runs[6]); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_WAITING {
			t.Fatalf("b's first run: %v, want WAITING behind a's", r.GetStatus())
		}
		var mu sync.Mutex
		var order []string
		startRawWorker(t, a, []string{"fair.work"}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			mu.Lock()
			order = append(order, as.GetInput().AsMap()["customer"].(string))
			mu.Unlock()
			if err := w.complete(as, nil); err != nil {
				t.Errorf("complete: %v", err)
			}
		})
		for _, id := range runs {
			waitRun(t, a, id, 30*time.Second)
		}
		mu.Lock()
		defer mu.Unlock()
		if got := strings.Join(order, ""); got != "ababaaaa" {
			t.Fatalf("runs started in key order %q, want %q", got, "ababaaaa")
		}
	})
}
