package main

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// TestOrderflow runs the example's worker against a real server: a paid
// order ships with one child run per line, a late one gets its reminder
// first, and one never paid is cancelled.
func TestOrderflow(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()

			t.Run("paid", func(t *testing.T) {
				t.Parallel()
				// The reminder comes long before the test pushes the payment
				// it waits for, and the timeout long after.
				c := setup(t, eng, config{remindAfter: 300 * time.Millisecond, payWithin: time.Hour, lookback: time.Hour})

				// Paid before the wait: the lookback finds the payment.
				paid := push(t, c, "payment.confirmed", map[string]any{"order_id": "o-fast"})
				runID := place(t, c, "o-fast", "tea", "cup")
				out := end(t, c, runID)
				want := map[string]any{"status": "shipped", "charge": "ch_o-fast", "payment_event": paid,
					"boxes": []any{"tea×2", "cup×2"}, "tracking": "trk_o-fast"}
				if !reflect.DeepEqual(out, want) {
					t.Errorf("output = %v, want %v", out, want)
				}
				children, err := c.ListRuns(ctx, &switchyardv1.ListRunsRequest{ParentRunId: runID})
				if err != nil {
					t.Fatal(err)
				}
				if len(children.GetRuns()) != 2 {
					t.Errorf("child runs = %d, want 2", len(children.GetRuns()))
				}

				// Paid after the reminder, with a payment of another order
				// in between that is not taken.
				push(t, c, "payment.confirmed", map[string]any{"order_id": "o-someone-else"})
				runID = place(t, c, "o-late", "pot")
				waitFor(t, c, runID, "waiting after the reminder", func(r *switchyardv1.Run) bool {
					return r.GetStatus() == switchyardv1.RunStatus_RUN_STATUS_WAITING && len(r.GetWaits()) > 0 &&
						r.GetWaits()[0].GetStep() == "payment-after-reminder"
				})
				paid = push(t, c, "payment.confirmed", map[string]any{"order_id": "o-late"})
				out = end(t, c, runID)
				if out["status"] != "shipped" || out["payment_event"] != paid {
					t.Errorf("output = %v, want shipped after payment %s", out, paid)
				}
				wantSteps := []string{"charge", "payment", "remind", "payment-after-reminder", "lines", "lines-packed", "ship"}
				if got := steps(t, c, runID); !reflect.DeepEqual(got, wantSteps) {
					t.Errorf("steps = %v, want %v", got, wantSteps)
				}
			})

			t.Run("never paid", func(t *testing.T) {
				t.Parallel()
				c := setup(t, eng, config{remindAfter: 100 * time.Millisecond, payWithin: 400 * time.Millisecond})
				runID := place(t, c, "o-never", "mug")
				out := end(t, c, runID)
				if want := map[string]any{"status": "cancelled", "charge": "ch_o-never"}; !reflect.DeepEqual(out, want) {
					t.Errorf("output = %v, want %v", out, want)
				}
				wantSteps := []string{"charge", "payment", "remind", "payment-after-reminder", "cancel"}
				if got := steps(t, c, runID); !reflect.DeepEqual(got, wantSteps) {
					t.Errorf("steps = %v, want %v", got, wantSteps)
				}
			})
		})
	}
}

// setup starts a server and the example's worker with cfg, and returns a
// client once the worker declared the workflows.
func setup(t *testing.T, eng storetest.Engine, cfg config) *sdk.Client {
	t.Helper()
	srv := servertest.Start(t, eng, servertest.Options{})
	c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken))
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- newWorker(c, cfg, log).Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := c.GetWorkflow(ctx, "orderflow", 0); err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker did not declare its workflows within 30 s")
		}
	}
}

// steps returns the names of the steps the run's task recorded.
func steps(t *testing.T, c *sdk.Client, runID string) []string {
	t.Helper()
	run, err := c.GetRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Durable().ListSteps(context.Background(),
		connect.NewRequest(&switchyardv1.ListStepsRequest{TaskId: run.GetTasks()[0].GetId()}))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.Msg.GetSteps() {
		names = append(names, s.GetName())
	}
	return names
}

// push pushes an event and returns its id.
func push(t *testing.T, c *sdk.Client, key string, payload map[string]any) string {
	t.Helper()
	res, err := c.Push(context.Background(), key, payload)
	if err != nil {
		t.Fatalf("push %s: %v", key, err)
	}
	return res.GetEvent().GetId()
}

// place pushes order.placed for an order of two of each sku and returns the
// run it started.
func place(t *testing.T, c *sdk.Client, orderID string, skus ...string) string {
	t.Helper()
	var lines []any
	for _, s := range skus {
		lines = append(lines, map[string]any{"sku": s, "qty": 2})
	}
	res, err := c.Push(context.Background(), "order.placed", map[string]any{"order_id": orderID, "amount": 42, "lines": lines})
	if err != nil || len(res.GetRunIds()) != 1 {
		t.Fatalf("push order.placed: runs %v, err %v", res.GetRunIds(), err)
	}
	return res.GetRunIds()[0]
}

var errSeen = errors.New("seen")

// waitFor watches the run until cond holds.
func waitFor(t *testing.T, c *sdk.Client, runID, what string, cond func(*switchyardv1.Run) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.WatchRun(ctx, runID, func(r *switchyardv1.Run) error {
		if cond(r) {
			return errSeen
		}
		return nil
	})
	if !errors.Is(err, errSeen) {
		t.Fatalf("run %s: never %s (err %v; last %v)", runID, what, err, run)
	}
}

// end waits for the run to succeed and returns its task's output.
func end(t *testing.T, c *sdk.Client, runID string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.WatchRun(ctx, runID, func(*switchyardv1.Run) error { return nil })
	if err != nil || run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
		var children []string
		if res, lerr := c.ListRuns(context.Background(), &switchyardv1.ListRunsRequest{ParentRunId: runID}); lerr == nil {
			for _, r := range res.GetRuns() {
				children = append(children, r.GetId()+" "+r.GetStatus().String())
			}
		}
		t.Fatalf("run %s: %v, err %v; child runs %v", runID, run, err, children)
	}
	return run.GetTasks()[0].GetOutput().AsMap()
}
