package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/service"
)

// restRoute is a REST route that takes its request from the path and query.
type restRoute struct {
	procedure, method, template string
	id                          string // the placeholder its seeds put in the path
}

// queryRoutes returns the API's REST routes without a body, by procedure.
func queryRoutes() []restRoute {
	methods := apiMethods()
	var out []restRoute
	for _, procedure := range slices.Sorted(maps.Keys(methods)) {
		rule, method, template := restRule(methods[procedure])
		if rule == nil || rule.GetBody() != "" {
			continue
		}
		id := fuzzRPCs[procedure].pathID
		if strings.Contains(template, "{name}") {
			id = fzFlow
		}
		out = append(out, restRoute{procedure: procedure, method: method, template: template, id: id})
	}
	return out
}

// FuzzRESTQuery fuzzes the REST routes that take their request from the path
// and the query string (GET and DELETE): an input picks a route, the value of
// its path variables and the query string. The oracle is the per-RPC targets':
// no internal or unknown code, nothing logged at error level, nothing stored
// by a call that fails; and every failure is a google.rpc.Status with the
// HTTP status of its code.
func FuzzRESTQuery(f *testing.F) {
	routes := queryRoutes()
	if len(routes) < 10 {
		f.Fatalf("found only %d query routes", len(routes))
	}
	e := newFuzzEnv(f, false)
	queries := []string{
		"", "page_size=2", "page_size=abc&page_token=%zz", "page_size=99999999999", "page_token=fuzz",
		"created_after=2026-13-01T00:00:00Z&created_before=x", "created_after=2026-01-01T00:00:00Z",
		"status=RUN_STATUS_NOPE&trigger=7", "status=RUN_STATUS_QUEUED&trigger=RUN_TRIGGER_EVENT",
		"version=-1", "version=1", "key=a&key=b&unknown.field=1&=x", "event_id=" + fzEvent + "&workflow=" + fzFlow,
		"tenant=default", "page_size=%00",
	}
	for i, r := range routes {
		for _, q := range queries {
			f.Add(uint8(i), r.id, q)
		}
	}
	f.Add(uint8(0), "../x", "")
	f.Add(uint8(1), "%", "")
	f.Add(uint8(2), strings.Repeat("a", 5000), "")
	f.Fuzz(func(t *testing.T, route uint8, path, query string) {
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '#' }) {
			return // not a query string an HTTP client sends: outside the input space
		}
		r := routes[int(route)%len(routes)]
		u := fillPath(r.template, func(string) string { return url.PathEscape(string(e.withIDs([]byte(path)))) })
		if query != "" {
			u += "?" + string(e.withIDs([]byte(query)))
		}
		ok := e.check(t, r.procedure+" over REST "+r.method+" "+u, false, func(ctx context.Context) error {
			return e.restQuery(ctx, r.method, u)
		})
		if renew := fuzzRPCs[r.procedure].renew; ok && renew != nil {
			renew(t, e)
		}
	})
}

// restQuery makes a REST call without a body and returns its outcome as an
// error with the code of its google.rpc.Status; a 404 or 405 without one is a
// path no route matches. Anything else that is not a success is an error
// without a code.
func (e *fuzzEnv) restQuery(ctx context.Context, method, path string) error {
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", servertest.ErrNoCode, err)
	}
	req.Header.Set("Authorization", "Bearer "+servertest.AdminToken)
	res, err := e.rest.proto.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", servertest.ErrNoCode, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%w: read the answer: %w", servertest.ErrNoCode, err)
	}
	if res.StatusCode == http.StatusOK {
		return nil
	}
	st := &status.Status{}
	if err := protojson.Unmarshal(data, st); err != nil {
		if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed {
			return connect.NewError(connect.CodeNotFound, fmt.Errorf("not routed: HTTP %d %q", res.StatusCode, data))
		}
		return fmt.Errorf("HTTP %d with a body that is not a google.rpc.Status: %q", res.StatusCode, data)
	}
	code := connect.Code(st.GetCode())
	if want := restStatus[code]; want != 0 && want != res.StatusCode {
		return fmt.Errorf("code %s came with HTTP %d, want %d", code, res.StatusCode, want)
	}
	return connect.NewError(code, errors.New(st.GetMessage()))
}

// FuzzWebhookReceiver fuzzes what a sender posts to a webhook without a
// signature scheme: the body, the query string and one header, which its
// expressions read. The answer is never a 5xx other than 503, always the JSON
// receipt with a request id; nothing is logged at error level; and a request
// that is refused stores nothing but its delivery record.
func FuzzWebhookReceiver(f *testing.F) {
	e := newFuzzEnv(f, false)
	res, err := e.api.webhooks.CreateWebhook(context.Background(), connect.NewRequest(&switchyardv1.CreateWebhookRequest{Settings: &switchyardv1.WebhookSettings{
		Name: "fuzz-none", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE,
		KeyExpression:         `"fuzz." + body.action`,
		ScopeExpression:       `"scope" in query ? query["scope"] : ""`,
		IdempotencyExpression: `"x-delivery" in headers ? headers["x-delivery"] : ""`,
	}}))
	if err != nil {
		f.Fatalf("create webhook: %v", err)
	}
	hookURL := e.srv.URL + service.WebhookPath + res.Msg.GetWebhook().GetId()
	for _, s := range []struct{ body, query, delivery string }{
		{`{"action":"created","n":1}`, "", ""},
		{`{"action":"created","repository":{"full_name":"acme/app"}}`, "scope=acme", "d-1"},
		{`{"action":"created"}`, "scope=" + strings.Repeat("s", 300), strings.Repeat("d", 200)},
		{`{"action":"a b"}`, "scope=%zz", "d-2"},
		{`{"action":1}`, "", ""},
		{`[1,2]`, "", ""},
		{`"x"`, "", ""},
		{`{"action":"x","deep":` + deepJSON(20000) + `}`, "", ""},
		{`{"action":"x","n":1e400}`, "", ""},
		{`{`, "", ""},
		{"", "", ""},
		{"\xff", "", ""},
	} {
		f.Add([]byte(s.body), s.query, s.delivery)
	}
	f.Fuzz(func(t *testing.T, body []byte, query, delivery string) {
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '#' }) ||
			strings.ContainsFunc(delivery, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return // not a request an HTTP client sends: outside the input space
		}
		u := hookURL
		if query != "" {
			u += "?" + query
		}
		var code int
		var answer []byte
		o := e.observe(t, false, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Delivery", delivery)
			res, err := e.rest.proto.HTTP.Do(req)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			code = res.StatusCode
			answer, err = io.ReadAll(res.Body)
			return err
		})
		problems := o.problems
		if o.err != nil {
			problems = append(problems, fmt.Sprintf("no answer: %v", o.err))
		}
		var rec struct {
			Error     string `json:"error"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(answer, &rec); err != nil || rec.RequestID == "" {
			problems = append(problems, fmt.Sprintf("HTTP %d with %q: not a receipt with a request id", code, answer))
		}
		if code >= 500 && code != http.StatusServiceUnavailable {
			problems = append(problems, fmt.Sprintf("HTTP %d: %s", code, rec.Error))
		}
		delete(o.changed, "webhook_deliveries")
		if code != http.StatusOK && len(o.changed) > 0 {
			problems = append(problems, fmt.Sprintf("HTTP %d (%s), yet changed stored rows: %v", code, rec.Error, o.changed))
		}
		judge(t, "POST "+u, problems)
	})
}
