package server_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// BenchmarkPushWithTriggers shows that matching an event against the trigger
// index does not depend on how many triggers exist: it pushes events (one
// client, gRPC) to a server with 1 and with 10,000 registered workflows. Most
// triggers are exact keys; every 50th workflow adds a `*` and a `**` pattern.
// "hit" pushes match one workflow (and start its run in the push), "miss" pushes
// match none. "rebuild" changes a workflow before each push, so the push
// rebuilds the tenant's index from the database: the cost of a workflow change,
// paid once by the next push on each server.
func BenchmarkPushWithTriggers(b *testing.B) {
	for _, eng := range storetest.Engines(b) {
		for _, n := range []int{1, 10_000} {
			srv := servertest.Start(b, eng, servertest.Options{})
			a := newAPI(srv.URL, grpcProtocol())
			putTriggers(b, a, n)
			for _, bc := range []struct {
				name    string
				key     string
				runs    int
				rebuild bool
			}{{"hit", "svc0.evt0", 1, false}, {"miss", "svc0.none.x", 0, false}, {"rebuild", "svc0.none.x", 0, true}} {
				b.Run(fmt.Sprintf("%s/triggers=%d/%s", eng.Name, n, bc.name), func(b *testing.B) {
					ctx := context.Background()
					var latencies []time.Duration
					for i := 0; b.Loop(); i++ {
						if bc.rebuild {
							b.StopTimer()
							putWorkflow(b, a, &switchyardv1.WorkflowSpec{Name: "changing", Description: fmt.Sprint(i), Tasks: []*switchyardv1.TaskSpec{task("t", "bench.trigger")}})
							b.StartTimer()
						}
						t0 := time.Now()
						res, err := a.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: bc.key}))
						latencies = append(latencies, time.Since(t0))
						if err != nil {
							b.Fatal(err)
						}
						if len(res.Msg.GetRunIds()) != bc.runs {
							b.Fatalf("push of %s started %d runs, want %d", bc.key, len(res.Msg.GetRunIds()), bc.runs)
						}
					}
					slices.Sort(latencies)
					b.ReportMetric(percentile(latencies, 50), "p50-ms")
					b.ReportMetric(percentile(latencies, 99), "p99-ms")
				})
			}
			srv.Stop()
		}
	}
}

// putTriggers registers n workflows: svcI.evtI for each, plus svcI.* and
// svcI.** for every 50th.
func putTriggers(b *testing.B, a *api, n int) {
	for i := range n {
		keys := []string{fmt.Sprintf("svc%d.evt%d", i, i)}
		if i%50 == 49 {
			keys = append(keys, fmt.Sprintf("svc%d.*", i), fmt.Sprintf("svc%d.**", i))
		}
		putWorkflow(b, a, &switchyardv1.WorkflowSpec{Name: fmt.Sprintf("wf%d", i), OnEvents: keys, Tasks: []*switchyardv1.TaskSpec{task("t", "bench.trigger")}})
	}
}
