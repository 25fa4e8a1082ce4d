package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/service"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestRPCLogLine: each call logs one "rpc" line with its procedure, the
// protocol it came in on (REST routes as "rest"), its code, duration and the
// request id the client got back.
func TestRPCLogLine(t *testing.T) {
	t.Parallel()
	sink := &servertest.LogSink{}
	s := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{
		Logger: sink.Logger(slog.LevelDebug),
	})
	const push = "/switchyard.v1.EventService/PushEvent"
	type want struct{ procedure, protocol, code string }
	wants := map[string]want{} // by request id
	for _, p := range servertest.Protocols() {
		if p.REST {
			continue
		}
		protocol := "connect"
		switch {
		case strings.HasPrefix(p.Name, "grpc-web"):
			protocol = "grpcweb"
		case strings.HasPrefix(p.Name, "grpc"):
			protocol = "grpc"
		}
		a := newAPI(s.URL, p)
		res, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "log.line"}))
		if err != nil {
			t.Fatalf("%s: push: %v", p.Name, err)
		}
		wants[res.Header().Get(service.RequestIDHeader)] = want{push, protocol, "ok"}
		_, err = a.events.GetEvent(context.Background(), connect.NewRequest(&switchyardv1.GetEventRequest{Id: "01890000-0000-7000-8000-000000000000"}))
		var ce *connect.Error
		if !errors.As(err, &ce) || ce.Code() != connect.CodeNotFound {
			t.Fatalf("%s: get a missing event: %v; want not_found", p.Name, err)
		}
		wants[ce.Meta().Get(service.RequestIDHeader)] = want{"/switchyard.v1.EventService/GetEvent", protocol, "not_found"}
	}
	for _, tc := range []struct{ method, path, body, code string }{
		{http.MethodPost, "/v1/events", `{"key":"log.rest"}`, "ok"},
		{http.MethodGet, "/v1/events/01890000-0000-7000-8000-000000000000", "", "not_found"},
	} {
		req, _ := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+servertest.AdminToken)
		res, err := servertest.HTTP1Client().Do(req)
		if err != nil {
			t.Fatalf("REST %s %s: %v", tc.method, tc.path, err)
		}
		res.Body.Close()
		procedure := push
		if tc.method == http.MethodGet {
			procedure = "/switchyard.v1.EventService/GetEvent"
		}
		wants[res.Header.Get(service.RequestIDHeader)] = want{procedure, "rest", tc.code}
	}

	got := rpcLines(t, sink)
	for id, w := range wants {
		line, ok := got[id]
		if !ok {
			t.Errorf("no rpc line for request %q (%+v)", id, w)
			continue
		}
		if line["procedure"] != w.procedure || line["protocol"] != w.protocol || line["code"] != w.code {
			t.Errorf("rpc line %v; want procedure %s, protocol %s, code %s", line, w.procedure, w.protocol, w.code)
		}
		if _, ok := line["duration"].(float64); !ok {
			t.Errorf("rpc line without a duration: %v", line)
		}
		if _, ok := line["trace_id"]; ok {
			t.Errorf("rpc line of an untraced call has a trace id: %v", line)
		}
	}
}

// TestRPCLogLevels: a successful heartbeat (a call a worker makes every few
// seconds) is logged at debug, so an info log has no line for it; its failure,
// and every other call, is logged at info.
func TestRPCLogLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		level        slog.Level
		heartbeatsOK int
	}{{slog.LevelInfo, 0}, {slog.LevelDebug, 1}} {
		sink := &servertest.LogSink{}
		s := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{Logger: sink.Logger(tc.level)})
		a := newAPI(s.URL, grpcProtocol())
		ctx := context.Background()
		reg, err := a.workers.RegisterWorker(ctx, connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: "log", Actions: []string{"log.task"}, Slots: 1}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.workers.Heartbeat(ctx, connect.NewRequest(&switchyardv1.HeartbeatRequest{WorkerId: reg.Msg.GetWorkerId()})); err != nil {
			t.Fatal(err)
		}
		const missing = "01890000-0000-7000-8000-000000000000"
		if _, err := a.workers.Heartbeat(ctx, connect.NewRequest(&switchyardv1.HeartbeatRequest{WorkerId: missing})); connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("heartbeat of a missing worker: %v; want not_found", err)
		}
		count := map[string]int{}
		for _, line := range rpcLines(t, sink) {
			count[fmt.Sprint(line["procedure"], " ", line["code"])]++
		}
		want := map[string]int{
			"/switchyard.v1.WorkerService/RegisterWorker ok":   1,
			"/switchyard.v1.WorkerService/Heartbeat ok":        tc.heartbeatsOK,
			"/switchyard.v1.WorkerService/Heartbeat not_found": 1,
		}
		for k, n := range want {
			if count[k] != n {
				t.Errorf("at %s: %d rpc lines %q; want %d (all: %v)", tc.level, count[k], k, n, count)
			}
		}
	}
}
