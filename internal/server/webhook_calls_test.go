package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/service"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestWebhookReceiverIsACall checks that the webhook receiver is served like
// every RPC: each answer carries a fresh request id in X-Request-Id (the same
// one its receipt quotes), each request is logged once as an "rpc" line with
// that id, its path, protocol "http" and the code of its answer, and the
// webhook's rate limit refuses with resource_exhausted and Retry-After, as the
// one error mapping has it.
func TestWebhookReceiverIsACall(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			sink := &servertest.LogSink{}
			srv := servertest.Start(t, eng, servertest.Options{
				Engine:     fastEngine,
				Logger:     sink.Logger(slog.LevelInfo),
				RateLimits: map[string]auth.Rate{auth.RoleProducer: {PerSecond: 1, Burst: 2}},
			})
			w := &webhookEnv{t: t, srv: srv, a: newAPI(srv.URL, grpcProtocol())}
			hook, _ := w.create(&switchyardv1.WebhookSettings{Name: "calls", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE, KeyExpression: `"hook.calls"`}, "")
			path := service.WebhookPath + hook.GetId()

			type want struct {
				path, code string
				status     int
			}
			wants := map[string]want{} // by request id
			send := func(method, target string, body []byte) (int, http.Header) {
				t.Helper()
				req, _ := http.NewRequest(method, srv.URL+target, bytes.NewReader(body))
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				raw, _ := io.ReadAll(res.Body)
				var rec struct {
					RequestID string `json:"request_id"`
				}
				if err := json.Unmarshal(raw, &rec); err != nil {
					t.Fatalf("%s %s: answer %d is not JSON: %q", method, target, res.StatusCode, raw)
				}
				id := res.Header.Get(service.RequestIDHeader)
				if id == "" || rec.RequestID != id {
					t.Fatalf("%s %s: X-Request-Id %q, receipt request_id %q; want the same id in both", method, target, id, rec.RequestID)
				}
				if _, dup := wants[id]; dup {
					t.Fatalf("%s %s: request id %s given twice", method, target, id)
				}
				return res.StatusCode, res.Header
			}
			expect := func(method, target string, body []byte, status int, code string) http.Header {
				t.Helper()
				got, h := send(method, target, body)
				if got != status {
					t.Fatalf("%s %s: HTTP %d, want %d", method, target, got, status)
				}
				wants[h.Get(service.RequestIDHeader)] = want{target, code, status}
				return h
			}

			expect(http.MethodPost, path, []byte(`{"n":1}`), http.StatusOK, "ok")
			expect(http.MethodGet, path, nil, http.StatusMethodNotAllowed, "unimplemented")
			expect(http.MethodPost, service.WebhookPath+"01890000-0000-7000-8000-000000000000", []byte(`{}`), http.StatusNotFound, "not_found")
			// The burst of 2 is spent by the first delivery and this one;
			// within the next second the webhook is refused.
			expect(http.MethodPost, path, []byte(`not json`), http.StatusBadRequest, "invalid_argument")
			var limited http.Header
			for range 20 {
				status, h := send(http.MethodPost, path, []byte(`{}`))
				if status == http.StatusTooManyRequests {
					wants[h.Get(service.RequestIDHeader)] = want{path, "resource_exhausted", status}
					limited = h
					break
				}
				wants[h.Get(service.RequestIDHeader)] = want{path, "ok", status}
			}
			if limited == nil || limited.Get("Retry-After") != "1" {
				t.Fatalf("past the webhook's limit: headers %v, want a 429 with Retry-After: 1", limited)
			}

			got := rpcLines(t, sink)
			for id, w := range wants {
				line, ok := got[id]
				if !ok {
					t.Errorf("HTTP %d on %s (request %s) not logged", w.status, w.path, id)
					continue
				}
				if line["procedure"] != w.path || line["protocol"] != "http" || line["code"] != w.code {
					t.Errorf("request %s logged as procedure %v, protocol %v, code %v; want %s, http, %s",
						id, line["procedure"], line["protocol"], line["code"], w.path, w.code)
				}
				if _, ok := line["duration"]; !ok {
					t.Errorf("request %s logged without a duration", id)
				}
			}
			if n := len(sink.Lines(t, "webhook")); n != 0 {
				t.Errorf("%d lines logged by the receiver itself, want none (the call's line says it)", n)
			}
		})
	}
}

// rpcLines returns the "rpc" lines the sink holds, by request id; a request
// logged twice is an error.
func rpcLines(t *testing.T, sink *servertest.LogSink) map[string]map[string]any {
	t.Helper()
	got := map[string]map[string]any{}
	for _, line := range sink.Lines(t, "rpc") {
		id, _ := line["request_id"].(string)
		if _, dup := got[id]; dup {
			t.Errorf("request %s logged twice", id)
		}
		got[id] = line
	}
	return got
}
