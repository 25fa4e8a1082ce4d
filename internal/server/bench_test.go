package server_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// benchConcurrency is the number of clients pushing at once in each
// sub-benchmark.
var benchConcurrency = []int{1, 32}

// BenchmarkPushEvent pushes events to a real server (the production handler on a
// loopback listener) on every database engine, over every protocol, from 1 and
// from 32 concurrent clients. Each push carries a small JSON payload and a fresh
// idempotency key, so it takes the same insert-and-dedupe path as production
// pushes. Besides ns/op (wall time over b.N pushes, the inverse of throughput) it
// reports events/s and the p50 and p99 latency of single calls.
//
// The load generator shares the machine with the server and the database, so
// the figures compare protocols and engines; they are not a server's capacity.
func BenchmarkPushEvent(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			srv := servertest.Start(b, eng, servertest.Options{})
			var runs atomic.Int64 // makes idempotency keys unique across runs on srv
			for _, p := range servertest.Protocols() {
				c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
				for _, n := range benchConcurrency {
					b.Run(fmt.Sprintf("%s/c%d", p.Name, n), func(b *testing.B) {
						benchPush(b, c, n, &runs)
					})
				}
			}
		})
	}
}

// benchPush runs b.N pushes through c from n workers and reports throughput and
// latency percentiles.
func benchPush(b *testing.B, c client, n int, runs *atomic.Int64) {
	// Warm up every worker's connection (and the server's pool) unmeasured.
	if err := pushAll(b, c, n, 2*n, fmt.Sprintf("warm%d", runs.Add(1)), nil); err != nil {
		b.Fatal(err)
	}
	latencies := make([]time.Duration, b.N)
	prefix := fmt.Sprintf("run%d", runs.Add(1))
	b.ResetTimer()
	start := time.Now()
	err := pushAll(b, c, n, b.N, prefix, latencies)
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(percentile(latencies, 50), "p50-ms")
	b.ReportMetric(percentile(latencies, 99), "p99-ms")
}

// pushAll makes total pushes from n workers that take the next index from a
// shared counter. It records call i's latency in latencies[i] when latencies is
// not nil, and returns the first error; the workers stop at the first error.
func pushAll(b *testing.B, c client, n, total int, prefix string, latencies []time.Duration) error {
	ctx := b.Context()
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				req := &switchyardv1.PushEventRequest{
					Key: "user.signed_up",
					Payload: &structpb.Struct{Fields: map[string]*structpb.Value{
						"user_id": structpb.NewStringValue(fmt.Sprintf("user-%d", i%1000)),
						"n":       structpb.NewNumberValue(float64(i)),
					}},
					IdempotencyKey: fmt.Sprintf("bench-%s-%d", prefix, i),
				}
				t0 := time.Now()
				res, err := c.push(ctx, req)
				d := time.Since(t0)
				if err == nil && res.GetDeduplicated() {
					err = fmt.Errorf("idempotency key %s was deduplicated, want a new event", req.GetIdempotencyKey())
				}
				if err != nil {
					errOnce.Do(func() { first = fmt.Errorf("push %d over %s: %w", i, c.proto.Name, err) })
					failed.Store(true)
					return
				}
				if latencies != nil {
					latencies[i] = d
				}
			}
		})
	}
	wg.Wait()
	return first
}

// percentile returns the nearest-rank pth percentile of sorted, in milliseconds.
func percentile(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × len)
	return float64(sorted[max(rank, 1)-1]) / float64(time.Millisecond)
}
