package sdk_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// killHelperEnv, set, makes the test binary the worker process that
// TestDurableChildrenSpawnOnceAfterAKill kills ([runKillHelper]): it serves
// the server at its value (the token in killHelperTokenEnv).
const (
	killHelperEnv      = "SWITCHYARD_SDK_KILL_HELPER"
	killHelperTokenEnv = "SWITCHYARD_SDK_KILL_HELPER_TOKEN"
)

// fanoutSpecs are the children the fan-out task spawns: three line items.
func fanoutSpecs() []sdk.ChildSpec {
	specs := make([]sdk.ChildSpec, 3)
	for i := range specs {
		specs[i] = sdk.ChildSpec{Workflow: "line", Input: map[string]any{"sku": fmt.Sprintf("sku-%d", i)}}
	}
	return specs
}

// packed waits for the line children ids and returns what they packed, in
// order; a child that did not succeed fails the task.
func packed(ctx context.Context, task *sdk.Task, ids []string) (map[string]any, error) {
	results, err := task.WaitChildren(ctx, "lines-done", ids)
	if err != nil {
		return nil, err
	}
	var skus []any
	for _, r := range results {
		if !r.Succeeded() {
			return nil, fmt.Errorf("child %s: %s", r.RunID, r.Status)
		}
		skus = append(skus, r.Outputs["main"]["packed"])
	}
	return map[string]any{"packed": skus}, nil
}

// packLine is the line children's handler: it packs the line's sku, counting
// in lines.
func packLine(lines *atomic.Int32) sdk.TaskFunc {
	return func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
		lines.Add(1)
		return map[string]any{"packed": task.Input["sku"]}, nil
	}
}

// runKillHelper is the worker process of
// TestDurableChildrenSpawnOnceAfterAKill (TestMain runs it in place of the
// tests when killHelperEnv is set): its fan-out task spawns the children,
// prints their ids and hangs until the process is killed. It returns the
// process's exit code.
func runKillHelper(url string) int {
	c := sdk.NewClient(url, sdk.WithToken(os.Getenv(killHelperTokenEnv)))
	w := sdk.NewWorker(c, sdk.WorkerConfig{Name: "kill-helper", Slots: 1, Logger: slog.New(slog.DiscardHandler)})
	w.Workflow(oneTask("fanout", "durable.fanout"))
	w.Workflow(oneTask("line", "durable.line"))
	w.Handle("durable.fanout", func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
		ids, err := task.SpawnChildren(ctx, "lines", fanoutSpecs())
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(ids)
		fmt.Printf("spawned %s\n", b)
		select {} // killed here, before any report
	})
	if err := w.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "kill helper:", err)
		return 1
	}
	return 0
}

// TestDurableChildrenSpawnOnceAfterAKill: a worker process spawns a task's
// children and is killed (SIGKILL) before it reports. The server takes the
// attempt for lost, and the worker that runs the task next gets the children
// the killed process spawned from the same SpawnChildren call: no child is
// spawned twice, and each line runs once.
func TestDurableChildrenSpawnOnceAfterAKill(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			// A killed worker is taken for dead 1.5 s after its stream closed.
			srv := servertest.Start(t, eng, servertest.Options{Engine: engine.Config{HeartbeatInterval: time.Second, ReapInterval: 100 * time.Millisecond}})
			c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken))

			helper := exec.Command(os.Args[0])
			helper.Env = append(os.Environ(), killHelperEnv+"="+srv.URL, killHelperTokenEnv+"="+servertest.AdminToken)
			out, err := helper.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := helper.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = helper.Process.Kill(); _ = helper.Wait() })
			waitActive(t, c, "kill-helper", nil)
			runID := start(t, c, "fanout", nil)

			spawned := make(chan []string, 1)
			go func() {
				lines := bufio.NewScanner(out)
				for lines.Scan() {
					if ids, ok := strings.CutPrefix(lines.Text(), "spawned "); ok {
						var v []string
						_ = json.Unmarshal([]byte(ids), &v)
						spawned <- v
						return
					}
				}
				close(spawned)
			}()
			var first []string
			select {
			case first = <-spawned:
			case <-time.After(30 * time.Second):
				t.Fatal("the helper worker did not spawn the children within 30s")
			}
			if len(first) != 3 {
				t.Fatalf("the helper spawned %v, want 3 children", first)
			}
			if err := helper.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = helper.Wait()

			s := &workerSetup{client: c, name: "after-kill",
				worker: sdk.NewWorker(c, sdk.WorkerConfig{Name: "after-kill", Slots: 4, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})}
			var again []string
			var lines atomic.Int32
			s.worker.Handle("durable.fanout", func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
				ids, err := task.SpawnChildren(ctx, "lines", fanoutSpecs())
				if err != nil {
					return nil, err
				}
				again = ids
				return packed(ctx, task, ids)
			})
			s.worker.Handle("durable.line", packLine(&lines))
			s.run(t)
			out2 := succeeded(t, watch(t, c, runID))
			if want := []any{"sku-0", "sku-1", "sku-2"}; fmt.Sprint(out2["packed"]) != fmt.Sprint(want) {
				t.Errorf("output = %v, want packed %v", out2, want)
			}
			if !slices.Equal(again, first) {
				t.Errorf("the next attempt got children %v, want the killed attempt's %v", again, first)
			}
			children, err := c.ListRuns(context.Background(), &switchyardv1.ListRunsRequest{ParentRunId: runID})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(children.GetRuns()); n != 3 || lines.Load() != 3 {
				t.Errorf("%d child runs, line tasks ran %d times; want 3 and 3", n, lines.Load())
			}
		})
	}
}
