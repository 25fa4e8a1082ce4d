package server_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// bulkSize and bulkInFlight shape BenchmarkBulkPushEvents: events per call and
// calls in flight.
const (
	bulkSize     = 1000
	bulkInFlight = 4
)

// BenchmarkBulkPushEvents pushes events in BulkPushEvents calls of 1,000 to a
// real server over gRPC, 4 calls in flight, on every database engine. Each
// event carries a small JSON payload and a fresh idempotency key, and one
// workflow is triggered by a tenth of them ("with-triggers"), or none
// ("no-triggers"). One iteration is one call; besides ns/op it reports
// events/s.
func BenchmarkBulkPushEvents(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			srv := servertest.Start(b, eng, servertest.Options{})
			c := client{proto: grpcProtocol(), url: srv.URL, token: servertest.AdminToken}
			a := newAPI(srv.URL, grpcProtocol())
			putWorkflow(b, a, &switchyardv1.WorkflowSpec{Name: "bulkbench", OnEvents: []string{"bulk.hit"}, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")}})
			var runs atomic.Int64
			for _, tc := range []struct {
				name string
				hit  int // every hit-th event has the triggering key; 0: none
			}{{"no-triggers", 0}, {"with-triggers", 10}} {
				b.Run(tc.name, func(b *testing.B) {
					benchBulk(b, c, tc.hit, &runs)
				})
			}
		})
	}
}

// benchBulk makes b.N bulk calls through c, bulkInFlight at a time, and
// reports events/s.
func benchBulk(b *testing.B, c client, hit int, runs *atomic.Int64) {
	if err := bulkAll(b, c, hit, bulkInFlight, fmt.Sprint(runs.Add(1))); err != nil { // warm-up, unmeasured
		b.Fatal(err)
	}
	prefix := fmt.Sprint(runs.Add(1))
	b.ResetTimer()
	start := time.Now()
	err := bulkAll(b, c, hit, b.N, prefix)
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*bulkSize)/elapsed.Seconds(), "events/s")
}

// bulkAll makes total BulkPushEvents calls of bulkSize events through c,
// bulkInFlight at a time; every hit-th event (none when hit is 0) has the key
// "bulk.hit", the others "bulk.miss". Idempotency keys start with prefix, which
// must be new on the server. It returns the first error.
func bulkAll(b *testing.B, c client, hit, total int, prefix string) error {
	call := func(i int) error {
		req := &switchyardv1.BulkPushEventsRequest{Events: make([]*switchyardv1.PushEventRequest, bulkSize)}
		for j := range req.Events {
			key := "bulk.miss"
			if hit > 0 && j%hit == 0 {
				key = "bulk.hit"
			}
			req.Events[j] = &switchyardv1.PushEventRequest{
				Key: key,
				Payload: &structpb.Struct{Fields: map[string]*structpb.Value{
					"user_id": structpb.NewStringValue(fmt.Sprintf("user-%d", j)),
					"n":       structpb.NewNumberValue(float64(j)),
				}},
				IdempotencyKey: fmt.Sprintf("bulk-%s-%d-%d", prefix, i, j),
			}
		}
		res, err := c.bulk(b.Context(), req)
		if err != nil {
			return fmt.Errorf("bulk call %d: %w", i, err)
		}
		if got := len(res.GetResults()); got != bulkSize {
			return fmt.Errorf("bulk call %d: %d results, want %d", i, got, bulkSize)
		}
		for _, r := range res.GetResults() {
			if r.GetDeduplicated() {
				return fmt.Errorf("bulk call %d: event %s deduplicated, want a new one", i, r.GetEvent().GetIdempotencyKey())
			}
		}
		return nil
	}
	var next atomic.Int64
	errs := make(chan error, bulkInFlight)
	var wg sync.WaitGroup
	for range bulkInFlight {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < total; i = int(next.Add(1) - 1) {
				if err := call(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
