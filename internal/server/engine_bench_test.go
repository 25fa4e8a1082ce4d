package server_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// benchEventRate is the steady rate of BenchmarkEventToTaskStart, changed with
// `go test -bench EventToTaskStart ./service/server/ -event-rate 500`.
var benchEventRate = flag.Float64("event-rate", 200, "events per second that BenchmarkEventToTaskStart pushes")

const (
	// benchPushers is how many goroutines push on the schedule, so that a slow
	// push delays neither the schedule nor the pushes after it.
	benchPushers = 16
	// benchWarmup events go through the whole path unmeasured before each
	// measurement: connections, the trigger cache, the worker's stream.
	benchWarmup = 10
	// benchArrivalTimeout bounds the wait for the last task after the last push.
	benchArrivalTimeout = 30 * time.Second
	// benchKeepalive bounds how long a worker's Listen call takes to return: the
	// server sends the stream's response headers with its first message, and
	// the connect client returns from Listen only once they arrive, so a worker
	// that connects to an empty queue waits for the first keep-alive (15s by
	// default).
	benchKeepalive = 250 * time.Millisecond
)

// BenchmarkEventToTaskStart measures how long an event takes to become a task on
// a worker: a one-task workflow triggered by each event, one raw gRPC worker with
// 64 slots that completes each task at once, and b.N events pushed over gRPC at
// a steady rate (-event-rate, 200/s by default) on every database engine. The
// latency of an event is the arrival of its task's assignment at the worker less
// the start of its push, both read from this process's monotonic clock.
//
// It reports the p50, p99 and maximum of that latency, the p50 and p99 of the
// push calls alone and of the rest (from the push's response to the arrival;
// negative when the task arrived before the push's response), and the rate
// achieved (events/s: b.N over the time from the first push to the last
// push's response). The engine polls the queue at its
// production interval, so a missed wake-up shows as a poll interval's worth of
// latency rather than being hidden by a short one.
//
// The load generator, the worker, the server and the database share the
// machine, so the figures compare engines and releases; they are not a server's
// capacity.
func BenchmarkEventToTaskStart(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			benchEventToTaskStart(b, eng, *benchEventRate)
		})
	}
}

func benchEventToTaskStart(b *testing.B, eng storetest.Engine, rate float64) {
	if rate <= 0 {
		b.Fatalf("-event-rate is %v, want a positive rate", rate)
	}
	const key, action = "bench.latency", "bench.latency"
	srv := servertest.Start(b, eng, servertest.Options{Engine: engine.Config{KeepaliveInterval: benchKeepalive}})
	a := newAPI(srv.URL, grpcProtocol())
	putWorkflow(b, a, &switchyardv1.WorkflowSpec{
		Name:     "bench-latency",
		OnEvents: []string{key},
		Tasks:    []*switchyardv1.TaskSpec{task("start", action)},
	})
	arr := newArrivals(benchWarmup + b.N)
	startRawWorker(b, a, []string{action}, 64, arr.handle)
	ctx := b.Context()
	for i := range benchWarmup {
		if err := pushIndexed(ctx, a, key, i); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
		if got := arr.wait(1, benchArrivalTimeout); got != 1 {
			b.Fatalf("warm-up: the task of event %d did not arrive within %s", i, benchArrivalTimeout)
		}
	}

	pushedAt := make([]time.Time, benchWarmup+b.N)
	pushTook := make([]time.Duration, benchWarmup+b.N)
	b.ResetTimer()
	cost := startDBCost(srv)
	start := time.Now()
	err := pushAtRate(ctx, rate, benchWarmup, b.N, pushedAt, pushTook, func(ctx context.Context, i int) error {
		return pushIndexed(ctx, a, key, i)
	})
	pushed := time.Since(start)
	got := 0
	if err == nil {
		got = arr.wait(b.N, benchArrivalTimeout)
	}
	b.StopTimer()
	cost.report(b, "event")
	if err != nil {
		b.Fatal(err)
	}
	if got != b.N {
		b.Fatalf("%d of %d tasks did not arrive within %s of the last push", b.N-got, b.N, benchArrivalTimeout)
	}
	if err := arr.failure(); err != nil {
		b.Fatal(err)
	}

	arrivedAt := arr.times()
	latencies := make([]time.Duration, 0, b.N)
	afterPush := make([]time.Duration, 0, b.N)
	for i := benchWarmup; i < benchWarmup+b.N; i++ {
		latencies = append(latencies, arrivedAt[i].Sub(pushedAt[i]))
		afterPush = append(afterPush, arrivedAt[i].Sub(pushedAt[i].Add(pushTook[i])))
	}
	pushes := slices.Clone(pushTook[benchWarmup:])
	slices.Sort(latencies)
	slices.Sort(afterPush)
	slices.Sort(pushes)
	b.ReportMetric(float64(b.N)/pushed.Seconds(), "events/s")
	b.ReportMetric(percentile(latencies, 50), "p50-ms")
	b.ReportMetric(percentile(latencies, 99), "p99-ms")
	b.ReportMetric(percentile(latencies, 100), "max-ms")
	b.ReportMetric(percentile(pushes, 50), "push-p50-ms")
	b.ReportMetric(percentile(pushes, 99), "push-p99-ms")
	b.ReportMetric(percentile(afterPush, 50), "after-push-p50-ms")
	b.ReportMetric(percentile(afterPush, 99), "after-push-p99-ms")
}

// pushAtRate pushes the events with indexes first to first+n-1 (push(i)) at
// rate per second from a pool of goroutines. It records when each push started
// and how long it took, by index, and returns the first error; the schedule
// stops at the first error.
func pushAtRate(ctx context.Context, rate float64, first, n int, startedAt []time.Time, took []time.Duration, push func(context.Context, int) error) error {
	sched := make(chan int, n) // never blocks the schedule
	var (
		failed   atomic.Bool
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for range benchPushers {
		wg.Go(func() {
			for i := range sched {
				if failed.Load() {
					continue
				}
				t0 := time.Now()
				err := push(ctx, i)
				took[i], startedAt[i] = time.Since(t0), t0
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					failed.Store(true)
				}
			}
		})
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	sched <- first
	for i := first + 1; i < first+n && !failed.Load(); i++ {
		select {
		case <-tick.C:
			sched <- i
		case <-ctx.Done():
			failed.Store(true)
			errOnce.Do(func() { firstErr = ctx.Err() })
		}
	}
	tick.Stop()
	close(sched)
	wg.Wait()
	return firstErr
}

// pushIndexed pushes one event whose payload carries its index, and checks that
// it started exactly one run.
func pushIndexed(ctx context.Context, a *api, key string, i int) error {
	res, err := a.events.PushEvent(ctx, connect.NewRequest(indexedEvent(key, i)))
	if err != nil {
		return fmt.Errorf("push event %d: %w", i, err)
	}
	if n := len(res.Msg.GetRunIds()); n != 1 {
		return fmt.Errorf("push event %d started %d runs, want 1", i, n)
	}
	return nil
}

func indexedEvent(key string, i int) *switchyardv1.PushEventRequest {
	return &switchyardv1.PushEventRequest{
		Key:     key,
		Payload: &structpb.Struct{Fields: map[string]*structpb.Value{"i": structpb.NewNumberValue(float64(i))}},
	}
}

// BenchmarkTaskThroughput measures how fast queued tasks run to the end: b.N
// runs of a one-task workflow are queued up front (BulkPushEvents, 1,000 events
// a call) with no worker connected; then two raw gRPC workers of 64 slots each
// connect and complete every task at once. The timer covers the workers'
// connection and the last completion; tasks/s is b.N over that time. Every run
// is then checked to have succeeded. The engine polls every 50ms between
// wake-ups.
//
// As with BenchmarkEventToTaskStart, everything shares one machine.
func BenchmarkTaskThroughput(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			benchTaskThroughput(b, eng)
		})
	}
}

// benchTaskThroughput measures tasks per second through two workers; the
// task consumes from limits (declared at a million a second, so that they
// never hold a task back) when any are given.
func benchTaskThroughput(b *testing.B, eng storetest.Engine, limits ...*switchyardv1.TaskRateLimit) {
	const (
		key, action, workflow = "bench.throughput", "bench.throughput", "bench-throughput"
		workers, slots        = 2, 64
		batch                 = 1000
	)
	srv := servertest.Start(b, eng, servertest.Options{Engine: engine.Config{DispatchInterval: 50 * time.Millisecond, KeepaliveInterval: benchKeepalive}})
	a := newAPI(srv.URL, grpcProtocol())
	work := task("work", action)
	for _, l := range limits {
		declareLimit(b, rateLimitClient(srv.URL), l.GetLimit(), 1_000_000, time.Second)
		work.RateLimits = append(work.RateLimits, l)
	}
	putWorkflow(b, a, &switchyardv1.WorkflowSpec{
		Name:     workflow,
		OnEvents: []string{key},
		Tasks:    []*switchyardv1.TaskSpec{work},
	})
	ctx := b.Context()
	for lo := 0; lo < b.N; lo += batch {
		req := &switchyardv1.BulkPushEventsRequest{}
		for i := lo; i < min(lo+batch, b.N); i++ {
			req.Events = append(req.Events, indexedEvent(key, i))
		}
		res, err := a.events.BulkPushEvents(ctx, connect.NewRequest(req))
		if err != nil {
			b.Fatalf("bulk push events %d to %d: %v", lo, lo+len(req.Events)-1, err)
		}
		for j, r := range res.Msg.GetResults() {
			if n := len(r.GetRunIds()); n != 1 {
				b.Fatalf("event %d started %d runs, want 1", lo+j, n)
			}
		}
	}

	arr := newArrivals(b.N)
	timeout := benchArrivalTimeout + time.Duration(b.N)*10*time.Millisecond
	b.ResetTimer()
	cost := startDBCost(srv)
	start := time.Now()
	for range workers {
		startRawWorker(b, a, []string{action}, slots, arr.handle)
	}
	got := arr.wait(b.N, timeout)
	elapsed := time.Since(start)
	b.StopTimer()
	cost.report(b, "task")
	if got != b.N {
		b.Fatalf("%d of %d tasks were not completed within %s", b.N-got, b.N, timeout)
	}
	if err := arr.failure(); err != nil {
		b.Fatal(err)
	}
	n, err := countRuns(ctx, a, workflow, switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED)
	if err != nil {
		b.Fatal(err)
	}
	if n != b.N {
		b.Fatalf("%d runs succeeded, want %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tasks/s")
}

// dbCost counts what a benchmark costs the server's database from its start.
type dbCost struct {
	srv                      *servertest.Server
	transactions, statements int64
}

func startDBCost(srv *servertest.Server) dbCost {
	return dbCost{srv: srv, transactions: srv.Store.Transactions(), statements: srv.Store.Statements()}
}

// report reports the transactions and statements (round trips) per unit (b.N
// of them) since the start.
func (c dbCost) report(b *testing.B, unit string) {
	b.ReportMetric(float64(c.srv.Store.Transactions()-c.transactions)/float64(b.N), "tx/"+unit)
	b.ReportMetric(float64(c.srv.Store.Statements()-c.statements)/float64(b.N), "stmts/"+unit)
}

// countRuns counts the workflow's runs in the status, a page at a time.
func countRuns(ctx context.Context, a *api, workflow string, status switchyardv1.RunStatus) (int, error) {
	n := 0
	req := &switchyardv1.ListRunsRequest{Workflow: workflow, Status: status, PageSize: 500}
	for {
		res, err := a.runs.ListRuns(ctx, connect.NewRequest(req))
		if err != nil {
			return 0, fmt.Errorf("list %s runs of %s: %w", status, workflow, err)
		}
		n += len(res.Msg.GetRuns())
		if res.Msg.GetNextPageToken() == "" {
			return n, nil
		}
		req.PageToken = res.Msg.GetNextPageToken()
	}
}

// arrivals records when the task of each indexed event first reached a worker.
// Its handle method is a raw worker's handler: it notes the arrival, completes
// the task, and only then signals the arrival, so that every completion call has
// returned once every arrival was signalled.
type arrivals struct {
	signal chan struct{} // one per first arrival; never blocks

	mu  sync.Mutex
	at  []time.Time
	err error // the first failure to complete a task
}

func newArrivals(n int) *arrivals {
	return &arrivals{signal: make(chan struct{}, n), at: make([]time.Time, n)}
}

func (r *arrivals) handle(w *rawWorker, as *switchyardv1.TaskAssignment) {
	now := time.Now()
	i := int(as.GetInput().GetFields()["i"].GetNumberValue())
	err := w.complete(as, nil)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("complete task %s (event %d): %w", as.GetTaskId(), i, err)
	}
	if i < 0 || i >= len(r.at) {
		err = errors.Join(err, fmt.Errorf("task %s carries event index %d, want [0, %d)", as.GetTaskId(), i, len(r.at)))
	} else if r.at[i].IsZero() {
		r.at[i] = now
		r.signal <- struct{}{}
	}
	if err != nil && r.err == nil {
		r.err = err
	}
}

// wait waits at most timeout for n more first arrivals, and returns how many
// came.
func (r *arrivals) wait(n int, timeout time.Duration) int {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for got := range n {
		select {
		case <-r.signal:
		case <-deadline.C:
			return got
		}
	}
	return n
}

func (r *arrivals) times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.at)
}

func (r *arrivals) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
