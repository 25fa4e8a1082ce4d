package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// BenchmarkBulkCancel cancels 10,000 queued runs by filter on every database
// engine, through a real server: each iteration starts the runs (not timed),
// then times BulkCancelRuns until its operation is done, and checks that no
// run of the workflow is left open. It reports runs cancelled per second.
func BenchmarkBulkCancel(b *testing.B) {
	const n = 10_000
	for _, eng := range storetest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			srv := servertest.Start(b, eng, servertest.Options{Engine: fastEngine})
			a := newAPI(srv.URL, grpcProtocol())
			var elapsed time.Duration
			for i := range b.N {
				name := fmt.Sprint("mass", i)
				putWorkflow(b, a, &switchyardv1.WorkflowSpec{Name: name, OnEvents: []string{name + ".go"}, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")}})
				pushRuns(b, a, name+".go", n, nil)
				start := time.Now()
				res, err := a.runs.BulkCancelRuns(context.Background(), connect.NewRequest(&switchyardv1.BulkCancelRunsRequest{
					Selector: &switchyardv1.RunSelector{Workflow: name}}))
				if err != nil {
					b.Fatal(err)
				}
				op, _ := watchBulk(b, a, res.Msg.GetOperation().GetId())
				elapsed += time.Since(start)
				if op.GetMatched() != n || op.GetAffected() != n {
					b.Fatalf("operation %v, want %d matched and cancelled", op, n)
				}
				open, err := a.runs.ListRuns(context.Background(), connect.NewRequest(&switchyardv1.ListRunsRequest{Workflow: name, Status: switchyardv1.RunStatus_RUN_STATUS_QUEUED}))
				if err != nil || len(open.Msg.GetRuns()) != 0 {
					b.Fatalf("after the bulk cancel: %d runs queued, %v", len(open.Msg.GetRuns()), err)
				}
			}
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "runs/s")
		})
	}
}
