package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/sdk"
)

// The environment of a worker process: the test binary run with
// workerModeEnv set is an SDK worker of crashAction, named after its mode,
// until its stdin closes.
const (
	workerModeEnv  = "SWITCHYARD_FAULT_WORKER" // "hold" or "run"
	workerURLEnv   = "SWITCHYARD_FAULT_URL"
	workerTokenEnv = "SWITCHYARD_FAULT_TOKEN"
	crashAction    = "crash.work"
)

// runWorkerProcess is the worker process. Its handler prints "<mode> <task id>
// <attempt>" for each attempt it starts; in mode "hold" it then waits until the
// attempt is cancelled (or the process killed), in mode "run" it succeeds at
// once.
func runWorkerProcess(mode string) int {
	c := sdk.NewClient(os.Getenv(workerURLEnv), sdk.WithToken(os.Getenv(workerTokenEnv)))
	w := sdk.NewWorker(c, sdk.WorkerConfig{Name: mode, Slots: 8})
	var out sync.Mutex
	w.Handle(crashAction, func(ctx context.Context, task *sdk.Task) (map[string]any, error) {
		out.Lock()
		fmt.Printf("%s %s %d\n", mode, task.ID, task.Attempt)
		out.Unlock()
		if mode == "hold" {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return map[string]any{"by": mode}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // the test ended, or died
		cancel()
	}()
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// workerProcess is a worker process started by a test; lines carries what its
// handler printed.
type workerProcess struct {
	cmd   *exec.Cmd
	lines chan string
}

// startWorkerProcess runs the test binary as a worker of the server at url in
// mode, until the test ends.
func startWorkerProcess(t *testing.T, url, mode string) *workerProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerModeEnv+"="+mode, workerURLEnv+"="+url, workerTokenEnv+"="+servertest.AdminToken)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start worker process: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	w := &workerProcess{cmd: cmd, lines: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
	}()
	return w
}

// started waits up to within for the handler to start n attempts and returns
// their lines.
func (w *workerProcess) started(t *testing.T, n int, within time.Duration) []string {
	t.Helper()
	var got []string
	timeout := time.After(within)
	for len(got) < n {
		select {
		case line := <-w.lines:
			got = append(got, line)
		case <-timeout:
			t.Fatalf("worker process started %d attempts in %s, want %d: %q", len(got), within, n, got)
		}
	}
	return got
}

// TestFaultWorkerKill kills a worker process with SIGKILL while it runs six
// tasks with the default five-minute timeout; a second worker process then
// completes all six within two heartbeat intervals of the kill, as attempt 2.
func TestFaultWorkerKill(t *testing.T) {
	t.Parallel()
	const heartbeat = 4 * time.Second
	srv, client := startFaultServer(t, heartbeat)
	ctx := context.Background()
	if _, err := client.PutWorkflow(ctx, &switchyardv1.WorkflowSpec{Name: "crash", OnEvents: []string{"crash.start"},
		Tasks: []*switchyardv1.TaskSpec{{Name: "work", Action: crashAction}}}); err != nil {
		t.Fatalf("put workflow: %v", err)
	}

	victim := startWorkerProcess(t, srv.URL, "hold")
	const tasks = 6
	runIDs := pushEvents(t, client, "crash.start", tasks)
	held := victim.started(t, tasks, 30*time.Second)
	survivor := startWorkerProcess(t, srv.URL, "run")
	survivorID := activeWorker(t, client, "run")

	killed := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 the worker: %v", err)
	}
	if done := waitSucceeded(t, client, "crash", runIDs, killed.Add(30*time.Second)); done != tasks {
		t.Fatalf("%d of %d runs SUCCEEDED 30s after the worker was killed, want all", done, tasks)
	}
	recovery := time.Since(killed)
	ran := survivor.started(t, tasks, 10*time.Second)
	t.Logf("figures: heartbeat_interval=%s tasks_held_by_killed_worker=%d completed_elsewhere=%d recovery=%s (bound %s)",
		heartbeat, len(held), len(ran), recovery.Round(time.Millisecond), 2*heartbeat)
	if recovery > 2*heartbeat {
		t.Errorf("the killed worker's tasks completed %s after the kill, want within two heartbeat intervals (%s)", recovery.Round(time.Millisecond), 2*heartbeat)
	}
	for _, id := range runIDs {
		run, err := client.GetRun(ctx, id)
		if err != nil {
			t.Fatalf("get run %s: %v", id, err)
		}
		task := run.GetTasks()[0]
		if task.GetWorkerId() != survivorID || task.GetAttempt() != 2 {
			t.Errorf("run %s: task done by worker %s in attempt %d, want the survivor %s in attempt 2", id, task.GetWorkerId(), task.GetAttempt(), survivorID)
		}
	}
	for _, line := range ran {
		if !strings.HasSuffix(line, " 2") {
			t.Errorf("survivor ran %q, want attempt 2 of a task the killed worker held", line)
		}
	}
}

// activeWorker waits until a worker named name is connected and heartbeating,
// and returns its id.
func activeWorker(t *testing.T, c *sdk.Client, name string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		res, err := c.ListWorkers(context.Background(), &switchyardv1.ListWorkersRequest{})
		if err != nil {
			t.Fatalf("list workers: %v", err)
		}
		for _, w := range res.GetWorkers() {
			if w.GetName() == name && w.GetStatus() == switchyardv1.WorkerStatus_WORKER_STATUS_ACTIVE {
				return w.GetId()
			}
		}
	}
	t.Fatalf("no active worker %q after 30s", name)
	return ""
}
