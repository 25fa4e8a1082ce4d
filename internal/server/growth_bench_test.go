package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// growthEnv opts in to BenchmarkDataGrowth and says how many events and ended
// runs it stores (1000000 in `make bench-growth`).
const growthEnv = "SWITCHYARD_BENCH_GROWTH"

// BenchmarkDataGrowth measures what stored data costs, on every database
// engine: push throughput (PushEvent from 32 clients, and BulkPushEvents) and
// the p50 latency of list pages of each filter shape, on two servers side by
// side: one on an almost empty database, one on a database where SQL of its own
// stored n events and n ended runs (one task each), measured once the server
// refreshed the planner statistics on its own (no manual ANALYZE). It
// reports both and their ratios, and logs each
// table's size in bytes per row and, on Postgres, each list query's plan. It
// takes minutes, so it runs only when SWITCHYARD_BENCH_GROWTH is set to n.
func BenchmarkDataGrowth(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv(growthEnv))
	if n <= 0 {
		b.Skipf("%s is not set: no data growth benchmark", growthEnv)
	}
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			var runs atomic.Int64
			empty, full := newGrowthServer(b, eng), newGrowthServer(b, eng)
			start := time.Now()
			growthLoad(b, full.srv.Store, n)
			b.Logf("stored %d events and %d ended runs in %s", n, n, time.Since(start).Round(time.Second))
			if full.srv.Store.Postgres() {
				waitAnalyzed(b, full.srv.Store)
			}
			// The machine is shared: the two servers are measured in turns,
			// and the median of the rounds compared.
			const rounds = 3
			var e, f []map[string]float64
			for range rounds {
				e = append(e, empty.measure(b, &runs))
				f = append(f, full.measure(b, &runs))
			}
			median := func(ms []map[string]float64, name string) float64 {
				var xs []float64
				for _, m := range ms {
					xs = append(xs, m[name])
				}
				slices.Sort(xs)
				return xs[len(xs)/2]
			}
			for _, m := range []string{"push/s", "bulk/s"} {
				b.ReportMetric(median(e, m), "empty-"+m)
				b.ReportMetric(median(f, m), "full-"+m)
				b.ReportMetric(median(f, m)/median(e, m), "ratio-"+m)
			}
			for _, s := range listShapes {
				b.ReportMetric(median(f, s.name), s.name+"-p50-ms")
				b.Logf("%-24s p50 %6.2f ms empty, %6.2f ms with %d rows", s.name, median(e, s.name), median(f, s.name), n)
			}
			growthSizes(b, full.srv.Store)
			if full.srv.Store.Postgres() {
				growthPlans(b, full.srv.Store)
			}
		})
	}
}

// growthServer is a server of BenchmarkDataGrowth and its clients.
type growthServer struct {
	srv *servertest.Server
	a   *api
	c   client
}

// newGrowthServer starts a server on eng with the workflow that a tenth of
// bulkAll's events start.
func newGrowthServer(b *testing.B, eng storetest.Engine) *growthServer {
	// Warnings (a background loop's failure, say) go to the output.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// On a loaded machine SQLite's one connection may be busy for longer than
	// the default wait of 5 s; this measures throughput, not overload.
	srv := servertest.Start(b, eng, servertest.Options{Logger: logger, Store: store.Config{AcquireTimeout: time.Minute}})
	g := &growthServer{srv: srv, a: newAPI(srv.URL, grpcProtocol()), c: client{proto: grpcProtocol(), url: srv.URL, token: servertest.AdminToken}}
	putWorkflow(b, g.a, &switchyardv1.WorkflowSpec{Name: "bulkbench", OnEvents: []string{"bulk.hit"}, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")}})
	return g
}

// listShape is one list call of a given filter shape and the SQL the store
// runs for it (for EXPLAIN).
type listShape struct {
	name string
	call func(ctx context.Context, a *api) error
	sql  string
}

var listShapes = []listShape{
	{"events", func(ctx context.Context, a *api) error {
		_, err := a.events.ListEvents(ctx, connect.NewRequest(&switchyardv1.ListEventsRequest{}))
		return err
	}, "SELECT * FROM events WHERE tenant_id = 'default' ORDER BY id DESC LIMIT 51"},
	{"events-key", func(ctx context.Context, a *api) error {
		_, err := a.events.ListEvents(ctx, connect.NewRequest(&switchyardv1.ListEventsRequest{Key: "growth.k7"}))
		return err
	}, "SELECT * FROM events WHERE tenant_id = 'default' AND key = 'growth.k7' ORDER BY id DESC LIMIT 51"},
	{"events-key-none", func(ctx context.Context, a *api) error {
		_, err := a.events.ListEvents(ctx, connect.NewRequest(&switchyardv1.ListEventsRequest{Key: "growth.none"}))
		return err
	}, "SELECT * FROM events WHERE tenant_id = 'default' AND key = 'growth.none' ORDER BY id DESC LIMIT 51"},
	{"runs", func(ctx context.Context, a *api) error {
		_, err := a.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{}))
		return err
	}, "SELECT * FROM runs WHERE tenant_id = 'default' ORDER BY id DESC LIMIT 51"},
	{"runs-workflow", func(ctx context.Context, a *api) error {
		_, err := a.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{Workflow: "growth3"}))
		return err
	}, "SELECT * FROM runs WHERE tenant_id = 'default' AND workflow_name = 'growth3' ORDER BY id DESC LIMIT 51"},
	{"runs-failed", func(ctx context.Context, a *api) error {
		_, err := a.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{Status: switchyardv1.RunStatus_RUN_STATUS_FAILED}))
		return err
	}, "SELECT * FROM runs WHERE tenant_id = 'default' AND status = 'FAILED' ORDER BY id DESC LIMIT 51"},
	{"runs-workflow-cancelled", func(ctx context.Context, a *api) error {
		_, err := a.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{Workflow: "growth3", Status: switchyardv1.RunStatus_RUN_STATUS_CANCELLED}))
		return err
	}, "SELECT * FROM runs WHERE tenant_id = 'default' AND workflow_name = 'growth3' AND status = 'CANCELLED' ORDER BY id DESC LIMIT 51"},
	{"runs-queued", func(ctx context.Context, a *api) error {
		_, err := a.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{Status: switchyardv1.RunStatus_RUN_STATUS_QUEUED}))
		return err
	}, "SELECT * FROM runs AS run WHERE tenant_id = 'default' AND status = 'ACTIVE' AND NOT EXISTS (SELECT 1 FROM tasks AS t WHERE t.run_id = run.id AND t.status = 'RUNNING') ORDER BY id DESC LIMIT 51"},
	{"runs-workflow-queued", func(ctx context.Context, a *api) error {
		_, err := a.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{Workflow: "bulkbench", Status: switchyardv1.RunStatus_RUN_STATUS_QUEUED}))
		return err
	}, "SELECT * FROM runs AS run WHERE tenant_id = 'default' AND workflow_name = 'bulkbench' AND status = 'ACTIVE' AND NOT EXISTS (SELECT 1 FROM tasks AS t WHERE t.run_id = run.id AND t.status = 'RUNNING') ORDER BY id DESC LIMIT 51"},
}

// measure measures push throughput and the p50 latency of each list shape, by
// name ("push/s", "bulk/s", and each listShape's).
func (g *growthServer) measure(b *testing.B, runs *atomic.Int64) map[string]float64 {
	a, c := g.a, g.c
	b.Helper()
	out := map[string]float64{}
	const pushes = 4000
	if err := pushAll(b, c, 32, 64, fmt.Sprintf("growthwarm%d", runs.Add(1)), nil); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := pushAll(b, c, 32, pushes, fmt.Sprintf("growth%d", runs.Add(1)), nil); err != nil {
		b.Fatal(err)
	}
	out["push/s"] = pushes / time.Since(start).Seconds()
	const calls = 20
	start = time.Now()
	if err := bulkAll(b, c, 10, calls, fmt.Sprintf("growth%d", runs.Add(1))); err != nil {
		b.Fatal(err)
	}
	out["bulk/s"] = calls * bulkSize / time.Since(start).Seconds()
	for _, s := range listShapes {
		lat := make([]time.Duration, 21)
		for i := range lat {
			t0 := time.Now()
			if err := s.call(b.Context(), a); err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
			lat[i] = time.Since(t0)
		}
		slices.Sort(lat)
		out[s.name] = percentile(lat, 50)
	}
	return out
}

// growthLoad stores n events of 100 keys (growth.k0…), each with an
// idempotency key, and n ended runs of 20 workflows (growth0…; a tenth
// FAILED, a fiftieth CANCELLED, the rest SUCCEEDED) with one task each, older
// than anything pushed, in a few multi-row statements.
func growthLoad(b *testing.B, st *store.Store, n int) {
	b.Helper()
	now := time.Now().Add(-time.Hour).UnixMicro()
	var series, hex string
	if st.Postgres() {
		series = "SELECT i FROM generate_series(%d, %d) AS s(i)"
		hex = "lpad(to_hex(i), 12, '0')"
	} else {
		series = "WITH RECURSIVE s(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM s WHERE i < %d) SELECT i FROM s"
		hex = "printf('%012x', i)"
	}
	id := func(kind string) string { return "'00000000-0000-7000-" + kind + "-' || " + hex }
	t := func(offset string) string { return fmt.Sprintf("(%d - (%d - i) * 1000%s)", now, n, offset) }
	stmts := []string{
		`INSERT INTO events (id, tenant_id, key, payload, metadata, scope, priority, occurred_at, created_at, idempotency_key, skipped)
		SELECT ` + id("8000") + `, 'default', 'growth.k' || (i % 100), '{"n":' || i || ',"user_id":"user-' || (i % 1000) || '"}', '{}', '', 0, ` + t("") + `, ` + t("") + `, 'growth-load-' || i, '[]' FROM (%s) AS s`,
		`INSERT INTO runs (id, tenant_id, workflow_name, workflow_version, status, event_id, input, priority, created_at, updated_at, finished_at, trigger_kind)
		SELECT ` + id("9000") + `, 'default', 'growth' || (i % 20), 1,
			CASE WHEN (i / 20) % 50 = 0 THEN 'CANCELLED' WHEN (i / 20) % 10 = 0 THEN 'FAILED' ELSE 'SUCCEEDED' END,
			` + id("8000") + `, '{"n":' || i || '}', 0, ` + t("") + `, ` + t(" + 500") + `, ` + t(" + 500") + `, 'EVENT' FROM (%s) AS s`,
		`INSERT INTO tasks (id, tenant_id, run_id, name, action, parents, status, attempt, max_attempts, initial_backoff_ms, max_backoff_ms, timeout_ms, available_at, started_at, finished_at, created_at)
		SELECT ` + id("a000") + `, 'default', ` + id("9000") + `, 't', 'nobody', '[]', 'SUCCEEDED', 1, 1, 1000, 60000, 60000, ` + t("") + `, ` + t(" + 100") + `, ` + t(" + 500") + `, ` + t("") + ` FROM (%s) AS s`,
	}
	// Statements of 50,000 rows stay within the driver's read timeout.
	const chunk = 50_000
	for _, q := range stmts {
		for lo := 1; lo <= n; lo += chunk {
			sql := strings.Replace(q, "%s", fmt.Sprintf(series, lo, min(n, lo+chunk-1)), 1)
			if _, err := st.DB().ExecContext(b.Context(), sql); err != nil {
				b.Fatalf("load: %v\n%s", err, sql)
			}
		}
	}
}

// waitAnalyzed waits until the server refreshed the planner statistics of
// the events, runs and tasks tables on its own (engine.Config.StatsInterval,
// a minute), at most 150 s, and logs how long that took.
func waitAnalyzed(b *testing.B, st *store.Store) {
	b.Helper()
	start := time.Now()
	for {
		var n int
		err := st.DB().QueryRowContext(b.Context(), `SELECT COUNT(*) FROM pg_stat_user_tables WHERE schemaname = current_schema()
			AND relname IN ('events', 'runs', 'tasks') AND n_mod_since_analyze < n_live_tup / 2`).Scan(&n)
		if err != nil {
			b.Fatal(err)
		}
		if n == 3 {
			b.Logf("the server refreshed the statistics %s after the load", time.Since(start).Round(time.Second))
			return
		}
		if time.Since(start) > 150*time.Second {
			b.Log("the server did not refresh the statistics within 150 s")
			return
		}
		time.Sleep(time.Second)
	}
}

// growthSizes logs the size of the events, runs and tasks tables with their
// indexes, in total and per row, and of each of their indexes.
func growthSizes(b *testing.B, st *store.Store) {
	b.Helper()
	ctx := b.Context()
	for _, table := range []string{"events", "runs", "tasks"} {
		var rows int64
		if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&rows); err != nil {
			b.Fatal(err)
		}
		var q string
		if st.Postgres() {
			q = `SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c WHERE c.relname = ?
				UNION ALL SELECT i.indexrelid::regclass::text, pg_relation_size(i.indexrelid) FROM pg_index i WHERE i.indrelid = ?::regclass
				UNION ALL SELECT 'toast', COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0) FROM pg_class c WHERE c.relname = ?`
		} else {
			q = `SELECT name, SUM(pgsize) FROM dbstat WHERE name = ? OR name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?) OR name = 'sqlite_autoindex_' || ? || '_1' GROUP BY name`
		}
		res, err := st.DB().QueryContext(ctx, q, table, table, table)
		if err != nil {
			b.Logf("sizes of %s: %v", table, err)
			continue
		}
		var total int64
		var parts []string
		for res.Next() {
			var name string
			var size int64
			if err := res.Scan(&name, &size); err != nil {
				b.Fatal(err)
			}
			total += size
			parts = append(parts, fmt.Sprintf("%s %.1f MB", name, float64(size)/1e6))
		}
		if err := res.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: %d rows, %.1f MB, %.0f bytes per row (%s)", table, rows, float64(total)/1e6, float64(total)/float64(max(rows, 1)), strings.Join(parts, ", "))
	}
}

// growthPlans logs the Postgres plan of each list shape's query, as run.
func growthPlans(b *testing.B, st *store.Store) {
	b.Helper()
	for _, s := range listShapes {
		res, err := st.DB().QueryContext(b.Context(), "EXPLAIN (ANALYZE, COSTS OFF) "+s.sql)
		if err != nil {
			b.Fatal(err)
		}
		var plan []string
		for res.Next() {
			var line string
			if err := res.Scan(&line); err != nil {
				b.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := res.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("plan of %s:\n%s", s.name, strings.Join(plan, "\n"))
	}
}
