package sdk

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// outage is a server behind a proxy that a test takes away and brings back: a
// new server on the same store, reached at the same address.
type outage struct {
	eng    storetest.Engine
	opts   servertest.Options
	proxy  *servertest.Proxy
	server *servertest.Server
	client *Client
	logs   *servertest.LogSink // the worker's
}

func newOutage(t *testing.T, eng storetest.Engine) *outage {
	t.Helper()
	cfg := store.Config{DataDir: t.TempDir()}
	if eng.Name == "postgres" {
		cfg = store.Config{DatabaseURL: storetest.NewSchema(t)}
	}
	// Heartbeats a minute apart: no attempt is taken from a worker for its
	// silence while the server is away.
	o := &outage{eng: eng, opts: servertest.Options{Store: cfg, Engine: engine.Config{HeartbeatInterval: time.Minute}}, logs: &servertest.LogSink{}}
	o.server = servertest.Start(t, eng, o.opts)
	o.proxy = servertest.NewProxy(t, strings.TrimPrefix(o.server.URL, "http://"))
	o.client = NewClient(o.proxy.URL(), WithToken(servertest.AdminToken),
		WithRetry(RetryPolicy{MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}))
	return o
}

// down cuts every connection to the server and stops it.
func (o *outage) down() {
	o.proxy.Cut()
	o.server.Stop()
}

// up starts a new server on the same store behind the proxy.
func (o *outage) up(t *testing.T) {
	t.Helper()
	o.server = servertest.Start(t, o.eng, o.opts)
	o.proxy.SetBackends(strings.TrimPrefix(o.server.URL, "http://"))
	o.proxy.Restore(t)
}

// worker returns a worker of o's client that logs into o.logs.
func (o *outage) worker(cfg WorkerConfig) *Worker {
	cfg.Logger = o.logs.Logger(slog.LevelDebug)
	return NewWorker(o.client, cfg)
}

// waitLog waits up to 30s for a line logged with msg.
func waitLog(t *testing.T, logs *servertest.LogSink, msg string) []map[string]any {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if lines := logs.Lines(t, msg); len(lines) > 0 {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing logged as %q within 30s", msg)
		}
	}
}

// waitFor waits up to 30s for ch.
func waitFor[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not within 30s", what)
		panic("unreachable")
	}
}

// putOneTask declares workflow name of one task of action, and starts n runs.
func putOneTask(t *testing.T, c *Client, name, action string, n int) []string {
	t.Helper()
	ctx := context.Background()
	if _, err := c.PutWorkflow(ctx, &switchyardv1.WorkflowSpec{Name: name, Tasks: []*switchyardv1.TaskSpec{{Name: "work", Action: action}}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range n {
		res, err := c.RunWorkflow(ctx, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.GetRunId())
	}
	return ids
}

// rawAssignments registers a worker of action with n slots and returns its id
// and the first n assignments of its stream, which stays open until the test
// ends or the connection breaks.
func rawAssignments(t *testing.T, c *Client, action string, n int) (string, []*switchyardv1.TaskAssignment) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg, err := c.Workers().RegisterWorker(ctx, connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: "raw", Actions: []string{action}, Slots: int32(n)}))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := c.Workers().Listen(ctx, connect.NewRequest(&switchyardv1.ListenRequest{WorkerId: reg.Msg.GetWorkerId()}))
	if err != nil {
		t.Fatal(err)
	}
	var as []*switchyardv1.TaskAssignment
	for len(as) < n && stream.Receive() {
		if a := stream.Msg().GetAssignment(); a != nil {
			as = append(as, a)
		}
	}
	if len(as) < n {
		t.Fatalf("%d assignments, want %d: %v", len(as), n, stream.Err())
	}
	return reg.Msg.GetWorkerId(), as
}

// runWorker runs w until the test ends and waits for its stream to open. The
// returned stop ends Run's context and returns what Run returned.
func runWorker(t *testing.T, w *Worker, logs *servertest.LogSink) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(time.Minute):
				runErr = errors.New("Run did not return within a minute of its context ending")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	waitLog(t, logs, "listening for tasks")
	return stop
}

// runStatus returns the run's status.
func runStatus(t *testing.T, c *Client, runID string) switchyardv1.RunStatus {
	t.Helper()
	run, err := c.GetRun(context.Background(), runID)
	if err != nil {
		t.Fatalf("get run %s: %v", runID, err)
	}
	return run.GetStatus()
}

// waitSucceeded waits up to 30s for the run to succeed.
func waitSucceeded(t *testing.T, c *Client, runID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.WatchRun(ctx, runID, func(*switchyardv1.Run) error { return nil })
	if err != nil || run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
		t.Fatalf("run %s ended %v (%v), want SUCCEEDED", runID, run.GetStatus(), err)
	}
}

// counter counts calls by task id.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
	return len(c.n)
}

func (c *counter) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// reportPendingMsg is logged when a report's first try fails.
const reportPendingMsg = "report pending: no server acknowledged it; retrying until the attempt's lease ends"

// pendingReport runs w with workflow name, one task that counts its calls in
// calls, and starts a run; once the task runs it takes the server away, lets
// the task return and waits until its report is pending. It returns the run
// and task ids and a stop of Run.
func (o *outage) pendingReport(t *testing.T, w *Worker, name string, calls *counter) (runID, taskID string, stop func() error) {
	t.Helper()
	action := name + ".work"
	w.Workflow(&switchyardv1.WorkflowSpec{Name: name, Tasks: []*switchyardv1.TaskSpec{{Name: "work", Action: action}}})
	started, release := make(chan string, 1), make(chan struct{})
	w.Handle(action, func(_ context.Context, task *Task) (map[string]any, error) {
		calls.add(task.ID)
		started <- task.ID
		<-release
		return map[string]any{"ok": true}, nil
	})
	stop = runWorker(t, w, o.logs)
	res, err := o.client.RunWorkflow(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	taskID = waitFor(t, "the task to start", started)
	o.down()
	close(release)
	waitLog(t, o.logs, reportPendingMsg)
	return res.GetRunId(), taskID, stop
}

// TestPendingReportFreesTheSlot runs two attempts on a worker of one slot and
// takes the server away while the first runs: once the first's TaskFunc
// returns, the second runs while the first's report waits for a server; a new
// server on the same store then gets both reports and both runs succeed.
func TestPendingReportFreesTheSlot(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			o := newOutage(t, eng)
			runIDs := putOneTask(t, o.client, "outage", "outage.work", 2)
			workerID, as := rawAssignments(t, o.client, "outage.work", 2)

			w := o.worker(WorkerConfig{Slots: 1})
			var calls counter
			firstID, release, secondID := make(chan string, 1), make(chan struct{}), make(chan string, 1)
			w.Handle("outage.work", func(_ context.Context, task *Task) (map[string]any, error) {
				if calls.add(task.ID) == 1 {
					firstID <- task.ID
					<-release
					return map[string]any{"first": true}, nil
				}
				secondID <- task.ID
				return map[string]any{"first": false}, nil
			})
			w.taskCtx = context.Background() // what Run sets up
			w.start(workerID, as[0])
			w.start(workerID, as[1])
			first := waitFor(t, "the first task to start", firstID)

			o.down()
			close(release)
			second := waitFor(t, "the second task to run while the first's report is pending", secondID)
			w.tasksMu.Lock()
			pending := w.pending[attemptKey{taskID: first, attempt: 1}] != nil
			w.tasksMu.Unlock()
			if !pending || second == first {
				t.Fatalf("the second task (%s) ran with the first's (%s) report pending=%v, want another task and pending=true", second, first, pending)
			}

			o.up(t)
			if !w.waitReports(30 * time.Second) {
				t.Fatal("reports still pending 30s after the server came back")
			}
			for _, id := range runIDs {
				if got := runStatus(t, o.client, id); got != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
					t.Errorf("run %s is %v, want SUCCEEDED", id, got)
				}
			}
			if calls.get(first) != 1 || calls.get(second) != 1 {
				t.Errorf("handler calls: first %d, second %d; want 1 each", calls.get(first), calls.get(second))
			}
			delivered := false
			for _, l := range o.logs.Lines(t, "report delivered after retries") {
				delivered = delivered || (l["task_id"] == first && l["tries"].(float64) > 1)
			}
			if !delivered {
				t.Errorf("no %q line for the first task", "report delivered after retries")
			}
		})
	}
}

// TestRepeatAssignmentSendsThePendingReport breaks the connection while an
// attempt runs, so that its report fails and waits (an hour, here); when the
// server assigns the attempt again, the report is sent at once and the
// attempt does not run again.
func TestRepeatAssignmentSendsThePendingReport(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			o := newOutage(t, eng)
			runID := putOneTask(t, o.client, "repeat", "repeat.work", 1)[0]
			workerID, as := rawAssignments(t, o.client, "repeat.work", 1)

			w := o.worker(WorkerConfig{Slots: 1})
			w.reportBackoff = func(int, error) time.Duration { return time.Hour }
			var calls counter
			started, release := make(chan struct{}, 1), make(chan struct{})
			w.Handle("repeat.work", func(_ context.Context, task *Task) (map[string]any, error) {
				calls.add(task.ID)
				started <- struct{}{}
				<-release
				return map[string]any{"ok": true}, nil
			})
			w.taskCtx = context.Background()
			w.start(workerID, as[0])
			waitFor(t, "the task to start", started)

			o.proxy.Cut()
			close(release)
			waitLog(t, o.logs, reportPendingMsg)
			o.proxy.Restore(t)
			if got := runStatus(t, o.client, runID); got != switchyardv1.RunStatus_RUN_STATUS_RUNNING {
				t.Fatalf("run is %v while its report waits, want RUNNING", got)
			}

			w.start(workerID, as[0])
			if !w.waitReports(30 * time.Second) {
				t.Fatal("the report still pending 30s after the repeated assignment")
			}
			if got := runStatus(t, o.client, runID); got != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
				t.Errorf("run is %v, want SUCCEEDED", got)
			}
			if n := calls.get(as[0].GetTaskId()); n != 1 {
				t.Errorf("the handler ran %d times, want once", n)
			}
			if n := len(o.logs.Lines(t, "repeated assignment of an attempt whose report is pending: sending the report now")); n != 1 {
				t.Errorf("%d repeated assignments answered with the report, want 1", n)
			}
		})
	}
}

// TestReportSurvivesServerRestart stops the only server while a worker runs an
// attempt, so that its report fails and waits (an hour, here); when a new
// server on the same store comes up, the worker reconnects, sends the report
// at once, and the run succeeds with the attempt run once.
func TestReportSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			o := newOutage(t, eng)
			w := o.worker(WorkerConfig{Name: "restart", Slots: 1})
			w.reportBackoff = func(int, error) time.Duration { return time.Hour }
			var calls counter
			runID, taskID, stop := o.pendingReport(t, w, "restart", &calls)
			o.up(t)
			waitSucceeded(t, o.client, runID)
			if n := calls.get(taskID); n != 1 {
				t.Errorf("the handler ran %d times, want once", n)
			}
			lines := waitLog(t, o.logs, "sending pending reports now: the stream is open")
			if lines[0]["reports"] != 1.0 {
				t.Errorf("the reconnected stream sent %v pending reports at once, want 1", lines[0]["reports"])
			}
			if err := stop(); err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		})
	}
}

// TestShutdownWaitsForPendingReports ends Run's context while a report waits
// for the server: Run returns only once a new server acknowledged it.
func TestShutdownWaitsForPendingReports(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			o := newOutage(t, eng)
			w := o.worker(WorkerConfig{Name: "stopping", Slots: 1, ShutdownTimeout: 30 * time.Second})
			runID, _, stop := o.pendingReport(t, w, "stopping", &counter{})
			stopped := make(chan error, 1)
			go func() { stopped <- stop() }()
			waitLog(t, o.logs, "worker stopping: waiting for pending reports")
			o.up(t)
			if err := waitFor(t, "Run to return", stopped); err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
			if got := runStatus(t, o.client, runID); got != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
				t.Errorf("run is %v once Run returned, want SUCCEEDED (its report acknowledged before)", got)
			}
		})
	}
}

// TestShutdownGivesUpPendingReports ends Run's context while a report waits
// for a server that never comes back: Run gives the report up after
// ShutdownTimeout and says so.
func TestShutdownGivesUpPendingReports(t *testing.T) {
	t.Parallel()
	o := newOutage(t, storetest.Engines(t)[0])
	w := o.worker(WorkerConfig{Name: "giving-up", Slots: 1, ShutdownTimeout: 200 * time.Millisecond})
	_, _, stop := o.pendingReport(t, w, "giving-up", &counter{})
	if err := stop(); err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	if n := len(o.logs.Lines(t, "report given up: the worker stopped before a server acknowledged it")); n != 1 {
		t.Errorf("%d reports given up at shutdown, want 1", n)
	}
}

// resetReports passes calls to next, except that the first CompleteTask fails
// as a connection reset: after the server answered it (the answer is lost) or
// before it was sent (the report is lost).
type resetReports struct {
	next      http.RoundTripper
	afterSend bool

	mu        sync.Mutex
	completes int
}

func (r *resetReports) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != switchyardv1connect.WorkerServiceCompleteTaskProcedure {
		return r.next.RoundTrip(req)
	}
	r.mu.Lock()
	r.completes++
	first := r.completes == 1
	r.mu.Unlock()
	if !first {
		return r.next.RoundTrip(req)
	}
	if r.afterSend {
		res, err := r.next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
	} else if req.Body != nil {
		_ = req.Body.Close()
	}
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

func (r *resetReports) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.completes
}

// TestWorkerRetriesAResetReport resets the connection of a worker's first
// report, which connect-go reports as `canceled`: the worker sends it again,
// and the run succeeds with the attempt run once.
func TestWorkerRetriesAResetReport(t *testing.T) {
	t.Parallel()
	for _, afterSend := range []bool{false, true} {
		name := map[bool]string{false: "request lost", true: "answer lost"}[afterSend]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
			reset := &resetReports{next: servertest.HTTP2Client().Transport, afterSend: afterSend}
			c := NewClient(srv.URL, WithToken(servertest.AdminToken), WithHTTPClient(&http.Client{Transport: reset}),
				WithRetry(RetryPolicy{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}))
			logs := &servertest.LogSink{}
			w := NewWorker(c, WorkerConfig{Name: "reset", Logger: logs.Logger(slog.LevelDebug)})
			w.Workflow(&switchyardv1.WorkflowSpec{Name: "reset", Tasks: []*switchyardv1.TaskSpec{{Name: "work", Action: "reset.work"}}})
			var calls counter
			w.Handle("reset.work", func(_ context.Context, task *Task) (map[string]any, error) {
				calls.add(task.ID)
				return map[string]any{"ok": true}, nil
			})
			stop := runWorker(t, w, logs)
			res, err := c.RunWorkflow(context.Background(), "reset", nil)
			if err != nil {
				t.Fatal(err)
			}
			waitSucceeded(t, c, res.GetRunId())
			if !w.waitReports(30 * time.Second) {
				t.Fatal("the report still pending 30s after the run succeeded")
			}
			run, err := c.GetRun(context.Background(), res.GetRunId())
			if err != nil {
				t.Fatal(err)
			}
			if id := run.GetTasks()[0].GetId(); calls.get(id) != 1 || reset.count() != 2 {
				t.Errorf("handler ran %d times with %d CompleteTask calls, want once with 2", calls.get(id), reset.count())
			}
			pending := waitLog(t, logs, reportPendingMsg)
			if pending[0]["code"] != "canceled" {
				t.Errorf("the reset report failed with code %v, want canceled", pending[0]["code"])
			}
			if err := stop(); err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		})
	}
}
