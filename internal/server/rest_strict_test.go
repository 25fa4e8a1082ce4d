package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// httpAnswer is a plain HTTP call's answer.
type httpAnswer struct {
	status int
	header http.Header
	body   string
}

// plainCall makes a plain HTTP call as curl would, as the admin.
func plainCall(t *testing.T, srv *servertest.Server, method, path, contentType, body string) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+servertest.AdminToken)
	res, err := servertest.HTTP1Client().Do(req)
	var data []byte
	if err == nil {
		defer res.Body.Close()
		data, err = io.ReadAll(res.Body)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return httpAnswer{status: res.StatusCode, header: res.Header, body: string(data)}
}

// errorBody decodes a JSON error answer: a google.rpc.Status (REST, a number
// code) or a Connect error (a name).
func errorBody(t *testing.T, a httpAnswer) (code any, message string) {
	t.Helper()
	var st struct {
		Code    any    `json:"code"`
		Message string `json:"message"`
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("answer %d %q has Content-Type %q, want application/json", a.status, a.body, ct)
	}
	if err := json.Unmarshal([]byte(a.body), &st); err != nil {
		t.Fatalf("answer %d is not a JSON error: %q", a.status, a.body)
	}
	return st.Code, st.Message
}

// TestRESTWrongRouteOrMethod: an unknown REST path is 404 not_found and a
// known path with the wrong method 405 unimplemented with Allow, each with a
// JSON error body that says what was asked.
func TestRESTWrongRouteOrMethod(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	a := plainCall(t, srv, http.MethodPost, "/v1/evnets", "application/json", `{"key":"a"}`)
	code, msg := errorBody(t, a)
	if a.status != http.StatusNotFound || code != float64(connect.CodeNotFound) || !strings.Contains(msg, "no REST route POST /v1/evnets") {
		t.Errorf("unknown route: %d %q, want 404 not_found naming the route", a.status, a.body)
	}
	a = plainCall(t, srv, http.MethodPut, "/v1/events", "application/json", `{"key":"a"}`)
	code, msg = errorBody(t, a)
	if a.status != http.StatusMethodNotAllowed || code != float64(connect.CodeUnimplemented) ||
		!strings.Contains(a.header.Get("Allow"), "POST") || !strings.Contains(msg, "PUT is not allowed on /v1/events") {
		t.Errorf("wrong method: %d Allow %q %q, want 405 unimplemented with Allow: POST", a.status, a.header.Get("Allow"), a.body)
	}
}

// TestRESTConnectUnknownProcedure: a procedure that does not exist is
// unimplemented on every protocol, with the procedure that was probably meant;
// over plain HTTP it is a Connect JSON error with HTTP 404.
func TestRESTConnectUnknownProcedure(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	for _, p := range servertest.Protocols() {
		if p.REST {
			continue
		}
		cl := connect.NewClient[emptypb.Empty, emptypb.Empty](p.HTTP, srv.URL+"/switchyard.v1.EventService/PushEvnt", p.Options...)
		_, err := cl.CallUnary(context.Background(), connect.NewRequest(&emptypb.Empty{}))
		if connect.CodeOf(err) != connect.CodeUnimplemented || !strings.Contains(err.Error(), "did you mean "+switchyardv1connect.EventServicePushEventProcedure) {
			t.Errorf("%s: %v, want unimplemented naming PushEvent", p.Name, err)
		}
	}
	// The other services on the server still answer for their procedures.
	if status, err := servertest.GRPCHealth(srv.URL, ""); err != nil || status != grpchealth.StatusServing {
		t.Errorf("gRPC health: %v, %v; want SERVING", status, err)
	}
	for _, path := range []string{"/switchyard.v1.EventService/PushEvnt", "/switchyard.v1.Nope/Push"} {
		a := plainCall(t, srv, http.MethodPost, path, "application/json", `{}`)
		code, msg := errorBody(t, a)
		if a.status != http.StatusNotFound || code != "unimplemented" || !strings.Contains(msg, "unknown procedure "+path) {
			t.Errorf("POST %s: %d %q, want 404 with a Connect unimplemented error", path, a.status, a.body)
		}
	}
}

// TestRESTConnectWithoutContentType: a Connect POST without a Content-Type is
// 415 with a body that says what to send.
func TestRESTConnectWithoutContentType(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	for _, ct := range []string{"", "text/plain"} {
		a := plainCall(t, srv, http.MethodPost, switchyardv1connect.EventServicePushEventProcedure, ct, `{"key":"a"}`)
		_, msg := errorBody(t, a)
		if a.status != http.StatusUnsupportedMediaType || !strings.Contains(msg, "send application/json") || a.header.Get("Accept-Post") == "" {
			t.Errorf("Content-Type %q: %d %q, want 415 saying to send application/json", ct, a.status, a.body)
		}
	}
}

// TestRESTErrorDetailsWithoutNulls: REST error details leave out unset fields,
// as Connect JSON does.
func TestRESTErrorDetailsWithoutNulls(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	a := plainCall(t, srv, http.MethodPost, "/v1/events", "application/json", `{"key":""}`)
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, `"violations"`) || strings.Contains(a.body, "null") {
		t.Errorf("invalid push: %d %q, want 400 with violations and no null fields", a.status, a.body)
	}
}

// TestRESTTextsMatchConnect: the same bad value gets the same message on REST
// (in the body, the path or the query string) as on Connect JSON, naming the
// field and what it must be; nothing is stored.
func TestRESTTextsMatchConnect(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	const runWorkflow, listRuns = switchyardv1connect.WorkflowServiceRunWorkflowProcedure, switchyardv1connect.RunServiceListRunsProcedure
	for _, tt := range []struct {
		method, path, restBody string
		procedure, body        string
		want                   string
	}{
		{"POST", "/v1/events", `{"key":"a","paylod":{}}`, switchyardv1connect.EventServicePushEventProcedure, `{"key":"a","paylod":{}}`,
			`unmarshal message: unknown field "paylod" (did you mean "payload"?)`},
		{"POST", "/v1/events", `{"key":"a","payload":"hello"}`, switchyardv1connect.EventServicePushEventProcedure, `{"key":"a","payload":"hello"}`,
			"unmarshal message: payload must be a JSON object"},
		{"POST", "/v1/workflows", `{"spec":{"name":"w","onEvent":["a"],"tasks":[{"name":"t","action":"x"}]}}`, switchyardv1connect.WorkflowServicePutWorkflowProcedure,
			`{"spec":{"name":"w","onEvent":["a"],"tasks":[{"name":"t","action":"x"}]}}`, `unmarshal message: unknown field "spec.onEvent" (did you mean "onEvents"?)`},
		{"POST", "/v1/workflows/w:run", `{"priority":"high"}`, runWorkflow, `{"name":"w","priority":"high"}`,
			`unmarshal message: priority must be a whole number (int32), not "high"`},
		{"GET", "/v1/runs?status=RUN_STATUS_DONE", "", listRuns, `{"status":"RUN_STATUS_DONE"}`,
			`unmarshal message: status must be one of RUN_STATUS_QUEUED, `},
		{"GET", "/v1/runs?page_size=ten", "", listRuns, `{"pageSize":"ten"}`,
			`unmarshal message: page_size must be a whole number (int32), not "ten"`},
		{"GET", "/v1/runs?staus=RUN_STATUS_FAILED", "", listRuns, `{"staus":"RUN_STATUS_FAILED"}`,
			`unmarshal message: unknown field "staus" (did you mean "status"?)`},
	} {
		_, restMsg := errorBody(t, plainCall(t, srv, tt.method, tt.path, "application/json", tt.restBody))
		a := plainCall(t, srv, http.MethodPost, tt.procedure, "application/json", tt.body)
		code, connectMsg := errorBody(t, a)
		if code != "invalid_argument" || restMsg != connectMsg || !strings.HasPrefix(connectMsg, tt.want) {
			t.Errorf("%s %s: REST %q, Connect %s %q; want both invalid_argument %q", tt.method, tt.path, restMsg, code, connectMsg, tt.want)
		}
	}
	for _, table := range []string{"events", "workflows"} {
		n, err := srv.Store.DB().NewSelect().Table(table).Count(context.Background())
		if err != nil || n != 0 {
			t.Errorf("refused requests left %d rows in %s (%v)", n, table, err)
		}
	}
}
