package server_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestRESTUnreadableRequest sends REST calls whose path or query string the
// transcoder cannot turn into a request message. Each is invalid_argument with
// HTTP 400 and a readable message (the transcoder alone answers internal or
// unknown, HTTP 500), and the workflow a refused DELETE names is still there.
// A call that was read keeps its own code.
func TestRESTUnreadableRequest(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	ctx := context.Background()
	putWorkflow(t, newAPI(srv.URL, servertest.Protocols()[0]), &switchyardv1.WorkflowSpec{
		Name: "kept", Tasks: []*switchyardv1.TaskSpec{{Name: "a", Action: "a"}},
	})
	unreadable := []struct{ method, path string }{
		{"GET", "/v1/runs?=x"},                           // an empty field path
		{"GET", "/v1/events?key.x=1"},                    // a path through a scalar
		{"GET", "/v1/runs/%FF"},                          // a path variable that is not UTF-8
		{"GET", "/v1/events?key=%FF"},                    // a query value that is not UTF-8
		{"GET", "/v1/runs?status=%FF"},                   // an enum name that is not UTF-8
		{"GET", "/v1/runs?created_after.nanos=-5"},       // a Timestamp out of range
		{"POST", "/v1/runs/%FF:cancel"},                  // a body route
		{"DELETE", "/v1/workflows/kept?=x"},              // a write that must not happen
		{"DELETE", "/v1/workflows/kept?name.nested=%FF"}, // both at once
	}
	for _, p := range servertest.Protocols() {
		if !p.REST {
			continue
		}
		c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
		for _, u := range unreadable {
			var body []byte
			if u.method == "POST" {
				body = []byte("{}")
			}
			_, err := restDo[switchyardv1.GetRunResponse](ctx, c, u.method, u.path, body)
			msg := errMessage(err)
			if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.HasPrefix(msg, "the request could not be read") || !utf8.ValidString(msg) {
				t.Errorf("%s %s %s: got %v (code %s), want invalid_argument saying the request could not be read", p.Name, u.method, u.path, err, connect.CodeOf(err))
			}
		}
		if _, err := restDo[switchyardv1.GetRunResponse](ctx, c, "GET", "/v1/runs/0193a5b2-0000-7000-8000-000000000000", nil); connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("%s: a readable call for an unknown run got %v, want not_found", p.Name, err)
		}
		if _, err := restDo[switchyardv1.GetRunResponse](ctx, c, "POST", "/v1/runs/x:cancel", []byte("{not json")); connect.CodeOf(err) != connect.CodeInvalidArgument || strings.HasPrefix(errMessage(err), "the request could not be read") {
			t.Errorf("%s: a bad JSON body got %v, want the codec's own invalid_argument", p.Name, err)
		}
	}
	got, err := newAPI(srv.URL, servertest.Protocols()[0]).workflows.GetWorkflow(ctx, connect.NewRequest(&switchyardv1.GetWorkflowRequest{Name: "kept"}))
	if err != nil || got.Msg.GetWorkflow().GetSpec().GetName() != "kept" {
		t.Fatalf("the workflow a refused DELETE named: %v, %v; want it kept", got, err)
	}
}
