package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// Fuzz inputs name the fixtures of their server by these placeholder ids, which
// fuzzEnv replaces with the real ones before sending. Real ids are made by the
// server (UUIDv7) and differ in every process, so the corpus cannot hold them;
// a placeholder has the length of a UUID, so replacing it keeps binary
// messages well formed.
const (
	fzEvent    = "0f0f0f0f-0000-7000-8000-00000000000e" // a stored event
	fzRun      = "0f0f0f0f-0000-7000-8000-00000000000a" // a queued run
	fzEndedRun = "0f0f0f0f-0000-7000-8000-00000000000c" // a cancelled run
	fzWorker   = "0f0f0f0f-0000-7000-8000-000000000001" // a registered worker
	fzTask     = "0f0f0f0f-0000-7000-8000-000000000007" // an attempt (1) of fzWorker in the task targets, else a queued task
	fzWebhook  = "0f0f0f0f-0000-7000-8000-000000000008" // a webhook
	fzToken    = "0f0f0f0f-0000-7000-8000-000000000009" // a producer token
)

// Fixture names: workflows are named by their callers, so no placeholder.
const (
	fzFlow = "fuzz-flow" // triggered by fuzz.* events; two tasks of action fuzz.flow
	fzJob  = "fuzz-task" // manual only; one task of action fuzz.task, which fzWorker serves
	// fzTenant is a tenant the inputs may change (changing the default
	// tenant's rate limit would throttle the rest of the target).
	fzTenant = "fuzz-tenant"
)

// fuzzCallTimeout bounds one call: a call that takes longer hangs.
const fuzzCallTimeout = 10 * time.Second

// fuzzEnv is the server a fuzz target sends every input to, started once per
// target (per process when fuzzing), with its fixtures and the oracle.
type fuzzEnv struct {
	srv *servertest.Server
	log *fuzzLog
	api *api
	// json, binary and rest send raw bodies.
	json, binary, rest client
	admin              switchyardv1connect.AdminServiceClient
	ids                map[string]string // placeholder → real id
	// work receives the assignments of fzWorker's stream in the task targets.
	work chan *switchyardv1.TaskAssignment
}

// newFuzzEnv starts a SQLite server whose background work (dispatch polling,
// reaping, scheduling, pruning) waits an hour, so that between calls nothing
// but the calls writes, and creates the fixtures. withWorker also opens
// fzWorker's Listen stream and gives it fzTask.
func newFuzzEnv(t testing.TB, withWorker bool) *fuzzEnv {
	t.Helper()
	log := &fuzzLog{}
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{
		Logger: slog.New(log),
		Engine: engine.Config{
			DispatchInterval:  time.Hour,
			ReapInterval:      time.Hour,
			ScheduleInterval:  time.Hour,
			RetentionInterval: time.Hour,
		},
	})
	installChangeCounter(t, srv.Store)
	e := &fuzzEnv{srv: srv, log: log, ids: map[string]string{}}
	for _, p := range servertest.Protocols() {
		c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
		switch p.Name {
		case "connect-json/h1":
			e.json = c
		case "connect-proto/h1":
			e.binary = c
			e.api = newAPI(srv.URL, p)
			e.admin = switchyardv1connect.NewAdminServiceClient(p.HTTP, srv.URL, c.options()...)
		case "rest/h1":
			e.rest = c
		}
	}
	e.createFixtures(t)
	if withWorker {
		e.listen(t)
		e.nextTask(t)
	}
	return e
}

// createFixtures makes what the placeholders and fixture names stand for.
func (e *fuzzEnv) createFixtures(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("fuzz fixture: %s: %v", what, err)
		}
	}
	e.putFlow(t)
	_, err := e.api.workflows.PutWorkflow(ctx, connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{
		Name: fzJob,
		// Retries wait an hour: no retry is due while fuzzing.
		Tasks:       []*switchyardv1.TaskSpec{{Name: "job", Action: "fuzz.task", Retry: &switchyardv1.RetryPolicy{MaxAttempts: 2, InitialBackoff: durationpb.New(time.Hour), MaxBackoff: durationpb.New(time.Hour)}}},
		Concurrency: &switchyardv1.ConcurrencyRule{Key: "payload.customer", MaxRuns: 10000},
	}}))
	must("put "+fzJob, err)
	pushed, err := e.api.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{
		Key: "fuzz.created", Payload: fuzzStruct(map[string]any{"amount": 250, "customer": "c1"}),
		Metadata: map[string]string{"region": "eu"}, Scope: "fuzz",
	}))
	must("push", err)
	e.ids[fzEvent] = pushed.Msg.GetEvent().GetId()
	if len(pushed.Msg.GetRunIds()) != 1 {
		t.Fatalf("fuzz fixture: push started runs %v, want one", pushed.Msg.GetRunIds())
	}
	e.ids[fzRun] = pushed.Msg.GetRunIds()[0]
	run, err := e.api.runs.GetRun(ctx, connect.NewRequest(&switchyardv1.GetRunRequest{Id: e.ids[fzRun]}))
	must("get run", err)
	e.ids[fzTask] = run.Msg.GetRun().GetTasks()[0].GetId()
	e.newEndedRun(t)
	reg, err := e.api.workers.RegisterWorker(ctx, connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: "fuzz-worker", Actions: []string{"fuzz.task"}, Slots: 4}))
	must("register worker", err)
	e.ids[fzWorker] = reg.Msg.GetWorkerId()
	e.newWebhook(t)
	e.newToken(t)
	_, err = e.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: fzTenant}))
	must("create tenant", err)
}

// putFlow puts fzFlow (again).
func (e *fuzzEnv) putFlow(t testing.TB) {
	t.Helper()
	_, err := e.api.workflows.PutWorkflow(context.Background(), connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{
		Name:     fzFlow,
		OnEvents: []string{"fuzz.*"},
		EventTriggers: []*switchyardv1.EventTrigger{
			{Key: "fuzz.filtered.**", Filter: `payload.amount > 100 && metadata.region == "eu"`},
			{Key: "fuzz.scoped", Scope: "fuzz"},
		},
		Tasks: []*switchyardv1.TaskSpec{{Name: "a", Action: "fuzz.flow"}, {Name: "b", Action: "fuzz.flow", Parents: []string{"a"}}},
	}}))
	if err != nil {
		t.Fatalf("fuzz fixture: put %s: %v", fzFlow, err)
	}
}

// newActiveRun makes fzRun a new queued run of fzFlow.
func (e *fuzzEnv) newActiveRun(t testing.TB) {
	t.Helper()
	res, err := e.api.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: fzFlow}))
	if err != nil {
		t.Fatalf("fuzz fixture: run %s: %v", fzFlow, err)
	}
	e.ids[fzRun] = res.Msg.GetRunId()
}

// newEndedRun makes fzEndedRun a new cancelled run of fzFlow.
func (e *fuzzEnv) newEndedRun(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	res, err := e.api.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: fzFlow, Input: fuzzStruct(map[string]any{"n": 1})}))
	if err != nil {
		t.Fatalf("fuzz fixture: run %s: %v", fzFlow, err)
	}
	if _, err := e.api.runs.CancelRun(ctx, connect.NewRequest(&switchyardv1.CancelRunRequest{Id: res.Msg.GetRunId(), Reason: "fixture"})); err != nil {
		t.Fatalf("fuzz fixture: cancel: %v", err)
	}
	e.ids[fzEndedRun] = res.Msg.GetRunId()
}

// newWebhook makes fzWebhook a new webhook.
func (e *fuzzEnv) newWebhook(t testing.TB) {
	t.Helper()
	res, err := e.api.webhooks.CreateWebhook(context.Background(), connect.NewRequest(&switchyardv1.CreateWebhookRequest{Settings: &switchyardv1.WebhookSettings{
		Name: "fuzz-hook", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_GITHUB,
		KeyExpression: `"fuzz." + headers["x-github-event"]`, ScopeExpression: `body.repository.full_name`,
	}}))
	if err != nil {
		t.Fatalf("fuzz fixture: create webhook: %v", err)
	}
	e.ids[fzWebhook] = res.Msg.GetWebhook().GetId()
}

// newToken makes fzToken a new producer token.
func (e *fuzzEnv) newToken(t testing.TB) {
	t.Helper()
	res, err := e.admin.CreateToken(context.Background(), connect.NewRequest(&switchyardv1.CreateTokenRequest{Role: switchyardv1.Role_ROLE_PRODUCER, Name: "fuzz"}))
	if err != nil {
		t.Fatalf("fuzz fixture: create token: %v", err)
	}
	e.ids[fzToken] = res.Msg.GetToken().GetId()
}

// listen opens fzWorker's stream for the rest of the target and passes its
// assignments to e.work.
func (e *fuzzEnv) listen(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := e.api.workers.Listen(ctx, connect.NewRequest(&switchyardv1.ListenRequest{WorkerId: e.ids[fzWorker]}))
	if err != nil {
		cancel()
		t.Fatalf("fuzz fixture: listen: %v", err)
	}
	e.work = make(chan *switchyardv1.TaskAssignment, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer stream.Close()
		for stream.Receive() {
			if as := stream.Msg().GetAssignment(); as != nil {
				e.work <- as
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// nextTask makes fzTask a new attempt 1 of fzWorker: a manual run of fzJob,
// assigned through the worker's stream.
func (e *fuzzEnv) nextTask(t testing.TB) {
	t.Helper()
	// The fixture worker heartbeats only here; a worker silent for three
	// heartbeat intervals gets no work.
	if _, err := e.api.workers.Heartbeat(context.Background(), connect.NewRequest(&switchyardv1.HeartbeatRequest{WorkerId: e.ids[fzWorker]})); err != nil {
		t.Fatalf("fuzz fixture: heartbeat: %v", err)
	}
	_, err := e.api.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: fzJob, Input: fuzzStruct(map[string]any{"customer": "c1"})}))
	if err != nil {
		t.Fatalf("fuzz fixture: run %s: %v", fzJob, err)
	}
	select {
	case as := <-e.work:
		e.ids[fzTask] = as.GetTaskId()
	case <-time.After(5 * time.Second):
		t.Fatalf("fuzz fixture: no assignment for fuzz-worker within 5s")
	}
}

// withIDs returns b with every placeholder replaced by its fixture's id.
func (e *fuzzEnv) withIDs(b []byte) []byte {
	for ph, id := range e.ids {
		b = bytes.ReplaceAll(b, []byte(ph), []byte(id))
	}
	return b
}

// check makes one call and applies the oracle: the call answers within
// fuzzCallTimeout with a code other than internal or unknown, the server logs
// nothing at error level (panics and internal errors are logged there), and a
// call that fails leaves every table as it was. It returns whether the call
// succeeded.
func (e *fuzzEnv) check(t *testing.T, what string, stream bool, call func(ctx context.Context) error) bool {
	t.Helper()
	o := e.observe(t, stream, call)
	problems := o.problems
	switch code := connect.CodeOf(o.err); {
	case o.err == nil:
	case errors.Is(o.err, servertest.ErrNoCode):
		problems = append(problems, fmt.Sprintf("no answer: %v", o.err))
	case code == connect.CodeInternal || code == connect.CodeUnknown:
		problems = append(problems, fmt.Sprintf("%s: %v", code, o.err))
	case code == connect.CodeDeadlineExceeded || code == connect.CodeCanceled:
		problems = append(problems, fmt.Sprintf("no answer within %s: %v", fuzzCallTimeout, o.err))
	}
	if o.err != nil && len(o.changed) > 0 {
		problems = append(problems, fmt.Sprintf("failed with %s, yet changed stored rows: %v", connect.CodeOf(o.err), o.changed))
	}
	judge(t, what, problems)
	return o.err == nil
}

// outcome is what one call did.
type outcome struct {
	err      error
	changed  map[string]int64 // rows inserted, updated or deleted, per table
	problems []string         // what the server did wrong, whatever it answered
}

// observe makes one call and returns its outcome. Problems are anything the
// server logged at error level meanwhile, and a stream's handler that does
// not end soon after the client closed the stream.
func (e *fuzzEnv) observe(t *testing.T, stream bool, call func(ctx context.Context) error) outcome {
	t.Helper()
	before, mark := e.changes(t), e.log.mark()
	ctx, cancel := context.WithTimeout(context.Background(), fuzzCallTimeout)
	o := outcome{err: call(ctx), changed: map[string]int64{}}
	cancel()
	// A stream's handler may still be cleaning up (a Listen stream records
	// its end) after the client closed; it logs when done.
	if stream && !e.log.waitCalls(mark, 5*time.Second) {
		o.problems = append(o.problems, "the handler was still running 5s after the client closed the stream")
	}
	after := e.changes(t)
	for _, line := range e.log.errorsSince(mark) {
		o.problems = append(o.problems, "the server logged an error: "+line)
	}
	for table, n := range after {
		if d := n - before[table]; d != 0 {
			o.changed[table] = d
		}
	}
	return o
}

// judge fails t with the problems of an input.
func judge(t *testing.T, what string, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Errorf("%s: %s", what, p)
	}
}

// changes returns how many rows of each table have been inserted, updated or
// deleted.
func (e *fuzzEnv) changes(t testing.TB) map[string]int64 {
	t.Helper()
	var rows []struct {
		Tbl string
		N   int64
	}
	if err := e.srv.Store.DB().NewRaw("SELECT tbl, n FROM fuzz_changes").Scan(context.Background(), &rows); err != nil {
		t.Fatalf("read the change counters: %v", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Tbl] = r.N
	}
	return out
}

// bookkeeping are the columns a call may write even when it fails: a token's
// last use is recorded by authentication, before the call is decided.
var bookkeeping = map[string][]string{"api_tokens": {"last_used_at"}}

// installChangeCounter adds triggers to every table of st (SQLite) that count
// the rows inserted, updated or deleted in it, in fuzz_changes. Triggers run
// inside the writing transaction, so what a transaction rolls back is not
// counted.
func installChangeCounter(t testing.TB, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	db := st.DB()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("install the change counter: %s: %v", q, err)
		}
	}
	exec("CREATE TABLE fuzz_changes (tbl TEXT PRIMARY KEY, n INTEGER NOT NULL)")
	var tables []string
	if err := db.NewRaw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'bun_%' AND name <> 'fuzz_changes'").Scan(ctx, &tables); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	if len(tables) < 5 {
		t.Fatalf("only tables %v: not the store's schema", tables)
	}
	for _, table := range tables {
		var cols []string
		if err := db.NewRaw("SELECT name FROM pragma_table_info(?)", table).Scan(ctx, &cols); err != nil {
			t.Fatalf("columns of %s: %v", table, err)
		}
		var watched []string
		for _, c := range cols {
			if !slices.Contains(bookkeeping[table], c) {
				watched = append(watched, `"`+c+`"`)
			}
		}
		exec("INSERT INTO fuzz_changes (tbl, n) VALUES (?, 0)", table)
		for i, event := range []string{"INSERT", "DELETE", "UPDATE OF " + strings.Join(watched, ", ")} {
			exec(fmt.Sprintf(`CREATE TRIGGER "fuzz_%s_%d" AFTER %s ON "%s" BEGIN UPDATE fuzz_changes SET n = n + 1 WHERE tbl = '%s'; END`, table, i, event, table, table))
		}
	}
}

// rawStream opens a server stream with body exactly as given and reads its
// first message.
func (c client) rawStream(ctx context.Context, procedure string, body []byte) error {
	codec := &rawCodec{name: "proto", body: body}
	if isJSON(c.proto) {
		codec.name = "json"
	}
	cl := connect.NewClient[rawMessage, emptypb.Empty](c.proto.HTTP, c.url+procedure, c.options(connect.WithCodec(codec))...)
	stream, err := cl.CallServerStream(ctx, connect.NewRequest(&rawMessage{}))
	if err != nil {
		return err
	}
	defer stream.Close()
	if stream.Receive() {
		return nil
	}
	return stream.Err()
}

// restRaw sends body exactly as given with method to path.
func (c client) restRaw(ctx context.Context, method, path string, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	_, err := restDo[emptypb.Empty](ctx, c, method, path, body)
	return err
}

// fuzzLog is a fuzz server's log handler: it counts the calls logged (one line
// each, when the call ends) and keeps every record at error level.
type fuzzLog struct {
	mu     sync.Mutex
	calls  int
	errors []string
	grew   chan struct{} // closed and replaced when calls grows
}

// logMark is a point in a fuzzLog.
type logMark struct{ calls, errors int }

func (l *fuzzLog) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelInfo }

func (l *fuzzLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Message == "rpc" {
		l.calls++
		if l.grew != nil {
			close(l.grew)
			l.grew = nil
		}
	}
	if r.Level >= slog.LevelError {
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
			return true
		})
		l.errors = append(l.errors, b.String())
	}
	return nil
}

func (l *fuzzLog) WithAttrs([]slog.Attr) slog.Handler { return l }

func (l *fuzzLog) WithGroup(string) slog.Handler { return l }

func (l *fuzzLog) mark() logMark {
	l.mu.Lock()
	defer l.mu.Unlock()
	return logMark{calls: l.calls, errors: len(l.errors)}
}

func (l *fuzzLog) errorsSince(m logMark) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errors[m.errors:]...)
}

// waitCalls waits until a call ended after m.
func (l *fuzzLog) waitCalls(m logMark, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		if l.calls > m.calls {
			l.mu.Unlock()
			return true
		}
		if l.grew == nil {
			l.grew = make(chan struct{})
		}
		grew := l.grew
		l.mu.Unlock()
		select {
		case <-grew:
		case <-deadline:
			return false
		}
	}
}

func fuzzStruct(m map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	if err != nil {
		panic(err)
	}
	return s
}
