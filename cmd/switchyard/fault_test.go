package main

// The fault tests (TestFault*) break what Switchyard runs on while a load
// runs through it: they kill -9 `switchyard serve` processes and restart them
// on the same port, restart Postgres, kill -9 worker processes and silence a
// worker's Listen stream behind a proxy. Each then checks what issue 19
// promises: every acknowledged push stored once, every run it started
// SUCCEEDED, no task left waiting for its lease. Every test logs its figures
// with t.Logf, on a line that starts with "figures:".

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

func TestMain(m *testing.M) {
	// The test binary doubles as a worker process for the worker fault test.
	if mode := os.Getenv(workerModeEnv); mode != "" {
		os.Exit(runWorkerProcess(mode))
	}
	code := m.Run()
	if builtDir != "" {
		_ = os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// serverProcess is a `switchyard serve` process that a test kills with
// SIGKILL and starts again on the same address.
type serverProcess struct {
	t    *testing.T
	bin  string
	args []string
	addr string // host:port, the same across restarts
	URL  string
	cmd  *exec.Cmd
}

// startServerProcess runs bin serve with args on a free loopback port.
func startServerProcess(t *testing.T, bin string, args ...string) *serverProcess {
	t.Helper()
	cmd, url, _ := startBinary(t, bin, args...)
	return &serverProcess{t: t, bin: bin, args: args, addr: strings.TrimPrefix(url, "http://"), URL: url, cmd: cmd}
}

// kill ends the process with SIGKILL, as a crash or the OOM killer does: no
// draining, no handing back, connections reset by the kernel.
func (s *serverProcess) kill() {
	s.t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		s.t.Fatalf("kill -9 server %s: %v", s.addr, err)
	}
	_ = s.cmd.Wait()
}

// restart starts the process again on its address and returns how long it took
// to listen.
func (s *serverProcess) restart() time.Duration {
	s.t.Helper()
	start := time.Now()
	s.cmd, _, _ = startBinary(s.t, s.bin, append(slices.Clone(s.args), "--addr", s.addr)...)
	return time.Since(start)
}

// startWorkers runs an SDK worker named "<name>-<i>" through client i,
// handling each of actions with fn and logging into logs (nil discards), until
// the test ends.
func startWorkers(t *testing.T, name string, logs *servertest.LogSink, slots int, fn sdk.TaskFunc, actions []string, clients ...*sdk.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	for i, c := range clients {
		cfg := sdk.WorkerConfig{Name: fmt.Sprintf("%s-%d", name, i), Slots: slots, ShutdownTimeout: time.Second}
		if logs != nil {
			cfg.Logger = logs.Logger(slog.LevelInfo)
		}
		w := sdk.NewWorker(c, cfg)
		for _, a := range actions {
			w.Handle(a, fn)
		}
		wg.Go(func() {
			if err := w.Run(ctx); err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
		})
	}
}

// reportFigures counts what the workers logged of their reports: those
// delivered only after retries (their server died or the database was away),
// and those that failed or were given up, which leave a task to its lease.
func reportFigures(t *testing.T, logs *servertest.LogSink) string {
	t.Helper()
	givenUp := len(logs.Lines(t, "report given up: the worker stopped before a server acknowledged it")) +
		len(logs.Lines(t, "report given up: the attempt's lease ended before a server acknowledged it"))
	return fmt.Sprintf("reports_delivered_after_retries=%d reports_failed=%d reports_given_up=%d",
		len(logs.Lines(t, "report delivered after retries")), len(logs.Lines(t, "report failed")), givenUp)
}

// twoTasks is a workflow of two tasks in a row, with the default five-minute
// task timeout: an attempt lost on the way would wait for its lease far past
// the tests' deadlines.
func twoTasks(name, event string) *switchyardv1.WorkflowSpec {
	return &switchyardv1.WorkflowSpec{Name: name, OnEvents: []string{event}, Tasks: []*switchyardv1.TaskSpec{
		{Name: "first", Action: name + ".first"},
		{Name: "second", Action: name + ".second", Parents: []string{"first"}},
	}}
}

// startFaultServer runs an in-process server on a fresh Postgres schema whose
// workers heartbeat every heartbeat, with keep-alives every second, a 2 s
// acknowledgement window and quick dispatch and recovery passes, and returns
// it with an admin client.
func startFaultServer(t *testing.T, heartbeat time.Duration) (*servertest.Server, *sdk.Client) {
	t.Helper()
	srv := servertest.Start(t, storetest.Postgres(t), servertest.Options{Engine: engine.Config{
		HeartbeatInterval: heartbeat, KeepaliveInterval: time.Second, AckTimeout: 2 * time.Second,
		DispatchInterval: 50 * time.Millisecond, ReapInterval: 100 * time.Millisecond,
	}})
	return srv, sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken))
}

// pushEvents pushes n events with key, one after the other, and returns the
// ids of the runs they started.
func pushEvents(t *testing.T, c *sdk.Client, key string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		res, err := c.Push(context.Background(), key, map[string]any{"i": i})
		if err != nil {
			t.Fatalf("push %s %d: %v", key, i, err)
		}
		ids = append(ids, res.GetRunIds()...)
	}
	return ids
}

// freePort returns a loopback port that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// maxDuration returns the longest of ds (0 for none).
func maxDuration(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
