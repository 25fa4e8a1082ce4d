package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
)

var (
	listeningRe = regexp.MustCompile(`listening on (https?://[0-9.:]+)`)
	tokenRe     = regexp.MustCompile(`\n\s+(sy_[A-Za-z0-9_-]+)\n`)
)

// The switchyard binary the tests run, built once per test process into
// builtDir (removed by TestMain).
var (
	buildOnce sync.Once
	builtDir  string
	builtBin  string
	buildErr  error
)

// buildBinary returns the switchyard binary, compiling it on the first call.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if builtDir, buildErr = os.MkdirTemp("", "switchyard-bin-"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(builtDir, "switchyard")
		if out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// startBinary runs `switchyard serve` and returns the process, its base URL and
// everything it printed up to the listening line.
func startBinary(t *testing.T, bin string, args ...string) (*exec.Cmd, string, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "SWITCHYARD_DATABASE_URL=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var printed strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		printed.WriteString(sc.Text() + "\n")
		if m := listeningRe.FindStringSubmatch(sc.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return cmd, m[1], printed.String()
		}
	}
	t.Fatalf("server exited before listening; it printed:\n%s", printed.String())
	return nil, "", ""
}

func push(t *testing.T, url, token string, opts ...connect.ClientOption) (*switchyardv1.PushEventResponse, error) {
	t.Helper()
	c := switchyardv1connect.NewEventServiceClient(servertest.HTTP2Client(), url,
		append(opts, connect.WithGRPC(), connect.WithInterceptors(servertest.BearerInterceptor(token)))...)
	res, err := c.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "cli.test"}))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// TestServeBinary runs the real binary as a user would: the first start prints an
// admin token that works over gRPC (h2c), a restart on the same data prints none
// and keeps the data, and SIGTERM lets an in-flight call finish, then exits 0.
func TestServeBinary(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dataDir := t.TempDir()

	cmd, url, printed := startBinary(t, bin, "--data-dir", dataDir)
	m := tokenRe.FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("first start printed no admin token:\n%s", printed)
	}
	token := m[1]
	first, err := push(t, url, token)
	if err != nil {
		t.Fatalf("push with the printed token: %v", err)
	}
	if _, err := push(t, url, "sy_not_a_token"); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("push with a wrong token: %v, want unauthenticated", err)
	}

	// A worker's Listen stream, open when SIGTERM comes: it must end (with
	// unavailable, so the worker reconnects elsewhere) instead of holding the
	// shutdown until its timeout.
	workers := switchyardv1connect.NewWorkerServiceClient(servertest.HTTP2Client(), url, connect.WithGRPC(), connect.WithInterceptors(servertest.BearerInterceptor(token)))
	reg, err := workers.RegisterWorker(context.Background(), connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: "w", Actions: []string{"a"}}))
	if err != nil {
		t.Fatal(err)
	}
	listen, err := workers.Listen(context.Background(), connect.NewRequest(&switchyardv1.ListenRequest{WorkerId: reg.Msg.GetWorkerId()}))
	if err != nil {
		t.Fatal(err)
	}
	listenEnded := make(chan error, 1)
	go func() {
		for listen.Receive() {
		}
		listenEnded <- listen.Err()
	}()

	// An in-flight call whose body is still arriving when SIGTERM comes.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/events", pr)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		done <- result{status: res.StatusCode, body: string(b)}
	}()
	_, _ = pw.Write([]byte(`{"key":"in.flight",`))
	time.Sleep(200 * time.Millisecond) // let the server start the call
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the server is draining now
	_, _ = pw.Write([]byte(`"payload":{"a":1}}`))
	_ = pw.Close()
	r := <-done
	if r.err != nil || r.status != http.StatusOK || !strings.Contains(r.body, `"in.flight"`) {
		t.Fatalf("in-flight call during shutdown: status %d, body %s, err %v", r.status, r.body, r.err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0", err)
	}
	if err := <-listenEnded; connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("Listen stream at shutdown ended with %v, want unavailable", err)
	}

	_, url2, printed2 := startBinary(t, bin, "--data-dir", dataDir)
	if tokenRe.MatchString(printed2) {
		t.Fatalf("restart printed a new admin token:\n%s", printed2)
	}
	c := switchyardv1connect.NewEventServiceClient(servertest.HTTP1Client(), url2, connect.WithInterceptors(servertest.BearerInterceptor(token)))
	got, err := c.GetEvent(context.Background(), connect.NewRequest(&switchyardv1.GetEventRequest{Id: first.GetEvent().GetId()}))
	if err != nil || got.Msg.GetEvent().GetKey() != "cli.test" {
		t.Fatalf("event after restart: %v, %v", got, err)
	}
}

func TestAdminTokenFromEnvironment(t *testing.T) {
	t.Setenv("SWITCHYARD_ADMIN_TOKEN", "sy_from_env")
	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, stdout, io.Discard)
	}()
	var url string
	for deadline := time.Now().Add(20 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listeningRe.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("server did not start: %s", stdout.String())
	}
	if tokenRe.MatchString(stdout.String()) {
		t.Errorf("a token was generated although SWITCHYARD_ADMIN_TOKEN was set")
	}
	if _, err := push(t, url, "sy_from_env"); err != nil {
		t.Fatalf("push with SWITCHYARD_ADMIN_TOKEN: %v", err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("serve after cancel: %v", err)
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	dir := t.TempDir()
	if err := run(context.Background(), []string{"migrate", "--data-dir", dir}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "migrations applied") {
		t.Fatalf("migrate printed %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "switchyard.db")); err != nil {
		t.Fatalf("no database file: %v", err)
	}
	// Again: nothing to do, still fine.
	if err := run(context.Background(), []string{"migrate", "--data-dir", dir}, io.Discard, io.Discard); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"serve", "--tls-cert", "x"}, "go together"},
		{[]string{"serve", "--database-url", "mysql://x"}, "unsupported database URL"},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run %v: %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSecretKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := loadSecretKey("", storeFlags{dataDir: dir})
	if err != nil || len(first) != 32 {
		t.Fatalf("generated key: %d bytes, %v", len(first), err)
	}
	again, err := loadSecretKey("", storeFlags{dataDir: dir})
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("the key file was not reused: %v", err)
	}
	if info, err := os.Stat(filepath.Join(dir, "secret.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", info, err)
	}
	if key, err := loadSecretKey("", storeFlags{databaseURL: "postgres://x"}); err != nil || key != nil {
		t.Fatalf("Postgres without a key: %v, %v; want none", key, err)
	}
	given := bytes.Repeat([]byte{7}, 32)
	if key, err := loadSecretKey(base64.StdEncoding.EncodeToString(given), storeFlags{dataDir: dir}); err != nil || !bytes.Equal(key, given) {
		t.Fatalf("given key: %v, %v", key, err)
	}
	if _, err := loadSecretKey("c2hvcnQ=", storeFlags{dataDir: dir}); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Fatalf("short key: %v, want an error naming the size", err)
	}
}
