package server_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// Tenant B ("bravo") owns one object of every kind; tenant A ("alpha") holds a
// token of every role and tries to reach them.
const (
	alphaTenant       = "alpha"
	bravoTenant       = "bravo"
	bravoWorkflow     = "bravo-flow"
	bravoEventKey     = "bravo.key"
	bravoHeldAction   = "bravo.held"
	bravoQueuedAction = "bravo.queued"
	bravoQuickAction  = "bravo.quick"
	bravoEventIdem    = "bravo-event-idempotency"
	bravoRunIdem      = "bravo-run-idempotency"
	bravoReplayIdem   = "bravo-replay-idempotency"
)

// bravo is tenant B as its admin set it up.
type bravo struct {
	target
	admin       *api
	adminSecret string
	queuedRun   string // a run whose task waits, QUEUED, for an action no worker of B serves
	queuedTask  string
}

// bravoSpec is the current (second) version of B's workflow.
func bravoSpec(description string) *switchyardv1.WorkflowSpec {
	return &switchyardv1.WorkflowSpec{Name: bravoWorkflow, Description: description, OnEvents: []string{bravoEventKey}, Tasks: []*switchyardv1.TaskSpec{
		{Name: "hold", Action: bravoHeldAction, Timeout: durationpb.New(time.Hour)},
	}}
}

// setupBravo creates tenant B and, as its admin, one of everything: a workflow
// with two versions; an event whose run's task B's worker holds (RUNNING); a
// finished run and a replay of it; a run whose task stays QUEUED; a connected
// worker; a webhook with a delivery; two tokens.
func setupBravo(t *testing.T, srv *servertest.Server, op *api) *bravo {
	t.Helper()
	ctx := context.Background()
	if _, err := op.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: bravoTenant, Name: "Bravo"})); err != nil {
		t.Fatal(err)
	}
	tok, err := op.admin.CreateToken(ctx, connect.NewRequest(&switchyardv1.CreateTokenRequest{Tenant: bravoTenant, Role: switchyardv1.Role_ROLE_ADMIN, Name: "bravo-admin"}))
	if err != nil {
		t.Fatal(err)
	}
	b := &bravo{admin: newAPIToken(srv.URL, grpcProtocol(), tok.Msg.GetSecret()), adminSecret: tok.Msg.GetSecret()}
	b.tenant, b.token, b.workflow = bravoTenant, tok.Msg.GetToken().GetId(), bravoWorkflow
	createToken(t, b.admin, "", switchyardv1.Role_ROLE_VIEWER)

	putWorkflow(t, b.admin, bravoSpec("first"))
	putWorkflow(t, b.admin, bravoSpec("second"))
	putWorkflow(t, b.admin, &switchyardv1.WorkflowSpec{Name: "bravo-done", Tasks: []*switchyardv1.TaskSpec{task("quick", bravoQuickAction)}})
	putWorkflow(t, b.admin, &switchyardv1.WorkflowSpec{Name: "bravo-queue", Tasks: []*switchyardv1.TaskSpec{task("wait", bravoQueuedAction)}})

	held := make(chan *switchyardv1.TaskAssignment, 4)
	w := startRawWorker(t, b.admin, []string{bravoHeldAction, bravoQuickAction}, 4, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
		if as.GetAction() == bravoHeldAction {
			held <- as
			return
		}
		if err := w.complete(as, map[string]any{"secret": "bravo-output"}); err != nil {
			t.Errorf("bravo's worker completes %s: %v", as.GetTaskName(), err)
		}
	})
	b.worker = w.id

	pushed, err := b.admin.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{
		Key: bravoEventKey, IdempotencyKey: bravoEventIdem, Payload: mustStruct(map[string]any{"secret": "bravo-payload"}),
	}))
	if err != nil || len(pushed.Msg.GetRunIds()) != 1 {
		t.Fatalf("bravo's push: %v, %v", pushed, err)
	}
	b.event, b.run = pushed.Msg.GetEvent().GetId(), pushed.Msg.GetRunIds()[0]
	select {
	case as := <-held:
		if as.GetRunId() != b.run || as.GetAttempt() != 1 {
			t.Fatalf("bravo's worker holds %v, want attempt 1 of run %s", as, b.run)
		}
		b.task = as.GetTaskId()
	case <-time.After(20 * time.Second):
		t.Fatal("bravo's worker got no task")
	}

	done, err := b.admin.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "bravo-done"}))
	if err != nil {
		t.Fatal(err)
	}
	b.endedRun = done.Msg.GetRunId()
	if r := waitRun(t, b.admin, b.endedRun, 20*time.Second); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
		t.Fatalf("bravo's run ended %v", r.GetStatus())
	}
	replay, err := b.admin.runs.ReplayRun(ctx, connect.NewRequest(&switchyardv1.ReplayRunRequest{Id: b.endedRun, IdempotencyKey: bravoReplayIdem}))
	if err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, b.admin, replay.Msg.GetRun().GetId(), 20*time.Second); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
		t.Fatalf("bravo's replay ended %v", r.GetStatus())
	}
	queued, err := b.admin.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "bravo-queue", IdempotencyKey: bravoRunIdem}))
	if err != nil {
		t.Fatal(err)
	}
	b.queuedRun = queued.Msg.GetRunId()
	b.queuedTask = getRun(t, b.admin, b.queuedRun).GetTasks()[0].GetId()

	hook, err := b.admin.webhooks.CreateWebhook(ctx, connect.NewRequest(&switchyardv1.CreateWebhookRequest{Settings: &switchyardv1.WebhookSettings{
		Name: "bravo-hook", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE, KeyExpression: `"bravo.hook"`,
	}}))
	if err != nil {
		t.Fatal(err)
	}
	b.webhook = hook.Msg.GetWebhook().GetId()
	res, err := http.Post(srv.URL+hook.Msg.GetWebhook().GetPath(), "application/json", strings.NewReader(`{"secret":"bravo-delivery"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("delivery to bravo's webhook: HTTP %d", res.StatusCode)
	}
	return b
}

// snapshot is everything B's admin can read, without the times that move on
// their own (heartbeats, a token's last use).
func (b *bravo) snapshot(t *testing.T) []proto.Message {
	t.Helper()
	ctx := context.Background()
	must := func(m proto.Message, err error) proto.Message {
		t.Helper()
		if err != nil {
			t.Fatalf("bravo's admin reads: %v", err)
		}
		return m
	}
	var out []proto.Message
	events, err := b.admin.events.ListEvents(ctx, connect.NewRequest(&switchyardv1.ListEventsRequest{PageSize: 500}))
	out = append(out, must(events.Msg, err))
	runs, err := b.admin.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{PageSize: 500}))
	out = append(out, must(runs.Msg, err))
	for _, r := range runs.Msg.GetRuns() {
		out = append(out, getRun(t, b.admin, r.GetId()))
	}
	wfs, err := b.admin.workflows.ListWorkflows(ctx, connect.NewRequest(&switchyardv1.ListWorkflowsRequest{PageSize: 500}))
	out = append(out, must(wfs.Msg, err))
	for _, wf := range wfs.Msg.GetWorkflows() {
		for v := int32(1); v <= wf.GetVersion(); v++ {
			got, err := b.admin.workflows.GetWorkflow(ctx, connect.NewRequest(&switchyardv1.GetWorkflowRequest{Name: wf.GetSpec().GetName(), Version: v}))
			out = append(out, must(got.Msg, err))
		}
	}
	workers, err := b.admin.workers.ListWorkers(ctx, connect.NewRequest(&switchyardv1.ListWorkersRequest{PageSize: 500}))
	out = append(out, must(workers.Msg, err))
	for _, w := range workers.Msg.GetWorkers() {
		w.LastHeartbeatAt = nil
	}
	hooks, err := b.admin.webhooks.ListWebhooks(ctx, connect.NewRequest(&switchyardv1.ListWebhooksRequest{PageSize: 500}))
	out = append(out, must(hooks.Msg, err))
	for _, h := range hooks.Msg.GetWebhooks() {
		ds, err := b.admin.webhooks.ListWebhookDeliveries(ctx, connect.NewRequest(&switchyardv1.ListWebhookDeliveriesRequest{WebhookId: h.GetId()}))
		out = append(out, must(ds.Msg, err))
	}
	tokens, err := b.admin.admin.ListTokens(ctx, connect.NewRequest(&switchyardv1.ListTokensRequest{PageSize: 500}))
	out = append(out, must(tokens.Msg, err))
	for _, tok := range tokens.Msg.GetTokens() {
		tok.LastUsedAt = nil
	}
	tenants, err := b.admin.admin.ListTenants(ctx, connect.NewRequest(&switchyardv1.ListTenantsRequest{}))
	out = append(out, must(tenants.Msg, err))
	return out
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// leakMarkers returns what no answer to tenant A may contain: every id in B's
// snapshot, B's name, and the names, keys and values only B uses (A's workers
// serve B's action names, so those are not secret).
func leakMarkers(t *testing.T, snap []proto.Message) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range snap {
		js, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range uuidPattern.FindAllString(string(js), -1) {
			seen[id] = true
		}
	}
	if len(seen) < 15 {
		t.Fatalf("bravo's snapshot holds %d ids; its setup is incomplete", len(seen))
	}
	out := []string{`"` + bravoTenant + `"`, bravoWorkflow, "bravo-done", "bravo-queue", "bravo-hook", "bravo-admin",
		"bravo-payload", "bravo-output", "bravo-delivery", bravoEventKey, "bravo.hook", bravoEventIdem, bravoRunIdem, bravoReplayIdem}
	for id := range seen {
		out = append(out, id)
	}
	return out
}

// TestIsolation proves tenants isolated. With a token of each role of tenant
// A, over every protocol, every RPC that names one of tenant B's objects gets
// exactly the answer it gets for an object that does not exist (not_found for
// a role the role table lets in, permission_denied otherwise); lists never show
// B's objects; A's workers, serving B's actions, never receive B's tasks nor
// finish them; and B's stored state is unchanged.
func TestIsolation(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		began := time.Now()
		// Heartbeats far apart enough that a loaded machine does not make
		// B's worker look dead, which would change B's state by itself.
		cfg := fastEngine
		cfg.HeartbeatInterval = 10 * time.Second
		srv := servertest.Start(t, eng, servertest.Options{Engine: cfg})
		op := newAPI(srv.URL, grpcProtocol())
		ctx := context.Background()
		b := setupBravo(t, srv, op)
		before := b.snapshot(t)
		markers := leakMarkers(t, before)

		// Tenant A: a token of each role, objects of its own, and two workers
		// that serve B's actions.
		if _, err := op.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: alphaTenant})); err != nil {
			t.Fatal(err)
		}
		tokens := map[string]string{}
		for _, role := range auth.Roles {
			tokens[role] = createToken(t, op, alphaTenant, roleOf[role])
		}
		alpha := newAPIToken(srv.URL, grpcProtocol(), tokens[auth.RoleAdmin])
		putWorkflow(t, alpha, &switchyardv1.WorkflowSpec{Name: "alpha-flow", OnEvents: []string{"alpha.key"}, Tasks: []*switchyardv1.TaskSpec{task("t", "alpha.none")}})
		alphaEvent, err := alpha.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "alpha.key"}))
		if err != nil || len(alphaEvent.Msg.GetRunIds()) != 1 {
			t.Fatalf("alpha's push: %v, %v", alphaEvent, err)
		}
		var mu sync.Mutex
		var received []*switchyardv1.TaskAssignment
		receive := func(_ *rawWorker, as *switchyardv1.TaskAssignment) {
			mu.Lock()
			defer mu.Unlock()
			received = append(received, as)
		}
		bravoActions := []string{bravoHeldAction, bravoQueuedAction, bravoQuickAction}
		alphaWorker := startRawWorker(t, newAPIToken(srv.URL, grpcProtocol(), tokens[auth.RoleWorker]), bravoActions, 8, receive)
		startRawWorker(t, alpha, bravoActions, 8, receive)
		b.ownWorker = alphaWorker.id
		ghost := ghostTarget(alphaWorker.id)

		// Every RPC about B's objects, as every role of A, over every protocol
		// (with -short, over one of each kind: gRPC, Connect and REST).
		protocols := servertest.Protocols()
		if testing.Short() {
			protocols = slices.DeleteFunc(protocols, func(p servertest.Protocol) bool {
				return p.Name != "grpc/h2" && p.Name != "connect-json/h1" && p.Name != "rest/h1"
			})
		}
		probes := isolationProbes()
		calls := 0
		for _, role := range auth.Roles {
			for _, p := range protocols {
				c := client{proto: p, url: srv.URL, token: tokens[role]}
				for _, pr := range probes {
					if pr.streaming && p.REST {
						continue
					}
					where := fmt.Sprintf("%s of %s, %s over %s", role, alphaTenant, pr.name, p.Name)
					got := answerOf(pr.call(ctx, c, b.target), b.target)
					want := answerOf(pr.call(ctx, c, ghost), ghost)
					calls += 2
					if got != want {
						t.Errorf("%s: about bravo's object %v, about a ghost %v: the answer tells that it exists", where, got, want)
					}
					code := connect.CodePermissionDenied
					if slices.Contains(auth.Allowed(pr.procedure), role) {
						code = pr.allowed
					}
					if got.code != code {
						t.Errorf("%s: %v, want %v", where, got, code)
					}
					// The refusal came from the handler that looked the name up,
					// not from a route that does not exist.
					if code == connect.CodeNotFound && !strings.Contains(got.message, "<") {
						t.Errorf("%s: %v does not name what was not found", where, got)
					}
				}
			}
		}

		// The probes are well formed: B's admin reaches B's objects with the
		// ones that change nothing.
		safe := []string{"GetEvent", "GetRun", "GetRun(ended)", "WatchRun", "WatchRun(ended)", "GetWorkflow", "GetWorkflow(v2)",
			"Heartbeat", "GetWebhook", "ListWebhookDeliveries", "ListTokens(tenant)"}
		for _, p := range protocols {
			c := client{proto: p, url: srv.URL, token: b.adminSecret}
			for _, pr := range probes {
				if !slices.Contains(safe, pr.name) || pr.streaming && p.REST {
					continue
				}
				if err := pr.call(ctx, c, b.target); err != nil {
					t.Errorf("bravo's admin, %s over %s: %v, want its own object", pr.name, p.Name, err)
				}
			}
		}

		// Lists never show B's objects, and do show A's own.
		own := map[string]string{
			"ListEvents": alphaEvent.Msg.GetEvent().GetId(), "ListRuns": alphaEvent.Msg.GetRunIds()[0], "ListWorkflows": "alpha-flow",
			"ListWorkers": alphaWorker.id, "ListTokens": `"alpha"`, "ListTenants": `"alpha"`,
		}
		lists := 0
		for _, role := range auth.Roles {
			for _, p := range protocols {
				c := client{proto: p, url: srv.URL, token: tokens[role]}
				for _, l := range isolationLists(b.target) {
					where := fmt.Sprintf("%s of %s, %s over %s", role, alphaTenant, l.name, p.Name)
					js, err := l.call(ctx, c)
					lists++
					if !slices.Contains(auth.Allowed(l.procedure), role) {
						if connect.CodeOf(err) != connect.CodePermissionDenied {
							t.Errorf("%s: %v, want permission_denied", where, err)
						}
						continue
					}
					if err != nil {
						t.Errorf("%s: %v", where, err)
						continue
					}
					for _, m := range markers {
						if strings.Contains(js, m) {
							t.Errorf("%s shows bravo's %q: %s", where, m, js)
						}
					}
					if want := own[l.name]; !strings.Contains(js, want) {
						t.Errorf("%s: %s does not show alpha's own %s", where, js, want)
					}
				}
			}
		}

		// A's workers have listened for B's actions all along with free slots:
		// they got nothing, while B's task waited QUEUED. Then A's own task of
		// the same action reaches them at once.
		time.Sleep(10 * fastEngine.DispatchInterval)
		putWorkflow(t, alpha, &switchyardv1.WorkflowSpec{Name: "alpha-queue", Tasks: []*switchyardv1.TaskSpec{task("wait", bravoQueuedAction)}})
		mine, err := alpha.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "alpha-queue"}))
		if err != nil {
			t.Fatal(err)
		}
		gotMine := func() bool {
			mu.Lock()
			defer mu.Unlock()
			return slices.ContainsFunc(received, func(as *switchyardv1.TaskAssignment) bool { return as.GetRunId() == mine.Msg.GetRunId() })
		}
		for deadline := time.Now().Add(10 * time.Second); !gotMine() && time.Now().Before(deadline); {
			time.Sleep(fastEngine.DispatchInterval)
		}
		if !gotMine() {
			t.Errorf("alpha's workers did not receive alpha's own %s task: dispatch to them is broken", bravoQueuedAction)
		}
		time.Sleep(10 * fastEngine.DispatchInterval)
		mu.Lock()
		for _, as := range received {
			if as.GetRunId() != mine.Msg.GetRunId() {
				t.Errorf("a worker of alpha received %s (task %s of run %s), which is not alpha's", as.GetAction(), as.GetTaskId(), as.GetRunId())
			}
		}
		mu.Unlock()
		if tk := getRun(t, b.admin, b.queuedRun).GetTasks()[0]; tk.GetStatus() != switchyardv1.TaskStatus_TASK_STATUS_QUEUED || tk.GetWorkerId() != "" {
			t.Errorf("bravo's queued task is %v (worker %q), want QUEUED for nobody", tk.GetStatus(), tk.GetWorkerId())
		}

		alphaCrossKeys(t, alpha, b, alphaEvent.Msg.GetEvent().GetId())
		alphaPutsBravoName(t, srv.URL, protocols, tokens)

		after := b.snapshot(t)
		for i := range before {
			if !proto.Equal(before[i], after[i]) {
				t.Errorf("bravo's state changed:\nbefore %s\nafter  %s", protojson.Format(before[i]), protojson.Format(after[i]))
			}
		}
		if len(after) != len(before) {
			t.Errorf("bravo's snapshot has %d parts, was %d", len(after), len(before))
		}
		t.Logf("%d protocols: %d probe calls (%d probes, bravo's and a ghost's), %d list calls, in %v",
			len(protocols), calls, len(probes), lists, time.Since(began).Round(time.Millisecond))
	})
}

// alphaCrossKeys uses B's idempotency keys and event key in A: each is A's
// own, deduplicated against nothing of B's, and B's event key starts nothing.
func alphaCrossKeys(t *testing.T, alpha *api, b *bravo, alphaEventID string) {
	t.Helper()
	ctx := context.Background()
	pushed, err := alpha.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: bravoEventKey, IdempotencyKey: bravoEventIdem}))
	if err != nil || pushed.Msg.GetDeduplicated() || pushed.Msg.GetEvent().GetId() == b.event || len(pushed.Msg.GetRunIds()) != 0 {
		t.Errorf("alpha pushes bravo's key with bravo's idempotency key: %v, %v; want a new event of alpha's that starts nothing", pushed, err)
	}
	run, err := alpha.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "alpha-flow", IdempotencyKey: bravoRunIdem}))
	if err != nil || run.Msg.GetDeduplicated() || run.Msg.GetRunId() == b.queuedRun {
		t.Errorf("alpha runs its workflow with bravo's idempotency key: %v, %v; want a new run", run, err)
	}
	replay, err := alpha.events.ReplayEvent(ctx, connect.NewRequest(&switchyardv1.ReplayEventRequest{Id: alphaEventID, IdempotencyKey: bravoReplayIdem}))
	if err != nil || replay.Msg.GetDeduplicated() || len(replay.Msg.GetRunIds()) != 1 {
		t.Errorf("alpha replays its event with bravo's idempotency key: %v, %v; want one new run", replay, err)
	}
}

// alphaPutsBravoName puts, as each role of A over each protocol, a workflow
// named and specified as B's: a role that may is given A's own version 1 (B's
// is at version 2); one that may not is refused as for any other name.
func alphaPutsBravoName(t *testing.T, url string, protocols []servertest.Protocol, tokens map[string]string) {
	t.Helper()
	put := func(c client, name string) (*switchyardv1.PutWorkflowResponse, error) {
		spec := bravoSpec("second")
		spec.Name = name
		req := &switchyardv1.PutWorkflowRequest{Spec: spec}
		if c.proto.REST {
			return restCall[switchyardv1.PutWorkflowResponse](context.Background(), c, http.MethodPost, "/v1/workflows", req)
		}
		return unary[switchyardv1.PutWorkflowRequest, switchyardv1.PutWorkflowResponse](context.Background(), c, switchyardv1connect.WorkflowServicePutWorkflowProcedure, req)
	}
	for _, role := range auth.Roles {
		for _, p := range protocols {
			c := client{proto: p, url: url, token: tokens[role]}
			where := fmt.Sprintf("%s of %s, PutWorkflow %s over %s", role, alphaTenant, bravoWorkflow, p.Name)
			res, err := put(c, bravoWorkflow)
			if !slices.Contains(auth.Allowed(switchyardv1connect.WorkflowServicePutWorkflowProcedure), role) {
				_, ghostErr := put(c, "ghost-flow")
				got, want := answerOf(err, target{workflow: bravoWorkflow}), answerOf(ghostErr, target{workflow: "ghost-flow"})
				if got.code != connect.CodePermissionDenied || got != want {
					t.Errorf("%s: %v, and for another name %v; want the same permission_denied", where, got, want)
				}
				continue
			}
			if err != nil || res.GetWorkflow().GetVersion() != 1 {
				t.Errorf("%s: %v, %v; want alpha's own version 1", where, res, err)
			}
		}
	}
}
