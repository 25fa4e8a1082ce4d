package server_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"regexp"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/uptrace/bun"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

var (
	benchWaits     = flag.Int("durable-waits", 10000, "runs that BenchmarkDurableWake keeps waiting at once")
	benchWakeRate  = flag.Float64("wake-rate", 500, "matching events per second that BenchmarkDurableWake pushes")
	benchWakeSlots = flag.Int("wake-slots", 256, "slots of BenchmarkDurableWake's worker")
)

// BenchmarkDurableWake measures durable waits on Postgres at scale: a
// workflow whose one task declares a wait for `payment.confirmed` with the
// condition `event.payload.order_id == input.order_id` (a day's timeout) and
// then runs an action; -durable-waits runs of it (10,000) started through
// BulkPushEvents and all WAITING at once; then one matching event per run
// pushed over gRPC at -wake-rate (500/s) from 16 goroutines, while one raw
// gRPC worker with -wake-slots slots (256) completes each task at once. The
// server runs in this process at the production engine intervals (keep-alives
// every 250ms so the worker's stream opens at once).
//
// It reports the wake-up latency, from the push's acknowledgement (its
// response received) to the task's assignment arriving at the worker, p50,
// p99 and max (an assignment that arrives before the response counts 0); the
// push calls' own p50/p99; the process's growth while the runs wait, from
// before the first run to when all wait, after a GC: RSS (VmRSS of
// /proc/self/status; the process is the server plus this benchmark's client
// and worker) and the Go heap's live bytes (runtime/metrics); the database
// transactions per second of the server while the runs wait idle (5 seconds),
// and per wake-up the transactions and statements the server ran (each push,
// the wake-up, the dispatch and the completion of the task), the statements by
// kind and table in the log.
//
// One round (create, wait, wake) per iteration: run it with -benchtime 1x.
// Everything shares the machine (the figures compare builds, not capacity).
func BenchmarkDurableWake(b *testing.B) {
	eng := storetest.Postgres(b)
	for range b.N {
		benchDurableWake(b, eng, *benchWaits, *benchWakeRate)
	}
}

func benchDurableWake(b *testing.B, eng storetest.Engine, n int, rate float64) {
	b.StopTimer()
	const (
		key       = "payment.confirmed"
		action    = "bench.ship"
		workflow  = "bench-wake"
		condition = "event.payload.order_id == input.order_id"
	)
	srv := servertest.Start(b, eng, servertest.Options{Engine: engine.Config{KeepaliveInterval: benchKeepalive}})
	stmts := countStatements(srv.Store.DB())
	a := newAPI(srv.URL, grpcProtocol())
	putWorkflow(b, a, &switchyardv1.WorkflowSpec{Name: workflow, OnEvents: []string{"order.created"}, Tasks: []*switchyardv1.TaskSpec{
		{Name: "ship", Action: action, WaitFor: eventWaitFor("paid", key, condition, 24*time.Hour)},
	}})
	arr := newArrivals(n)
	var (
		mu    sync.Mutex
		wrong []string
	)
	startRawWorker(b, a, []string{action}, int32(*benchWakeSlots), func(w *rawWorker, as *switchyardv1.TaskAssignment) {
		order := as.GetInput().GetFields()["order_id"].GetStringValue()
		if conds := as.GetWaitResult().GetConditions(); len(conds) != 1 || conds[0].GetEvent().GetPayload().GetFields()["order_id"].GetStringValue() != order {
			mu.Lock()
			wrong = append(wrong, fmt.Sprintf("task of %s woken by %v", order, as.GetWaitResult()))
			mu.Unlock()
		}
		arr.handle(w, as)
	})
	ctx := b.Context()

	rssBefore, heapBefore := processMemory()
	inputs := make([]map[string]any, n)
	for i := range inputs {
		inputs[i] = map[string]any{"order_id": fmt.Sprintf("o-%d", i), "i": i}
	}
	created := time.Now()
	startRuns(b, []*api{a}, "order.created", inputs)
	awaitRuns(b, a, workflow, switchyardv1.RunStatus_RUN_STATUS_WAITING, n, 10*time.Minute)
	awaitOpenWaits(b, srv.Store.DB(), n, 10*time.Minute)
	createdIn := time.Since(created)
	rssAfter, heapAfter := processMemory()

	idleFrom := srv.Store.Transactions()
	const idle = 5 * time.Second
	time.Sleep(idle)
	idleTxs := srv.Store.Transactions() - idleFrom
	b.Logf("%d waits open %s after the first run was started (%.0f/s); while they wait: RSS +%.1f MB, Go heap +%.1f MB, %.1f transactions/s",
		n, createdIn.Round(time.Millisecond), float64(n)/createdIn.Seconds(), float64(rssAfter-rssBefore)/(1<<20), float64(heapAfter-heapBefore)/(1<<20), float64(idleTxs)/idle.Seconds())

	pushedAt := make([]time.Time, n)
	pushTook := make([]time.Duration, n)
	txsFrom := srv.Store.Transactions()
	stmts.reset()
	b.StartTimer()
	err := pushAtRate(ctx, rate, 0, n, pushedAt, pushTook, func(ctx context.Context, i int) error {
		_, err := a.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{
			Key: key, Payload: mustStruct(map[string]any{"order_id": fmt.Sprintf("o-%d", i)}),
		}))
		return err
	})
	got := 0
	if err == nil {
		got = arr.wait(n, benchArrivalTimeout)
	}
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	// The statements are logged first, also when the wake-ups fall behind.
	txs := srv.Store.Transactions() - txsFrom
	byKind, took, total := stmts.snapshot()
	kinds := slices.SortedFunc(maps.Keys(byKind), func(x, y string) int { return byKind[y] - byKind[x] })
	var lines []string
	for _, k := range kinds {
		lines = append(lines, fmt.Sprintf("  %6.2f  %6.2fms  %s", float64(byKind[k])/float64(max(got, 1)), float64(took[k].Microseconds())/1000/float64(byKind[k]), k))
	}
	b.Logf("%d waits, %d woken at %.0f events/s in %s; %d transactions; statements per wake-up and their mean time, by kind:\n%s",
		n, got, rate, time.Since(pushedAt[0]).Round(time.Millisecond), txs, strings.Join(lines, "\n"))
	if got != n {
		b.Fatalf("%d of %d woken tasks did not arrive within %s of the last push", n-got, n, benchArrivalTimeout)
	}
	if err := arr.failure(); err != nil {
		b.Fatal(err)
	}
	awaitRuns(b, a, workflow, switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED, n, time.Minute)
	mu.Lock()
	if len(wrong) > 0 {
		b.Fatalf("%d tasks woken by the wrong event, such as %s", len(wrong), wrong[0])
	}
	mu.Unlock()

	arrivedAt := arr.times()
	latencies := make([]time.Duration, n)
	for i := range n {
		latencies[i] = max(arrivedAt[i].Sub(pushedAt[i].Add(pushTook[i])), 0)
	}
	slices.Sort(latencies)
	slices.Sort(pushTook)
	b.ReportMetric(percentile(latencies, 50), "p50-ms")
	b.ReportMetric(percentile(latencies, 99), "p99-ms")
	b.ReportMetric(percentile(latencies, 100), "max-ms")
	b.ReportMetric(percentile(pushTook, 50), "push-p50-ms")
	b.ReportMetric(percentile(pushTook, 99), "push-p99-ms")
	b.ReportMetric(float64(rssAfter-rssBefore)/(1<<20), "rss-growth-MB")
	b.ReportMetric(float64(heapAfter-heapBefore)/(1<<20), "heap-growth-MB")
	b.ReportMetric(float64(idleTxs)/idle.Seconds(), "idle-txs/s")
	b.ReportMetric(float64(txs)/float64(n), "txs/wake")
	b.ReportMetric(float64(total)/float64(n), "stmts/wake")
	b.ReportMetric(float64(n)/createdIn.Seconds(), "waits-opened/s")
}

// awaitOpenWaits polls until the store holds n open wait rows (a declared
// wait's rows are stored pending and opened by the resolver, which looks back
// to when its task became ready), and fails after timeout.
func awaitOpenWaits(b *testing.B, db *bun.DB, n int, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var open int
		if err := db.NewRaw("SELECT count(*) FROM waits WHERE state = 'open'").Scan(b.Context(), &open); err != nil {
			b.Fatalf("count open waits: %v", err)
		}
		if open >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d waits open after %s", open, n, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processMemory returns the process's resident set (VmRSS) and the Go heap's
// live bytes, after a garbage collection.
func processMemory() (rss, heap int64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	heap = int64(s[0].Value.Uint64())
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, heap
	}
	for line := range strings.Lines(string(status)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			rss = kb << 10
		}
	}
	return rss, heap
}

// statementCounter counts the statements a server's database handle runs,
// and the time they take, by kind (the first keyword and the first table it
// names).
type statementCounter struct {
	mu     sync.Mutex
	byKind map[string]int
	took   map[string]time.Duration
	total  int
}

// countStatements adds a counter to db's query hooks. The engine's loops run
// already, so the hook is added in place (AddQueryHook): WithQueryHook would
// return a copy the server does not use.
func countStatements(db *bun.DB) *statementCounter {
	c := &statementCounter{byKind: map[string]int{}, took: map[string]time.Duration{}}
	db.AddQueryHook(c) //nolint:staticcheck // the only way to count the running server's statements
	return c
}

var statementTable = regexp.MustCompile(`(?i)\b(?:from|into|update|join)\s+"?([a-z_]+)"?`)

// statementKind names a statement by its first keyword and first table, or
// its first 40 characters when it names none.
func statementKind(query string) string {
	query = strings.Join(strings.Fields(query), " ")
	verb, _, _ := strings.Cut(query, " ")
	if m := statementTable.FindStringSubmatch(query); m != nil {
		return strings.ToUpper(verb) + " " + strings.ToLower(m[1])
	}
	return query[:min(len(query), 40)]
}

func (c *statementCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (c *statementCounter) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	kind, took := statementKind(e.Query), time.Since(e.StartTime)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byKind[kind]++
	c.took[kind] += took
	c.total++
}

func (c *statementCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byKind)
	clear(c.took)
	c.total = 0
}

func (c *statementCounter) snapshot() (map[string]int, map[string]time.Duration, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byKind), maps.Clone(c.took), c.total
}
