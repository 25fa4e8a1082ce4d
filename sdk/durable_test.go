package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// oneTask is a workflow of one task of action, started by RunWorkflow.
func oneTask(name, action string) *switchyardv1.WorkflowSpec {
	return &switchyardv1.WorkflowSpec{Name: name, Tasks: []*switchyardv1.TaskSpec{{Name: "main", Action: action}}}
}

// start runs the workflow name with input and returns the run's id.
func start(t *testing.T, c *sdk.Client, name string, input map[string]any) string {
	t.Helper()
	res, err := c.RunWorkflow(context.Background(), name, input)
	if err != nil {
		t.Fatalf("run workflow %s: %v", name, err)
	}
	return res.GetRunId()
}

// errSeen ends a WatchRun once its condition holds.
var errSeen = errors.New("seen")

// waitUntil watches the run until cond holds for its state and returns that
// state; it fails the test when the run ends first.
func waitUntil(t *testing.T, c *sdk.Client, runID string, what string, cond func(*switchyardv1.Run) bool) *switchyardv1.Run {
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
		t.Fatalf("run %s: never %s (err %v, last state %v)", runID, what, err, run)
	}
	return run
}

// taskWaiting reports whether the run's task main is WAITING.
func taskWaiting(r *switchyardv1.Run) bool {
	return tasksByName(r)["main"].GetStatus() == switchyardv1.TaskStatus_TASK_STATUS_WAITING
}

// succeeded checks that the run succeeded and returns its task main's output.
func succeeded(t *testing.T, run *switchyardv1.Run) map[string]any {
	t.Helper()
	if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
		t.Fatalf("run %s: status %s (%s), want SUCCEEDED; tasks %v", run.GetId(), run.GetStatus(), run.GetError(), run.GetTasks())
	}
	return tasksByName(run)["main"].GetOutput().AsMap()
}

func TestDurableStepsAreNotRunAgain(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{Slots: 2})
			s.worker.Workflow(oneTask("steps", "durable.steps"))
			var attempts, charges, quotes atomic.Int32
			type quote struct {
				Amount float64 `json:"amount"`
				Coin   string  `json:"coin"`
			}
			s.worker.Handle("durable.steps", func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
				attempts.Add(1)
				charged, err := task.Step(ctx, "charge", func(ctx context.Context) (any, error) {
					charges.Add(1)
					return map[string]any{"charge_id": fmt.Sprintf("ch-%d", charges.Load())}, nil
				})
				if err != nil {
					return nil, err
				}
				q, err := sdk.StepOf(ctx, task, "quote", func(ctx context.Context) (quote, error) {
					quotes.Add(1)
					return quote{Amount: 12.5, Coin: "EUR"}, nil
				})
				if err != nil {
					return nil, err
				}
				if err := task.Sleep(ctx, "nap", 50*time.Millisecond); err != nil {
					return nil, err
				}
				return map[string]any{"charge": charged, "quote": q.Coin, "amount": q.Amount, "attempt": task.Attempt}, nil
			})
			s.run(t)
			run := watch(t, s.client, start(t, s.client, "steps", nil))
			out := succeeded(t, run)
			want := map[string]any{"charge": map[string]any{"charge_id": "ch-1"}, "quote": "EUR", "amount": 12.5, "attempt": 2.0}
			if !reflect.DeepEqual(out, want) {
				t.Errorf("output = %v, want %v", out, want)
			}
			if a, c, q := attempts.Load(), charges.Load(), quotes.Load(); a != 2 || c != 1 || q != 1 {
				t.Errorf("attempts %d, charge ran %d times, quote %d times; want 2, 1, 1", a, c, q)
			}
			if r := tasksByName(run)["main"].GetResumes(); r != 1 {
				t.Errorf("resumes = %d, want 1", r)
			}
			steps, err := s.client.Durable().ListSteps(context.Background(),
				connect.NewRequest(&switchyardv1.ListStepsRequest{TaskId: tasksByName(run)["main"].GetId()}))
			if err != nil {
				t.Fatalf("list steps: %v", err)
			}
			var names []string
			for _, st := range steps.Msg.GetSteps() {
				names = append(names, st.GetName()+":"+st.GetKind().String())
			}
			if wantNames := []string{"charge:STEP_KIND_RESULT", "quote:STEP_KIND_RESULT", "nap:STEP_KIND_WAIT"}; !slices.Equal(names, wantNames) {
				t.Errorf("steps = %v, want %v", names, wantNames)
			}
		})
	}
}

// eventWaiter handles action with a task that waits for payment.confirmed
// for the run's order, with the lookback and timeout given in the input (in
// milliseconds), and outputs the event's id or that it timed out.
func eventWaiter(w *sdk.Worker, action string, attempts *atomic.Int32) {
	w.Handle(action, func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
		attempts.Add(1)
		ms := func(k string) time.Duration {
			f, _ := task.Input[k].(float64)
			return time.Duration(f) * time.Millisecond
		}
		ev, err := task.WaitForEvent(ctx, "confirmed", sdk.WaitSpec{
			Key:       "payment.confirmed",
			Condition: "event.payload.order_id == input.order_id",
			Lookback:  ms("lookback_ms"),
			Timeout:   ms("timeout_ms"),
		})
		if err != nil {
			return nil, err
		}
		if ev == nil {
			return map[string]any{"timed_out": true}, nil
		}
		return map[string]any{"event_id": ev.GetId(), "amount": ev.GetPayload().AsMap()["amount"]}, nil
	})
}

func TestDurableWaitForEvent(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{Slots: 4})
			s.worker.Workflow(oneTask("await-payment", "durable.await"))
			var attempts atomic.Int32
			eventWaiter(s.worker, "durable.await", &attempts)
			s.run(t)
			ctx := context.Background()

			t.Run("pushed before the wait, within its lookback", func(t *testing.T) {
				early, err := s.client.Push(ctx, "payment.confirmed", map[string]any{"order_id": "o-early", "amount": 7})
				if err != nil {
					t.Fatal(err)
				}
				// A later event for another order does not match.
				if _, err := s.client.Push(ctx, "payment.confirmed", map[string]any{"order_id": "o-other", "amount": 8}); err != nil {
					t.Fatal(err)
				}
				attempts.Store(0)
				run := watch(t, s.client, start(t, s.client, "await-payment",
					map[string]any{"order_id": "o-early", "lookback_ms": 3_600_000}))
				out := succeeded(t, run)
				if out["event_id"] != early.GetEvent().GetId() || out["amount"] != 7.0 {
					t.Errorf("output = %v, want the early event %s", out, early.GetEvent().GetId())
				}
				if n := attempts.Load(); n != 1 {
					t.Errorf("attempts = %d, want 1 (the wait was over when it began)", n)
				}
			})

			t.Run("pushed before the wait, without lookback", func(t *testing.T) {
				if _, err := s.client.Push(ctx, "payment.confirmed", map[string]any{"order_id": "o-nolook"}); err != nil {
					t.Fatal(err)
				}
				runID := start(t, s.client, "await-payment", map[string]any{"order_id": "o-nolook"})
				waitUntil(t, s.client, runID, "waiting", taskWaiting)
				late, err := s.client.Push(ctx, "payment.confirmed", map[string]any{"order_id": "o-nolook", "amount": 9})
				if err != nil {
					t.Fatal(err)
				}
				out := succeeded(t, watch(t, s.client, runID))
				if out["event_id"] != late.GetEvent().GetId() {
					t.Errorf("output = %v, want the event pushed during the wait %s", out, late.GetEvent().GetId())
				}
				got, err := s.client.Events().GetEvent(ctx, connect.NewRequest(&switchyardv1.GetEventRequest{Id: late.GetEvent().GetId()}))
				if err != nil {
					t.Fatal(err)
				}
				if ids := got.Msg.GetWokeRunIds(); !slices.Equal(ids, []string{runID}) {
					t.Errorf("woke_run_ids = %v, want [%s]", ids, runID)
				}
			})

			t.Run("timeout", func(t *testing.T) {
				runID := start(t, s.client, "await-payment", map[string]any{"order_id": "o-never", "timeout_ms": 200})
				waiting := waitUntil(t, s.client, runID, "waiting", taskWaiting)
				if waiting.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_WAITING || waiting.GetWaitingUntil() == nil {
					t.Errorf("waiting run: status %s, waiting_until %v; want WAITING with a deadline",
						waiting.GetStatus(), waiting.GetWaitingUntil())
				}
				out := succeeded(t, watch(t, s.client, runID))
				if !reflect.DeepEqual(out, map[string]any{"timed_out": true}) {
					t.Errorf("output = %v, want timed_out", out)
				}
				ws := tasksByName(watch(t, s.client, runID))["main"].GetWaits()
				if len(ws) != 1 || ws[0].GetState() != switchyardv1.WaitState_WAIT_STATE_TIMED_OUT {
					t.Errorf("waits = %v, want one TIMED_OUT", ws)
				}
			})
		})
	}
}

func TestDurableWaitAnyCancelsTheOthers(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{Slots: 2})
			s.worker.Workflow(oneTask("race", "durable.race"))
			s.worker.Handle("durable.race", func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
				res, err := task.WaitAny(ctx, "first",
					sdk.ForEvent("shipped", sdk.WaitSpec{Key: "order.shipped"}),
					sdk.ForEvent("cancelled", sdk.WaitSpec{Key: "order.cancelled"}),
					sdk.ForSleep("deadline", 24*time.Hour),
				)
				if err != nil {
					return nil, err
				}
				states := map[string]any{}
				for _, c := range res.Conditions {
					states[c.GetName()] = c.GetState().String()
				}
				return map[string]any{"winner": res.Winner, "states": states, "timed_out": res.TimedOut}, nil
			})
			s.run(t)
			runID := start(t, s.client, "race", nil)
			waitUntil(t, s.client, runID, "waiting", taskWaiting)
			if _, err := s.client.Push(context.Background(), "order.cancelled", nil); err != nil {
				t.Fatal(err)
			}
			run := watch(t, s.client, runID)
			out := succeeded(t, run)
			want := map[string]any{"winner": "cancelled", "timed_out": false, "states": map[string]any{
				"shipped": "WAIT_STATE_CANCELLED", "cancelled": "WAIT_STATE_SATISFIED", "deadline": "WAIT_STATE_CANCELLED"}}
			if !reflect.DeepEqual(out, want) {
				t.Errorf("output = %v, want %v", out, want)
			}
			for _, w := range tasksByName(run)["main"].GetWaits() {
				if want := want["states"].(map[string]any)[w.GetCondition()]; w.GetState().String() != want {
					t.Errorf("stored wait %s: %s, want %s", w.GetCondition(), w.GetState(), want)
				}
			}
			// A loser's event later wakes nothing.
			late, err := s.client.Push(context.Background(), "order.shipped", nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.client.Events().GetEvent(context.Background(), connect.NewRequest(&switchyardv1.GetEventRequest{Id: late.GetEvent().GetId()}))
			if err != nil {
				t.Fatal(err)
			}
			if ids := got.Msg.GetWokeRunIds(); len(ids) != 0 {
				t.Errorf("the cancelled condition's event woke %v", ids)
			}
		})
	}
}

func TestDurableChildrenSpawnOnceAcrossAttempts(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{Slots: 4})
			parent := oneTask("fanout", "durable.fanout")
			parent.Tasks[0].Retry = &switchyardv1.RetryPolicy{MaxAttempts: 3}
			s.worker.Workflow(parent)
			s.worker.Workflow(oneTask("line", "durable.line"))
			var parentAttempts, lines atomic.Int32
			s.worker.Handle("durable.fanout", func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
				n := parentAttempts.Add(1)
				ids, err := task.SpawnChildren(ctx, "lines", fanoutSpecs())
				if err != nil {
					return nil, err
				}
				if n == 1 {
					// The attempt dies after spawning: the next one must not
					// spawn again.
					return nil, errors.New("crash after spawning")
				}
				return packed(ctx, task, ids)
			})
			s.worker.Handle("durable.line", packLine(&lines))
			s.run(t)
			runID := start(t, s.client, "fanout", nil)
			out := succeeded(t, watch(t, s.client, runID))
			if want := []any{"sku-0", "sku-1", "sku-2"}; !reflect.DeepEqual(out["packed"], want) {
				t.Errorf("output = %v, want packed %v", out, want)
			}
			children, err := s.client.ListRuns(context.Background(), &switchyardv1.ListRunsRequest{ParentRunId: runID})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(children.GetRuns()); n != 3 || lines.Load() != 3 {
				t.Errorf("%d child runs, line tasks ran %d times; want 3 and 3", n, lines.Load())
			}
			for _, c := range children.GetRuns() {
				if c.GetParentRunId() != runID || c.GetParentTaskId() == "" {
					t.Errorf("child %s: parent run %q task %q", c.GetId(), c.GetParentRunId(), c.GetParentTaskId())
				}
			}
		})
	}
}

func TestDurableWaitFreesTheSlot(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{Slots: 1})
			s.worker.Workflow(oneTask("held", "durable.held"))
			s.worker.Workflow(oneTask("quick", "durable.quick"))
			s.worker.Handle("durable.held", func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
				if _, err := task.WaitForEvent(ctx, "go", sdk.WaitSpec{Key: "held.go"}); err != nil {
					return nil, err
				}
				return map[string]any{"done": true}, nil
			})
			s.worker.Handle("durable.quick", func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
				return map[string]any{"quick": true}, nil
			})
			s.run(t)
			held := start(t, s.client, "held", nil)
			waitUntil(t, s.client, held, "waiting", taskWaiting)
			// The only slot is free while held waits: quick runs to its end.
			succeeded(t, watch(t, s.client, start(t, s.client, "quick", nil)))
			if _, err := s.client.Push(context.Background(), "held.go", nil); err != nil {
				t.Fatal(err)
			}
			if out := succeeded(t, watch(t, s.client, held)); out["done"] != true {
				t.Errorf("held output = %v", out)
			}
		})
	}
}

func TestDurableSuspendIgnoresWhatTheTaskReturns(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := setupWorker(t, eng, sdk.WorkerConfig{Slots: 1})
			s.worker.Workflow(oneTask("swallow", "durable.swallow"))
			var causes atomic.Value
			s.worker.Handle("durable.swallow", func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
				err := task.Sleep(ctx, "nap", 50*time.Millisecond)
				if errors.Is(err, sdk.ErrSuspended) {
					causes.Store(context.Cause(ctx))
					// Later durable calls of the suspended attempt fail too.
					if _, serr := task.Step(ctx, "after", func(context.Context) (any, error) { return 1, nil }); !errors.Is(serr, sdk.ErrSuspended) {
						return nil, fmt.Errorf("step after suspension: %v", serr)
					}
					// The code swallows the suspension and claims success.
					return map[string]any{"swallowed": true}, nil
				}
				if err != nil {
					return nil, err
				}
				return map[string]any{"slept": true, "attempt": task.Attempt}, nil
			})
			s.run(t)
			out := succeeded(t, watch(t, s.client, start(t, s.client, "swallow", nil)))
			if !reflect.DeepEqual(out, map[string]any{"slept": true, "attempt": 2.0}) {
				t.Errorf("output = %v, want the resumed attempt's", out)
			}
			if cause, _ := causes.Load().(error); !errors.Is(cause, sdk.ErrSuspended) {
				t.Errorf("context cause of the suspended attempt = %v, want ErrSuspended", cause)
			}
		})
	}
}

// TestDurableSpawnChildOptions: SpawnChild's options give the child its own
// priority and a delayed start.
func TestDurableSpawnChildOptions(t *testing.T) {
	t.Parallel()
	eng := storetest.Engines(t)[0]
	s := setupWorker(t, eng, sdk.WorkerConfig{Slots: 2})
	s.worker.Workflow(oneTask("parent", "durable.parent"))
	s.worker.Workflow(oneTask("later", "durable.later"))
	at := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	s.worker.Handle("durable.parent", func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
		id, err := task.SpawnChild(ctx, "later", "later", map[string]any{"n": 1}, sdk.ChildPriority(7), sdk.ChildRunAt(at))
		return map[string]any{"child": id}, err
	})
	s.worker.Handle("durable.later", func(ctx context.Context, task *sdk.Task) (map[string]any, error) { return nil, nil })
	s.run(t)
	out := succeeded(t, watch(t, s.client, start(t, s.client, "parent", nil)))
	child, err := s.client.GetRun(context.Background(), fmt.Sprint(out["child"]))
	if err != nil {
		t.Fatal(err)
	}
	if child.GetPriority() != 7 || child.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SCHEDULED || !child.GetScheduledAt().AsTime().Equal(at) {
		t.Errorf("child: priority %d, status %s, scheduled at %v; want 7, SCHEDULED, %v", child.GetPriority(), child.GetStatus(), child.GetScheduledAt().AsTime(), at)
	}
}
