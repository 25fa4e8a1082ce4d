package server_test

import (
	"context"
	"flag"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// benchLimitQueued is how many runs BenchmarkRateLimitAcrossServers queues.
var benchLimitQueued = flag.Int("limit-queued", 5000, "runs BenchmarkRateLimitAcrossServers queues under its 50/s limit")

// BenchmarkRateLimitedThroughput is BenchmarkTaskThroughput with the task
// consuming from a static limit and from a dynamic one keyed by the event's
// index (a key per task): the cost of rate limits in the claim path, with
// limits that never hold a task back. Compare with the "none" case.
func BenchmarkRateLimitedThroughput(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name+"/none", func(b *testing.B) { benchTaskThroughput(b, eng) })
		b.Run(eng.Name+"/limited", func(b *testing.B) {
			benchTaskThroughput(b, eng, &switchyardv1.TaskRateLimit{Limit: "static"}, &switchyardv1.TaskRateLimit{Limit: "dynamic", Key: "input.i"})
		})
	}
}

// BenchmarkRateLimitAcrossServers queues -limit-queued single-task runs
// (5,000) on three servers sharing one Postgres, a worker on each, under a
// limit of 50 per second, and reports the most task starts any window of one
// second holds (the limit says 50) and the starts per second.
func BenchmarkRateLimitAcrossServers(b *testing.B) {
	pg := storetest.Postgres(b)
	for range b.N {
		url := storetest.NewSchema(b)
		var apis []*api
		var first *servertest.Server
		for range 3 {
			srv := servertest.Start(b, pg, servertest.Options{Store: store.Config{DatabaseURL: url, MaxConns: 6}, Engine: fastEngine})
			apis = append(apis, newAPI(srv.URL, grpcProtocol()))
			if len(apis) == 1 {
				first = srv
				declareLimit(b, rateLimitClient(srv.URL), "api", 50, time.Second)
				putWorkflow(b, apis[0], &switchyardv1.WorkflowSpec{Name: "limited", OnEvents: []string{"limited"}, Tasks: []*switchyardv1.TaskSpec{
					{Name: "call", Action: "api.call", RateLimits: []*switchyardv1.TaskRateLimit{{Limit: "api"}}},
				}})
			}
		}
		n := *benchLimitQueued
		for lo := 0; lo < n; lo += 1000 {
			req := &switchyardv1.BulkPushEventsRequest{}
			for i := lo; i < min(lo+1000, n); i++ {
				req.Events = append(req.Events, indexedEvent("limited", i))
			}
			if _, err := apis[0].events.BulkPushEvents(context.Background(), connect.NewRequest(req)); err != nil {
				b.Fatal(err)
			}
		}
		arr := newArrivals(n)
		for _, a := range apis {
			startRawWorker(b, a, []string{"api.call"}, 40, arr.handle)
		}
		if got := arr.wait(n, time.Duration(n)*30*time.Millisecond+time.Minute); got != n {
			b.Fatalf("%d of %d tasks done", got, n)
		}
		var micros []int64
		if err := first.Store.DB().NewRaw("SELECT started_at FROM tasks WHERE status = 'SUCCEEDED' ORDER BY started_at").Scan(context.Background(), &micros); err != nil {
			b.Fatal(err)
		}
		starts := make([]time.Time, len(micros))
		for i, us := range micros {
			starts[i] = time.UnixMicro(us)
		}
		most := 0
		for i, s := range starts {
			j, _ := slices.BinarySearchFunc(starts, s.Add(time.Second), func(a, b time.Time) int { return a.Compare(b) })
			most = max(most, j-i)
		}
		b.ReportMetric(float64(most), "max-starts-in-1s")
		b.ReportMetric(float64(len(starts)-1)/starts[len(starts)-1].Sub(starts[0]).Seconds(), "starts/s")
	}
}
