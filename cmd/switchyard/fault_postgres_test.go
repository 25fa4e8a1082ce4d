package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// TestFaultPostgresRestart runs two `switchyard serve` processes, an SDK
// worker on each and producers through both on a private Postgres cluster,
// which it restarts twice under the load (pg_ctl stop -m fast, three seconds
// down, start). Both servers turn not ready while the database is away and
// ready again once it is back; the servers answer only OK or `unavailable`,
// never `internal` or `unknown`; every acknowledged push is stored once and
// every run it started SUCCEEDED.
//
// The cluster is the test's own (initdb into a temporary directory, on a free
// port), since the shared Postgres of the other tests must not restart; the
// test is skipped only on a machine without the Postgres server binaries.
func TestFaultPostgresRestart(t *testing.T) {
	t.Parallel()
	storetest.Postgres(t)
	pg := startPostgresCluster(t)
	bin := buildBinary(t)
	token := engine.NewTokenSecret()
	servers := []*serverProcess{
		startServerProcess(t, bin, "--database-url", pg.url(), "--admin-token", token),
		startServerProcess(t, bin, "--database-url", pg.url(), "--admin-token", token),
	}
	answers := &grpcStatuses{next: servertest.HTTP2Client().Transport, seen: map[string]int{}}
	var producers, workers []*sdk.Client
	for _, s := range servers {
		producers = append(producers, sdk.NewClient(s.URL, sdk.WithToken(token), sdk.WithRetry(faultRetry),
			sdk.WithHTTPClient(&http.Client{Transport: answers})))
		workers = append(workers, sdk.NewClient(s.URL, sdk.WithToken(token)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spec := twoTasks("restarted", "restarted.tick")
	if _, err := workers[0].PutWorkflow(ctx, spec); err != nil {
		t.Fatalf("put workflow: %v", err)
	}
	var ran executions
	workerLogs := &servertest.LogSink{}
	startWorkers(t, "restarted", workerLogs, 16, ran.handler(20*time.Millisecond), []string{"restarted.first", "restarted.second"}, workers...)

	l := startLoad(ctx, "restarted.tick", 50, producers...)
	const restarts = 2
	var notReady, readyAgain []time.Duration
	for range restarts {
		l.waitAcknowledged(t, l.acknowledged()+100)
		stopped := time.Now()
		pg.stop(t)
		for _, s := range servers {
			notReady = append(notReady, waitReadiness(t, s, false, stopped))
		}
		time.Sleep(time.Until(stopped.Add(3 * time.Second)))
		started := time.Now()
		pg.start(t)
		for _, s := range servers {
			readyAgain = append(readyAgain, waitReadiness(t, s, true, started))
		}
	}
	l.waitAcknowledged(t, l.acknowledged()+100)
	l.finish()

	o := l.check(t, workers[0], spec.GetName(), time.Minute)
	seen := answers.counts()
	t.Logf("figures: postgres_restarts=%d not_ready_after max=%s ready_again_after max=%s %s repeats=%d %s push_answers=%v push_failures=%v",
		restarts, maxDuration(notReady).Round(time.Millisecond), maxDuration(readyAgain).Round(time.Millisecond),
		o, ran.repeats(), reportFigures(t, workerLogs), seen, l.failures())
	for code, n := range seen {
		if code != "ok" && code != connect.CodeUnavailable.String() {
			t.Errorf("the servers answered %d pushes with %s, want only ok or unavailable", n, code)
		}
	}
	for code, n := range l.failures() {
		if code != connect.CodeUnavailable {
			t.Errorf("%d pushes failed for good with %s, want unavailable if any", n, code)
		}
	}
}

// waitReadiness waits up to 30 seconds for the server's readiness probe to
// say ready (or not), and returns how long after since that was.
func waitReadiness(t *testing.T, s *serverProcess, ready bool, since time.Time) time.Duration {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		status, body, err := servertest.Probe(s.URL, server.ReadyPath)
		if err == nil && (status == http.StatusOK) == ready {
			return time.Since(since)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s of %s after 30s: %d %q %v, want ready=%t", server.ReadyPath, s.URL, status, body, err, ready)
		}
	}
}

// grpcStatuses is an HTTP transport that counts the gRPC status of every
// response, as the server sent it (before any retry), by code name; a
// request that got no response counts as "no response".
type grpcStatuses struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]int
}

func (g *grpcStatuses) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := g.next.RoundTrip(r)
	if err != nil {
		g.count("no response")
		return nil, err
	}
	if s := res.Header.Get("Grpc-Status"); s != "" { // a trailers-only answer
		g.count(s)
		return res, nil
	}
	res.Body = &statusBody{ReadCloser: res.Body, res: res, g: g}
	return res, nil
}

func (g *grpcStatuses) count(status string) {
	name := status
	if n, err := strconv.Atoi(status); err == nil {
		name = connect.Code(n).String()
		if n == 0 {
			name = "ok"
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen[name]++
}

func (g *grpcStatuses) counts() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.seen)
}

// statusBody counts its response's grpc-status trailer at the end of the body.
type statusBody struct {
	io.ReadCloser
	res  *http.Response
	g    *grpcStatuses
	once sync.Once
}

func (b *statusBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.once.Do(func() { b.g.count(b.res.Trailer.Get("Grpc-Status")) })
	}
	return n, err
}

// pgCluster is a private Postgres cluster in a temporary directory, on a free
// loopback port. As root it runs as the postgres user, since initdb and
// postgres refuse to run as root.
type pgCluster struct {
	dir  string
	bin  string // the directory of pg_ctl and initdb
	port int
	as   []string // the command prefix that runs as the cluster's owner
}

// startPostgresCluster creates and starts a cluster that lives until the test
// ends. It skips the test when the machine has no Postgres server binaries,
// except under CI, where it fails.
func startPostgresCluster(t *testing.T) *pgCluster {
	t.Helper()
	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if p, err := exec.LookPath("initdb"); err == nil {
		initdbs = append(initdbs, p)
	}
	if len(initdbs) == 0 {
		const why = "no Postgres server binaries (initdb, pg_ctl) on this machine: a private cluster to restart cannot be made"
		if os.Getenv("CI") != "" {
			// CI machines run Postgres from Debian's packages: the binaries
			// are there, so their absence is a broken machine, not a reason.
			t.Fatal(why)
		}
		t.Skip(why)
	}
	dir, err := os.MkdirTemp("", "switchyard-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &pgCluster{dir: dir, bin: filepath.Dir(initdbs[len(initdbs)-1]), port: freePort(t)}
	t.Cleanup(func() {
		_ = c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and initdb refuses root: no postgres user to run the cluster as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.as = []string{"runuser", "-u", "postgres", "--"}
	}
	if err := c.run("initdb", "-D", c.data(), "--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v", err)
	}
	c.start(t)
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// url is the cluster's database URL.
func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres", c.port)
}

func (c *pgCluster) run(tool string, args ...string) error {
	argv := append(append(c.as[:len(c.as):len(c.as)], filepath.Join(c.bin, tool)), args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %w\n%s", argv, err, out)
	}
	return nil
}

// start starts the cluster and waits until it takes connections.
func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.dir)
	if err := c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		t.Fatalf("start postgres: %v", err)
	}
}

// stop stops the cluster as an operator's restart does: it disconnects every
// session and refuses new ones until started again.
func (c *pgCluster) stop(t *testing.T) {
	t.Helper()
	if err := c.run("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		t.Fatalf("stop postgres: %v", err)
	}
}
