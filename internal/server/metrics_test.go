package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// scrape is one parsed answer of /metrics.
type scrape map[string]*dto.MetricFamily

// scrapeMetrics GETs /metrics with the token and parses the answer.
func scrapeMetrics(t *testing.T, url, token string) scrape {
	t.Helper()
	code, body := getMetrics(t, url, token)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: HTTP %d: %s", code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

func getMetrics(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := servertest.HTTP1Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

// value returns the sample of name whose labels are exactly the given name,
// value pairs: a counter's or gauge's value, a histogram's count.
func (s scrape) value(name string, labels ...string) (float64, bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// sample is one expected value in a scrape.
type sample struct {
	name   string
	labels []string
	want   float64
}

func (s sample) String() string { return fmt.Sprintf("%s%v", s.name, s.labels) }

// mismatches lists the expected samples the scrape does not have.
func (s scrape) mismatches(want []sample) []string {
	var out []string
	for _, w := range want {
		got, ok := s.value(w.name, w.labels...)
		if !ok {
			out = append(out, fmt.Sprintf("%v missing, want %v", w, w.want))
		} else if got != w.want {
			out = append(out, fmt.Sprintf("%v = %v, want %v", w, got, w.want))
		}
	}
	return out
}

// awaitMetrics scrapes until every expected sample is there (the engine tells
// its observer right after commits, which may be a moment after a client saw
// their effect) and returns the last scrape.
func awaitMetrics(t *testing.T, url string, want []sample) scrape {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := scrapeMetrics(t, url, servertest.AdminToken)
		bad := s.mismatches(want)
		if len(bad) == 0 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics after the workload:\n  %s", strings.Join(bad, "\n  "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const pushProcedure = "/switchyard.v1.EventService/PushEvent"

// TestMetricsAfterWorkload runs a workload over every protocol (a push and a
// bad push on each, a get of an unknown event over REST, a deduplicated push, a
// run that retries then succeeds, a run nobody works on), scrapes /metrics as
// Prometheus would and checks the counters, gauges and labels.
func TestMetricsAfterWorkload(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv, a := startEngineServer(t, eng)
		ctx := context.Background()
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "metered", OnEvents: []string{"metered.go"},
			Tasks: []*switchyardv1.TaskSpec{{Name: "work", Action: "metered.work", Retry: fastRetry(3)}}})
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "stalled", OnEvents: []string{"stalled.go"},
			Tasks: []*switchyardv1.TaskSpec{task("wait", "metered.nobody")}})
		startRawWorker(t, a, []string{"metered.work"}, 2, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			if as.GetAttempt() == 1 {
				if err := w.fail(as, "flaky", true); err != nil {
					t.Errorf("fail: %v", err)
				}
				return
			}
			if err := w.complete(as, map[string]any{"ok": true}); err != nil {
				t.Errorf("complete: %v", err)
			}
		})

		// One good and one bad push over every protocol.
		perProtocol := map[string]float64{}
		for _, p := range servertest.Protocols() {
			c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
			if _, err := c.push(ctx, &switchyardv1.PushEventRequest{Key: "metrics.ping"}); err != nil {
				t.Fatalf("%s: push: %v", p.Name, err)
			}
			if _, err := c.push(ctx, &switchyardv1.PushEventRequest{}); connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Fatalf("%s: push without a key: %v, want invalid_argument", p.Name, err)
			}
			perProtocol[protocolLabel(p)]++
			if p.REST {
				// An engine error (converted by the call interceptor).
				if _, err := c.get(ctx, uuid.Must(uuid.NewV7()).String()); connect.CodeOf(err) != connect.CodeNotFound {
					t.Fatalf("%s: get an unknown event: %v, want not_found", p.Name, err)
				}
			}
		}
		// A deduplicated push, and the runs: all over gRPC.
		dedupe := &switchyardv1.PushEventRequest{Key: "metrics.ping", IdempotencyKey: "metrics-once"}
		for range 2 {
			if _, err := a.events.PushEvent(ctx, connect.NewRequest(dedupe)); err != nil {
				t.Fatal(err)
			}
		}
		res, err := a.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "metered.go"}))
		if err != nil {
			t.Fatal(err)
		}
		if run := waitRun(t, a, res.Msg.GetRunIds()[0], 20*time.Second); run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
			t.Fatalf("metered run ended %v, want SUCCEEDED", run.GetStatus())
		}
		if _, err := a.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "stalled.go"})); err != nil {
			t.Fatal(err)
		}

		rpc := func(procedure, protocol, code string, want float64) sample {
			return sample{"switchyard_rpc_requests_total", []string{"procedure", procedure, "protocol", protocol, "code", code}, want}
		}
		want := []sample{
			// 4 Connect (JSON and binary over HTTP/1.1 and 2), 1 gRPC, 2
			// gRPC-Web, 2 REST; gRPC also carried the 4 pushes after them.
			rpc(pushProcedure, "connect", "ok", 4),
			rpc(pushProcedure, "grpc", "ok", 1+4),
			rpc(pushProcedure, "grpcweb", "ok", 2),
			rpc(pushProcedure, "rest", "ok", 2),
			rpc(pushProcedure, "connect", "invalid_argument", 4),
			rpc(pushProcedure, "grpc", "invalid_argument", 1),
			rpc(pushProcedure, "grpcweb", "invalid_argument", 2),
			rpc(pushProcedure, "rest", "invalid_argument", 2),
			rpc("/switchyard.v1.EventService/GetEvent", "rest", "not_found", 2),
			rpc("/switchyard.v1.WorkerService/FailTask", "grpc", "ok", 1),
			rpc("/switchyard.v1.WorkerService/CompleteTask", "grpc", "ok", 1),
			rpc("/switchyard.v1.WorkflowService/PutWorkflow", "grpc", "ok", 2),
			// A server stream, counted when it ends.
			rpc("/switchyard.v1.RunService/WatchRun", "grpc", "ok", 1),
			{"switchyard_rpc_duration_seconds", []string{"procedure", pushProcedure, "protocol", "rest"}, 4},
			{"switchyard_rpc_duration_seconds", []string{"procedure", pushProcedure, "protocol", "grpc"}, 6},

			{"switchyard_events_pushed_total", nil, 9 + 1 + 2},
			{"switchyard_events_deduplicated_total", nil, 1},
			{"switchyard_runs_started_total", []string{"workflow", "metered", "trigger", "EVENT"}, 1},
			{"switchyard_runs_started_total", []string{"workflow", "stalled", "trigger", "EVENT"}, 1},
			{"switchyard_runs_finished_total", []string{"workflow", "metered", "status", "SUCCEEDED"}, 1},
			{"switchyard_tasks_queued_total", []string{"action", "metered.work"}, 2},
			{"switchyard_tasks_queued_total", []string{"action", "metered.nobody"}, 1},
			{"switchyard_tasks_started_total", []string{"action", "metered.work"}, 2},
			{"switchyard_tasks_retried_total", []string{"action", "metered.work"}, 1},
			{"switchyard_task_queue_wait_seconds", []string{"action", "metered.work"}, 2},
			{"switchyard_trigger_to_start_seconds", []string{"action", "metered.work"}, 1},

			{"switchyard_store_stats_up", nil, 1},
			{"switchyard_queue_depth", []string{"action", "metered.nobody"}, 1},
			{"switchyard_workers_connected", nil, 1},
			{"switchyard_worker_slots", nil, 2},
			{"switchyard_worker_slots_in_use", nil, 0},
			{"go_sql_max_open_connections", []string{"db_name", "switchyard"}, float64(srv.MaxConns)},
		}
		if len(perProtocol) != 4 || perProtocol["connect"] != 4 || perProtocol["grpc"] != 1 || perProtocol["grpcweb"] != 2 || perProtocol["rest"] != 2 {
			t.Fatalf("test protocols by label: %v", perProtocol)
		}
		s := awaitMetrics(t, srv.URL, want)

		if age, ok := s.value("switchyard_queue_oldest_age_seconds", "action", "metered.nobody"); !ok || age <= 0 || age > 60 {
			t.Errorf("oldest queued age of metered.nobody: %v (present %v), want a few seconds at most", age, ok)
		}
		if _, ok := s.value("switchyard_tasks_timed_out_total", "action", "metered.work"); ok {
			t.Errorf("a timed-out count for metered.work, which never timed out")
		}
		for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "go_sql_in_use_connections", "go_sql_idle_connections", "go_sql_wait_count_total", "go_sql_wait_duration_seconds_total"} {
			if s[name] == nil {
				t.Errorf("no %s", name)
			}
		}
		// Bounded labels: only the known protocols, and no ids anywhere.
		protocols := map[string]bool{}
		for name, f := range s {
			if !strings.HasPrefix(name, "switchyard_") {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if _, err := uuid.Parse(l.GetValue()); err == nil {
						t.Errorf("%s has an id as label %s=%q", name, l.GetName(), l.GetValue())
					}
					if l.GetName() == "protocol" {
						protocols[l.GetValue()] = true
					}
				}
			}
		}
		if got := sortedKeys(protocols); strings.Join(got, ",") != "connect,grpc,grpcweb,rest" {
			t.Errorf("protocol labels %v, want connect, grpc, grpcweb and rest", got)
		}
	})
}

// protocolLabel is the protocol label a test protocol's calls get.
func protocolLabel(p servertest.Protocol) string {
	switch {
	case p.REST:
		return "rest"
	case strings.HasPrefix(p.Name, "grpc-web"):
		return "grpcweb"
	case strings.HasPrefix(p.Name, "grpc"):
		return "grpc"
	}
	return "connect"
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestMetricsNeedAdminToken checks who may scrape /metrics on the main
// listener.
func TestMetricsNeedAdminToken(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv := servertest.Start(t, eng, servertest.Options{})
		op := newAPI(srv.URL, grpcProtocol())
		if _, err := op.admin.CreateTenant(context.Background(), connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "acme"})); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			token string
			want  int
		}{
			{"", http.StatusUnauthorized},
			{"sy_unknown", http.StatusUnauthorized},
			{createToken(t, op, "", switchyardv1.Role_ROLE_PRODUCER), http.StatusForbidden},
			{createToken(t, op, "acme", switchyardv1.Role_ROLE_ADMIN), http.StatusForbidden},
			{createToken(t, op, "", switchyardv1.Role_ROLE_VIEWER), http.StatusOK},
			{servertest.AdminToken, http.StatusOK},
		} {
			code, body := getMetrics(t, srv.URL, tt.token)
			if code != tt.want {
				t.Errorf("token %q: HTTP %d, want %d (%s)", tt.token, code, tt.want, body)
			}
			if code == http.StatusOK && !strings.Contains(body, "\nswitchyard_events_pushed_total 0\n") {
				t.Errorf("token %q: the scrape has no engine metrics:\n%s", tt.token, body)
			}
		}
	})
}

// TestMetricsDBTransactions: switchyard_db_transactions_total and
// switchyard_db_statements_total count the database transactions and
// statements the server runs, each push's among them.
func TestMetricsDBTransactions(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv := servertest.Start(t, eng, servertest.Options{})
		const name = "switchyard_db_transactions_total"
		before, ok := scrapeMetrics(t, srv.URL, servertest.AdminToken).value(name)
		if !ok || before < 1 {
			t.Fatalf("%s = %v (found %v); want at least the start's transactions", name, before, ok)
		}
		const stmtsName = "switchyard_db_statements_total"
		stmtsBefore, _ := scrapeMetrics(t, srv.URL, servertest.AdminToken).value(stmtsName)
		a := newAPI(srv.URL, grpcProtocol())
		const pushes = 3
		for range pushes {
			if _, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "tx.count"})); err != nil {
				t.Fatal(err)
			}
		}
		after, _ := scrapeMetrics(t, srv.URL, servertest.AdminToken).value(name)
		if after < before+pushes {
			t.Errorf("%s went from %v to %v over %d pushes; want at least %v", name, before, after, pushes, before+pushes)
		}
		// Each push's transaction is at least its insert's statement.
		stmtsAfter, ok := scrapeMetrics(t, srv.URL, servertest.AdminToken).value(stmtsName)
		if !ok || stmtsAfter < stmtsBefore+pushes {
			t.Errorf("%s went from %v to %v (found %v) over %d pushes; want at least %v", stmtsName, stmtsBefore, stmtsAfter, ok, pushes, stmtsBefore+pushes)
		}
	})
}
