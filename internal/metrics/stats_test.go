package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/metrics"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// value returns the value of the sample of name with the given labels (name,
// value pairs; all of the sample's labels), and whether there is one.
func value(t *testing.T, m *metrics.Metrics, name string, labels ...string) (float64, bool) {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if !sameLabels(s.GetLabel(), labels) {
				continue
			}
			switch {
			case s.Counter != nil:
				return s.GetCounter().GetValue(), true
			case s.Gauge != nil:
				return s.GetGauge().GetValue(), true
			case s.Histogram != nil:
				return float64(s.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func sameLabels(got []*dto.LabelPair, want []string) bool {
	if len(got)*2 != len(want) {
		return false
	}
	for i := 0; i < len(want); i += 2 {
		found := false
		for _, l := range got {
			if l.GetName() == want[i] && l.GetValue() == want[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestStoreGauges fills a database with queued, waiting and running tasks of
// two tenants and connected and gone workers, and checks the gauges read at a
// scrape.
func TestStoreGauges(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			st := eng.Open(t, store.Config{})
			now := time.UnixMicro(1_800_000_000_000_000)
			us := func(d time.Duration) int64 { return now.Add(d).UnixMicro() }
			m := metrics.New(metrics.Config{Pool: st.Pool(), Now: func() time.Time { return now }})
			m.CollectStats(engine.New(engine.Config{Store: st}))

			ctx := context.Background()
			if _, err := st.DB().ExecContext(ctx, "INSERT INTO tenants (tenant_id, name, created_at) VALUES ('other', 'other', 0)"); err != nil {
				t.Fatal(err)
			}
			input, err := store.ObjectOf(nil)
			if err != nil {
				t.Fatal(err)
			}
			runs := []*store.Run{
				{ID: "r1", TenantID: store.DefaultTenant, WorkflowName: "wf", WorkflowVersion: 1, Status: store.RunActive, Input: input, TriggerKind: store.TriggerEvent},
				{ID: "r2", TenantID: "other", WorkflowName: "wf", WorkflowVersion: 1, Status: store.RunActive, Input: input, TriggerKind: store.TriggerEvent},
			}
			task := func(id, run, action, status, worker string, availableAt int64) *store.Task {
				tenant := store.DefaultTenant
				if run == "r2" {
					tenant = "other"
				}
				return &store.Task{ID: id, TenantID: tenant, RunID: run, Name: id, Action: action, Parents: store.JSONOf([]string{}), Status: status,
					MaxAttempts: 1, WorkerID: worker, AvailableAt: store.TimeMicros(availableAt), CreatedAt: store.TimeMicros(us(-time.Minute))}
			}
			tasks := []*store.Task{
				task("t1", "r1", "img.resize", store.TaskQueued, "", us(-10*time.Second)),
				task("t2", "r1", "img.resize", store.TaskQueued, "", us(-4*time.Second)),
				task("t3", "r1", "img.resize", store.TaskQueued, "", us(time.Minute)), // backing off: not ready
				task("t4", "r1", "img.resize", store.TaskRunning, "w1", us(-time.Minute)),
				task("t5", "r1", "img.publish", store.TaskPending, "", 0),
				task("t6", "r2", "img.publish", store.TaskQueued, "", us(-1500*time.Millisecond)),
				task("t7", "r2", "img.publish", store.TaskRunning, "w3", us(-time.Minute)), // on a gone worker
			}
			workers := []*store.Worker{
				{ID: "w1", TenantID: store.DefaultTenant, Name: "a", Actions: store.JSONOf([]string{}), Slots: 4, Labels: store.JSONOf(map[string]string{}), Connected: true},
				{ID: "w2", TenantID: "other", Name: "b", Actions: store.JSONOf([]string{}), Slots: 2, Labels: store.JSONOf(map[string]string{}), Connected: true},
				{ID: "w3", TenantID: "other", Name: "c", Actions: store.JSONOf([]string{}), Slots: 8, Labels: store.JSONOf(map[string]string{}), Connected: false},
			}
			err = st.Write(ctx, func(ctx context.Context, q store.Q) error {
				if _, err := q.RunInsertMany(ctx, runs); err != nil {
					return err
				}
				if err := q.TaskInsertMany(ctx, tasks); err != nil {
					return err
				}
				for _, w := range workers {
					if err := q.WorkerInsert(ctx, w); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}

			const want = `
# HELP switchyard_queue_depth Tasks ready and waiting for a worker (QUEUED, backoff passed), by action.
# TYPE switchyard_queue_depth gauge
switchyard_queue_depth{action="img.publish"} 1
switchyard_queue_depth{action="img.resize"} 2
# HELP switchyard_queue_oldest_age_seconds How long the longest-waiting ready task has waited, by action (0 when none waits).
# TYPE switchyard_queue_oldest_age_seconds gauge
switchyard_queue_oldest_age_seconds{action="img.publish"} 1.5
switchyard_queue_oldest_age_seconds{action="img.resize"} 10
# HELP switchyard_store_stats_up 1 if the queue and worker gauges could be read from the database at this scrape, else 0.
# TYPE switchyard_store_stats_up gauge
switchyard_store_stats_up 1
# HELP switchyard_worker_slots Task slots of the connected workers.
# TYPE switchyard_worker_slots gauge
switchyard_worker_slots 6
# HELP switchyard_worker_slots_in_use Tasks running on the connected workers.
# TYPE switchyard_worker_slots_in_use gauge
switchyard_worker_slots_in_use 1
# HELP switchyard_workers_connected Workers with an open Listen stream.
# TYPE switchyard_workers_connected gauge
switchyard_workers_connected 2
`
			names := []string{"switchyard_queue_depth", "switchyard_queue_oldest_age_seconds", "switchyard_store_stats_up",
				"switchyard_worker_slots", "switchyard_worker_slots_in_use", "switchyard_workers_connected"}
			if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
				t.Fatal(err)
			}

			// Drained queues say 0 rather than vanish.
			if _, err := st.DB().ExecContext(ctx, "UPDATE tasks SET status = 'SUCCEEDED' WHERE status = 'QUEUED'"); err != nil {
				t.Fatal(err)
			}
			for _, action := range []string{"img.resize", "img.publish"} {
				depth, ok := value(t, m, "switchyard_queue_depth", "action", action)
				age, _ := value(t, m, "switchyard_queue_oldest_age_seconds", "action", action)
				if !ok || depth != 0 || age != 0 {
					t.Errorf("drained %s: depth %v (present %v), age %v; want 0 and 0", action, depth, ok, age)
				}
			}

			wantMax := 16.0
			if !st.Postgres() {
				wantMax = 1
			}
			if got, ok := value(t, m, "go_sql_max_open_connections", "db_name", "switchyard"); !ok || got != wantMax {
				t.Errorf("go_sql_max_open_connections = %v (present %v), want %v", got, ok, wantMax)
			}
		})
	}
}

// TestStoreGaugesWhenTheDatabaseFails checks that a scrape still answers, with
// the Go and pool metrics, and says the gauges are missing.
func TestStoreGaugesWhenTheDatabaseFails(t *testing.T) {
	t.Parallel()
	st := storetest.Engines(t)[0].Open(t, store.Config{})
	m := metrics.New(metrics.Config{Pool: st.Pool()})
	m.CollectStats(engine.New(engine.Config{Store: st}))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("scrape: HTTP %d, want 200", res.StatusCode)
	}
	for _, want := range []string{"\nswitchyard_store_stats_up 0\n", "\ngo_goroutines ", "go_sql_open_connections{db_name=\"switchyard\"} 0\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(string(body), "switchyard_workers_connected") {
		t.Errorf("scrape has worker gauges it could not read")
	}
}
