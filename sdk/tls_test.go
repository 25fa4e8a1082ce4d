package sdk_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// TestClientOverTLS uses an https:// server whose certificate a private CA
// issued, trusted with WithTLSConfig, over every protocol: calls work, and a
// worker receives and completes a task over its stream.
func TestClientOverTLS(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{TLS: true})
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithProtocol(p),
				sdk.WithTLSConfig(&tls.Config{RootCAs: servertest.TestCA().Pool}))
			key := "sdk.tls." + p.String()

			pushed, err := c.Push(ctx, key, map[string]any{"n": 1})
			if err != nil {
				t.Fatalf("push over %s: %v", p, err)
			}
			got, err := c.GetEvent(ctx, pushed.GetEvent().GetId())
			if err != nil {
				t.Fatalf("get event over %s: %v", p, err)
			}
			if got.GetKey() != key {
				t.Errorf("event key = %q, want %q", got.GetKey(), key)
			}

			name := "tls-worker-" + p.String()
			w := sdk.NewWorker(c, sdk.WorkerConfig{Name: name, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
			action := "sdk.tls.echo." + p.String()
			w.Workflow(&switchyardv1.WorkflowSpec{
				Name:     "tls-" + p.String(),
				OnEvents: []string{key + ".start"},
				Tasks:    []*switchyardv1.TaskSpec{{Name: "echo", Action: action}},
			})
			w.Handle(action, func(_ context.Context, task *sdk.Task) (map[string]any, error) {
				return map[string]any{"echo": task.Input["n"]}, nil
			})
			(&workerSetup{client: c, worker: w, name: name}).run(t)

			runID := pushOne(t, c, key+".start", map[string]any{"n": 7})
			run := watch(t, c, runID)
			if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
				t.Fatalf("run over %s ended %v (%q), want SUCCEEDED", p, run.GetStatus(), run.GetError())
			}
			if out := tasksByName(run)["echo"].GetOutput().AsMap(); fmt.Sprint(out) != "map[echo:7]" {
				t.Errorf("task output = %v, want {echo: 7}", out)
			}
		})
	}
}

// TestClientRejectsUnknownAuthority calls a TLS server whose CA the client does
// not trust: the call fails at once with the certificate error inside an
// `unavailable` one, and is not retried, as no retry could succeed.
func TestClientRejectsUnknownAuthority(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{TLS: true})
	other, err := servertest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			transport := http.DefaultTransport.(*http.Transport).Clone()
			transport.TLSClientConfig = &tls.Config{RootCAs: other.Pool}
			transport.ForceAttemptHTTP2 = true
			counter := &countingTransport{next: transport}
			c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithProtocol(p),
				sdk.WithHTTPClient(&http.Client{Transport: counter}))
			_, err := c.Push(context.Background(), "sdk.tls.untrusted", nil)
			var unknown x509.UnknownAuthorityError
			if connect.CodeOf(err) != connect.CodeUnavailable || !errors.As(err, &unknown) {
				t.Errorf("push trusting another CA: %v, want unavailable with an x509.UnknownAuthorityError", err)
			}
			if n := counter.calls.Load(); n != 1 {
				t.Errorf("push was attempted %d times, want 1 (no retries)", n)
			}
		})
	}
}

// countingTransport counts round trips.
type countingTransport struct {
	next  http.RoundTripper
	calls atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.next.RoundTrip(r)
}
