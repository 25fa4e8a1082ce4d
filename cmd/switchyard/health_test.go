package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/grpchealth"

	"github.com/switchyard/switchyard/internal/server/servertest"
)

// serveInProcess runs `switchyard serve` with args on a fresh SQLite directory
// and returns its URL, its log output and a function that stops it as SIGTERM
// would and returns its error.
func serveInProcess(t *testing.T, args ...string) (url string, logs *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, logs := &syncBuffer{}, &syncBuffer{}
	errc := make(chan error, 1)
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--database-url=", "--data-dir", t.TempDir(), "--admin-token", "sy_log_test"}, args...)
	go func() { errc <- run(ctx, args, stdout, logs) }()
	stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("server did not stop within 30s")
		}
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listeningRe.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], logs, stop
		}
		select {
		case err := <-errc:
			errc <- err // for stop
			t.Fatalf("server exited before listening: %v\n%s", err, logs.String())
		default:
		}
	}
	t.Fatalf("server did not start:\n%s", logs.String())
	return "", nil, nil
}

// TestServeLogFlags: --log-format picks text or JSON for every line, and
// --log-level drops the lines below it; a call logs one rpc line.
func TestServeLogFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		format, level string
		// want and unwanted are (level, msg) pairs that must and must not appear.
		want, unwanted [][2]string
	}{
		{"json", "debug", [][2]string{{"INFO", "serving"}, {"INFO", "rpc"}, {"DEBUG", "health check"}}, nil},
		{"json", "info", [][2]string{{"INFO", "serving"}, {"INFO", "rpc"}}, [][2]string{{"DEBUG", "health check"}}},
		{"text", "debug", [][2]string{{"INFO", "serving"}, {"INFO", "rpc"}, {"DEBUG", "health check"}}, nil},
		{"text", "warn", nil, [][2]string{{"INFO", "serving"}, {"INFO", "rpc"}, {"DEBUG", "health check"}}},
	} {
		t.Run(tc.format+"/"+tc.level, func(t *testing.T) {
			t.Parallel()
			url, logs, stop := serveInProcess(t, "--log-format", tc.format, "--log-level", tc.level)
			if status, _, err := servertest.Probe(url, "/readyz"); err != nil || status != http.StatusOK {
				t.Fatalf("/readyz: %d, %v", status, err)
			}
			if _, err := push(t, url, "sy_log_test"); err != nil {
				t.Fatal(err)
			}
			if err := stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
			seen := map[[2]string]bool{}
			sc := bufio.NewScanner(strings.NewReader(logs.String()))
			for sc.Scan() {
				level, msg := parseLogLine(t, tc.format, sc.Text())
				seen[[2]string{level, msg}] = true
			}
			for _, w := range tc.want {
				if !seen[w] {
					t.Errorf("no %s line %q in:\n%s", w[0], w[1], logs.String())
				}
			}
			for _, u := range tc.unwanted {
				if seen[u] {
					t.Errorf("a %s line %q at --log-level %s:\n%s", u[0], u[1], tc.level, logs.String())
				}
			}
		})
	}
}

// parseLogLine returns the level and message of a line in format, failing the
// test for a line not in that format.
func parseLogLine(t *testing.T, format, line string) (level, msg string) {
	t.Helper()
	if format == "json" {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		level, _ = m["level"].(string)
		msg, _ = m["msg"].(string)
		return level, msg
	}
	if !strings.HasPrefix(line, "time=") {
		t.Fatalf("not a text line: %q", line)
	}
	for _, field := range []struct {
		key string
		to  *string
	}{{"level=", &level}, {"msg=", &msg}} {
		_, rest, ok := strings.Cut(line, " "+field.key)
		if !ok {
			t.Fatalf("no %s in %q", field.key, line)
		}
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			*field.to = rest[1 : end+1]
		} else {
			*field.to, _, _ = strings.Cut(rest, " ")
		}
	}
	return level, msg
}

// TestServeBadLogFlags: a log level or format that does not exist is refused.
func TestServeBadLogFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--log-level", "loud"}, {"--log-format", "xml"}} {
		err := run(context.Background(), append([]string{"serve", "--database-url=", "--data-dir", t.TempDir()}, args...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("serve %v: %v; want an error about %s", args, err, args[0])
		}
	}
}

// TestServeHealthProbes: the binary answers gRPC health, /healthz and /readyz
// without a token.
func TestServeHealthProbes(t *testing.T) {
	t.Parallel()
	url, _, _ := serveInProcess(t)
	if st, err := servertest.GRPCHealth(url, ""); err != nil || st != grpchealth.StatusServing {
		t.Errorf("grpc health: %v, %v; want SERVING", st, err)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body, err := servertest.Probe(url, path); err != nil || status != http.StatusOK {
			t.Errorf("%s: %d %q, %v; want 200", path, status, body, err)
		}
	}
}

// TestShutdownDelay: with --shutdown-delay, SIGTERM first makes the server not
// ready (gRPC health NOT_SERVING, /readyz 503) while it keeps serving calls and
// /healthz, so a load balancer can take it out of rotation; then it stops
// cleanly.
func TestShutdownDelay(t *testing.T) {
	t.Parallel()
	url, _, stop := serveInProcess(t, "--shutdown-delay", "2s")
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	deadline := time.Now().Add(1500 * time.Millisecond)
	for {
		st, _ := servertest.GRPCHealth(url, "")
		code, body, _ := servertest.Probe(url, "/readyz")
		if st == grpchealth.StatusNotServing && code == http.StatusServiceUnavailable && strings.Contains(body, "shutting down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("during the shutdown delay: grpc health %v, /readyz %d %q; want NOT_SERVING and 503", st, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _, err := servertest.Probe(url, "/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("/healthz during the shutdown delay: %d, %v; want 200", code, err)
	}
	if _, err := push(t, url, "sy_log_test"); err != nil {
		t.Errorf("a push during the shutdown delay: %v, want it served", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("serve after the delay: %v", err)
	}
}
