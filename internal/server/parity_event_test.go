package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/store"
)

const (
	pushRPC       = switchyardv1connect.EventServicePushEventProcedure
	bulkRPC       = switchyardv1connect.EventServiceBulkPushEventsProcedure
	getEventRPC   = switchyardv1connect.EventServiceGetEventProcedure
	listEventsRPC = switchyardv1connect.EventServiceListEventsProcedure
	replayRPC     = switchyardv1connect.EventServiceReplayEventProcedure
)

var replayEventRPC = unaryOf[switchyardv1.ReplayEventRequest, switchyardv1.ReplayEventResponse](replayRPC)

// TestEventServiceParity runs every EventService case over every protocol, on
// every database engine (and over TLS too on SQLite). Each protocol has a
// server of its own: some cases hold the server's whole pool.
func TestEventServiceParity(t *testing.T) {
	runParity(t, parityCases, parityOptions{ownServer: true, tls: true})
}

var parityCases = []parityCase{
	{"push stores the event", pushRPC, func(e *env) string {
		req := fullRequest("first")
		res, err := e.c.push(ctx(e), req)
		mustOK(e, err)
		ev := res.GetEvent()
		if res.GetDeduplicated() || ev.GetId() == "" || ev.GetKey() != "user.created" || ev.GetScope() != "acme" || ev.GetPriority() != 3 ||
			!proto.Equal(ev.GetPayload(), req.GetPayload()) || ev.GetMetadata()["region"] != "eu" ||
			!ev.GetOccurredAt().AsTime().Equal(req.GetOccurredAt().AsTime()) || ev.GetCreatedAt() == nil || len(res.GetRunIds()) != 0 {
			e.t.Errorf("push: unexpected response %v", res)
		}
		e.ids["first"] = ev.GetId()
		got, err := e.c.get(ctx(e), ev.GetId())
		mustOK(e, err)
		if !proto.Equal(got.GetEvent(), ev) {
			e.t.Errorf("get after push: %v, want %v", got.GetEvent(), ev)
		}
		return e.describe(res, nil)
	}},
	{"repeat with the same idempotency key is deduplicated", pushRPC, func(e *env) string {
		res, err := e.c.push(ctx(e), fullRequest("first"))
		mustOK(e, err)
		if !res.GetDeduplicated() || res.GetEvent().GetId() != e.ids["first"] {
			e.t.Errorf("repeat: deduplicated=%v id=%s, want true and %s", res.GetDeduplicated(), res.GetEvent().GetId(), e.ids["first"])
		}
		return e.describe(res, nil)
	}},
	{"same idempotency key with a different request is already_exists", pushRPC, func(e *env) string {
		req := fullRequest("first")
		req.Payload.Fields["amount"] = structpb.NewNumberValue(43)
		_, err := e.c.push(ctx(e), req)
		wantCode(e, err, connect.CodeAlreadyExists)
		if !strings.Contains(errMessage(err), e.ids["first"]) {
			e.t.Errorf("already_exists message %q does not name the original event %s", errMessage(err), e.ids["first"])
		}
		return e.describe(nil, err)
	}},
	{"concurrent duplicates store one event", pushRPC, func(e *env) string {
		const n = 8
		results := make([]*switchyardv1.PushEventResponse, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { results[i], errs[i] = e.c.push(ctx(e), fullRequest("concurrent")) })
		}
		wg.Wait()
		fresh := 0
		for i := range n {
			mustOK(e, errs[i])
			if errs[i] != nil {
				return "error"
			}
			if !results[i].GetDeduplicated() {
				fresh++
			}
			if results[i].GetEvent().GetId() != results[0].GetEvent().GetId() {
				e.t.Errorf("concurrent duplicates got different events: %s and %s", results[i].GetEvent().GetId(), results[0].GetEvent().GetId())
			}
		}
		if fresh != 1 {
			e.t.Errorf("%d of %d concurrent duplicates were stored, want exactly 1", fresh, n)
		}
		return fmt.Sprintf("fresh=%d", fresh)
	}},
	{"unknown fields are refused", pushRPC, func(e *env) string {
		body, want := []byte(`{"key":"unknown.fields","idempotencyKey":"unknown-1","notAField":{"x":1}}`), `unknown field "notAField"`
		if !isJSON(e.c.proto) {
			body, _ = proto.Marshal(&switchyardv1.PushEventRequest{Key: "unknown.fields", IdempotencyKey: "unknown-1"})
			body = protowire.AppendTag(body, 99, protowire.BytesType)
			body = protowire.AppendString(body, "not a field")
			want = "unknown field number 99"
		}
		err := e.c.pushRaw(ctx(e), body)
		wantCode(e, err, connect.CodeInvalidArgument)
		if !strings.Contains(err.Error(), want) {
			e.t.Errorf("%s: %v, want a message naming the field: %s", e.c.proto.Name, err, want)
		}
		return e.describe(nil, err)
	}},
	{"a misspelled field names the one meant", pushRPC, func(e *env) string {
		if !isJSON(e.c.proto) {
			return "JSON only" // binary fields have numbers, not names
		}
		err := e.c.pushRaw(ctx(e), []byte(`{"key":"a","paylod":{"x":1}}`))
		wantCode(e, err, connect.CodeInvalidArgument)
		if want := `unknown field "paylod" (did you mean "payload"?)`; !strings.Contains(err.Error(), want) {
			e.t.Errorf("%s: %v, want %s", e.c.proto.Name, err, want)
		}
		return "JSON only"
	}},
	{"malformed body is invalid_argument", pushRPC, func(e *env) string {
		body := []byte{0x0a, 0xff, 0xff} // a length prefix running past the end
		if isJSON(e.c.proto) {
			body = []byte(`{"key":`)
		}
		err := e.c.pushRaw(ctx(e), body)
		wantCode(e, err, connect.CodeInvalidArgument)
		return e.describe(nil, err)
	}},
	{"wrong field type is invalid_argument naming the field and type", pushRPC, func(e *env) string {
		body := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 5) // key as a number
		if isJSON(e.c.proto) {
			body = []byte(`{"key":5}`)
		}
		err := e.c.pushRaw(ctx(e), body)
		wantCode(e, err, connect.CodeInvalidArgument)
		return connect.CodeOf(err).String() + " " + strictMessage(err)
	}},
	{"a payload that is not an object names the field and the rule", pushRPC, func(e *env) string {
		body := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "a")
		body = protowire.AppendVarint(protowire.AppendTag(body, 2, protowire.VarintType), 5) // payload as a number
		if isJSON(e.c.proto) {
			body = []byte(`{"key":"a","payload":"hello"}`)
		}
		err := e.c.pushRaw(ctx(e), body)
		wantCode(e, err, connect.CodeInvalidArgument)
		return connect.CodeOf(err).String() + " " + strictMessage(err)
	}},
	{"invalid requests name the field", pushRPC, func(e *env) string {
		big := strings.Repeat("x", 600<<10)
		tooManyMetadata := map[string]string{}
		for i := range 65 {
			tooManyMetadata[fmt.Sprint("k", i)] = "v"
		}
		cases := []struct {
			name  string
			req   *switchyardv1.PushEventRequest
			field string
		}{
			{"empty key", &switchyardv1.PushEventRequest{}, "key"},
			{"bad key", &switchyardv1.PushEventRequest{Key: "user created!"}, "key"},
			{"long key", &switchyardv1.PushEventRequest{Key: strings.Repeat("k", 256)}, "key"},
			{"priority", &switchyardv1.PushEventRequest{Key: "a", Priority: 10}, "priority"},
			{"negative priority", &switchyardv1.PushEventRequest{Key: "a", Priority: -1}, "priority"},
			{"long idempotency key", &switchyardv1.PushEventRequest{Key: "a", IdempotencyKey: strings.Repeat("i", 256)}, "idempotency_key"},
			{"bad scope", &switchyardv1.PushEventRequest{Key: "a", Scope: "a b"}, "scope"},
			{"metadata count", &switchyardv1.PushEventRequest{Key: "a", Metadata: tooManyMetadata}, "metadata"},
			{"long metadata value", &switchyardv1.PushEventRequest{Key: "a", Metadata: map[string]string{"k": strings.Repeat("v", 1025)}}, "metadata"},
			{"payload size", &switchyardv1.PushEventRequest{Key: "a", Payload: mustStruct(map[string]any{"big": big})}, "payload"},
		}
		var out []string
		for _, tc := range cases {
			_, err := e.c.push(ctx(e), tc.req)
			wantCode(e, err, connect.CodeInvalidArgument)
			fields := violationFields(err)
			if !slices.ContainsFunc(fields, func(f string) bool { return strings.HasPrefix(f, tc.field) }) {
				e.t.Errorf("%s: violations %v do not name %s", tc.name, fields, tc.field)
			}
			out = append(out, tc.name+": "+e.describe(nil, err))
		}
		return strings.Join(out, "\n")
	}},
	{"get unknown event is not_found", getEventRPC, func(e *env) string {
		_, err := e.c.get(ctx(e), "01890000-0000-7000-8000-000000000000")
		wantCode(e, err, connect.CodeNotFound)
		return e.describe(nil, err)
	}},
	{"get with a malformed id is invalid_argument", getEventRPC, func(e *env) string {
		_, err := e.c.get(ctx(e), "not-a-uuid")
		wantCode(e, err, connect.CodeInvalidArgument)
		return e.describe(nil, err)
	}},
	{"missing token is unauthenticated", pushRPC, func(e *env) string {
		_, err := e.c.withToken("").push(ctx(e), &switchyardv1.PushEventRequest{Key: "no.token"})
		wantCode(e, err, connect.CodeUnauthenticated)
		return e.describe(nil, err)
	}},
	{"wrong token is unauthenticated", getEventRPC, func(e *env) string {
		_, err := e.c.withToken("sy_wrong").get(ctx(e), e.ids["first"])
		wantCode(e, err, connect.CodeUnauthenticated)
		return e.describe(nil, err)
	}},
	{"expired token is unauthenticated", pushRPC, func(e *env) string {
		tok := &store.Token{ID: "expired", TenantID: store.DefaultTenant, Name: "expired", Role: auth.RoleAdmin, TokenHash: engine.TokenHash("sy_expired"), CreatedAt: store.TimeMicros(1), ExpiresAt: store.TimeMicros(2)}
		if err := e.srv.Store.Write(context.Background(), func(ctx context.Context, q store.Q) error { return q.TokenInsert(ctx, tok) }); err != nil {
			e.t.Fatal(err)
		}
		_, err := e.c.withToken("sy_expired").push(ctx(e), &switchyardv1.PushEventRequest{Key: "expired.token"})
		wantCode(e, err, connect.CodeUnauthenticated)
		if !strings.Contains(errMessage(err), "expired") {
			e.t.Errorf("%s: message %q does not say the token expired", e.c.proto.Name, errMessage(err))
		}
		return e.describe(nil, err)
	}},
	{"oversize body is resource_exhausted", pushRPC, func(e *env) string {
		req := &switchyardv1.PushEventRequest{Key: "too.big", Payload: mustStruct(map[string]any{"big": strings.Repeat("x", 16<<20+1000)})}
		_, err := e.c.push(ctx(e), req)
		wantCode(e, err, connect.CodeResourceExhausted)
		return e.describe(nil, err)
	}},
	{"bulk push stores every event", bulkRPC, func(e *env) string {
		req := &switchyardv1.BulkPushEventsRequest{Events: []*switchyardv1.PushEventRequest{
			{Key: "bulk.a", IdempotencyKey: "bulk-1"},
			{Key: "bulk.b", Payload: mustStruct(map[string]any{"n": 1})},
			{Key: "bulk.a", IdempotencyKey: "bulk-1"}, // the same as the first: deduplicated
			fullRequest("first"),                      // stored earlier: deduplicated
		}}
		res, err := e.c.bulk(ctx(e), req)
		mustOK(e, err)
		if err == nil {
			r := res.GetResults()
			if len(r) != 4 || r[0].GetDeduplicated() || r[1].GetDeduplicated() || !r[2].GetDeduplicated() || !r[3].GetDeduplicated() ||
				r[2].GetEvent().GetId() != r[0].GetEvent().GetId() || r[3].GetEvent().GetId() != e.ids["first"] {
				e.t.Errorf("bulk results: %v", r)
			}
		}
		return e.describe(res, err)
	}},
	{"bulk push with one invalid event stores nothing", bulkRPC, func(e *env) string {
		req := &switchyardv1.BulkPushEventsRequest{Events: []*switchyardv1.PushEventRequest{
			{Key: "bulk.ok"}, {Key: "bulk bad"},
		}}
		_, err := e.c.bulk(ctx(e), req)
		wantCode(e, err, connect.CodeInvalidArgument)
		if fields := violationFields(err); !slices.Contains(fields, "events[1].key") {
			e.t.Errorf("violations %v do not name events[1].key", fields)
		}
		return e.describe(nil, err)
	}},
	{"bulk push reusing a key for another request stores nothing", bulkRPC, func(e *env) string {
		conflict := fullRequest("first")
		conflict.Scope = "other"
		req := &switchyardv1.BulkPushEventsRequest{Events: []*switchyardv1.PushEventRequest{{Key: "bulk.ok2"}, conflict}}
		_, err := e.c.bulk(ctx(e), req)
		wantCode(e, err, connect.CodeAlreadyExists)
		in := &switchyardv1.BulkPushEventsRequest{Events: []*switchyardv1.PushEventRequest{
			{Key: "bulk.x", IdempotencyKey: "same"}, {Key: "bulk.y", IdempotencyKey: "same"},
		}}
		_, err2 := e.c.bulk(ctx(e), in)
		wantCode(e, err2, connect.CodeAlreadyExists)
		return e.describe(nil, err) + "\n" + e.describe(nil, err2)
	}},
	{"bulk push of nothing is invalid_argument", bulkRPC, func(e *env) string {
		_, err := e.c.bulk(ctx(e), &switchyardv1.BulkPushEventsRequest{})
		wantCode(e, err, connect.CodeInvalidArgument)
		return e.describe(nil, err)
	}},
	{"list pages through events newest first", listEventsRPC, func(e *env) string {
		for i := range 5 {
			_, err := e.c.push(ctx(e), &switchyardv1.PushEventRequest{Key: "list.me", Payload: mustStruct(map[string]any{"i": i})})
			mustOK(e, err)
		}
		var seen []float64
		token := ""
		pages := 0
		for {
			res, err := e.c.list(ctx(e), &switchyardv1.ListEventsRequest{Key: "list.me", PageSize: 2, PageToken: token})
			mustOK(e, err)
			if err != nil {
				break
			}
			pages++
			for _, ev := range res.GetEvents() {
				seen = append(seen, ev.GetPayload().GetFields()["i"].GetNumberValue())
			}
			token = res.GetNextPageToken()
			if token == "" || pages > 5 {
				break
			}
		}
		if fmt.Sprint(seen) != "[4 3 2 1 0]" || pages != 3 {
			e.t.Errorf("paged list: %v in %d pages, want [4 3 2 1 0] in 3", seen, pages)
		}
		return fmt.Sprint(seen, pages)
	}},
	{"list with a bad or reused page token is invalid_argument", listEventsRPC, func(e *env) string {
		_, err := e.c.list(ctx(e), &switchyardv1.ListEventsRequest{PageToken: "garbage"})
		wantCode(e, err, connect.CodeInvalidArgument)
		first, err2 := e.c.list(ctx(e), &switchyardv1.ListEventsRequest{Key: "list.me", PageSize: 1})
		mustOK(e, err2)
		_, err3 := e.c.list(ctx(e), &switchyardv1.ListEventsRequest{Key: "other", PageSize: 1, PageToken: first.GetNextPageToken()})
		wantCode(e, err3, connect.CodeInvalidArgument)
		_, err4 := e.c.list(ctx(e), &switchyardv1.ListEventsRequest{PageSize: 501})
		wantCode(e, err4, connect.CodeInvalidArgument)
		return e.describe(nil, err) + "\n" + e.describe(nil, err3) + "\n" + e.describe(nil, err4)
	}},
	{"list filters by creation time", listEventsRPC, func(e *env) string {
		res, err := e.c.list(ctx(e), &switchyardv1.ListEventsRequest{CreatedAfter: timestamppb.New(time.Now().Add(time.Hour))})
		mustOK(e, err)
		if len(res.GetEvents()) != 0 {
			e.t.Errorf("events created in the future: %d", len(res.GetEvents()))
		}
		return e.describe(res, err)
	}},
	{"exhausted database pool is unavailable, and leaves nothing behind", pushRPC, func(e *env) string {
		release := e.srv.HoldPool(e.t)
		_, err := e.c.push(ctx(e), &switchyardv1.PushEventRequest{Key: "pool.exhausted", IdempotencyKey: "pool-1"})
		release()
		wantCode(e, err, connect.CodeUnavailable)
		res, err2 := e.c.push(ctx(e), &switchyardv1.PushEventRequest{Key: "pool.exhausted", IdempotencyKey: "pool-1"})
		mustOK(e, err2)
		if res.GetDeduplicated() {
			e.t.Errorf("the push refused as unavailable was stored after all")
		}
		return e.describe(nil, err)
	}},
	{"expired deadline is deadline_exceeded and stores nothing", pushRPC, func(e *env) string {
		release := e.srv.HoldPool(e.t)
		c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := e.c.push(c, &switchyardv1.PushEventRequest{Key: "deadline.passed", IdempotencyKey: "deadline-1"})
		cancel()
		releaseAfterServerGaveUp(release)
		wantCode(e, err, connect.CodeDeadlineExceeded)
		return e.describe(nil, err) + "\n" + retryStoresOnce(e, "deadline.passed", "deadline-1")
	}},
	{"cancelled call stores nothing", pushRPC, func(e *env) string {
		release := e.srv.HoldPool(e.t)
		c, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := e.c.push(c, &switchyardv1.PushEventRequest{Key: "cancelled", IdempotencyKey: "cancel-1"})
		releaseAfterServerGaveUp(release)
		wantCode(e, err, connect.CodeCanceled)
		return e.describe(nil, err) + "\n" + retryStoresOnce(e, "cancelled", "cancel-1")
	}},
	{"replay runs the event through the current triggers again; its repeat is deduplicated", replayRPC, func(e *env) string {
		putFlow(e, &switchyardv1.WorkflowSpec{Name: "on-replay", OnEvents: []string{"replay.me"}, Tasks: []*switchyardv1.TaskSpec{task("only", "r.one")}})
		pushed, err := e.c.push(ctx(e), &switchyardv1.PushEventRequest{Key: "replay.me", Payload: mustStruct(map[string]any{"n": 1.0})})
		mustOK(e, err)
		e.ids["replayed"] = pushed.GetEvent().GetId()
		req := &switchyardv1.ReplayEventRequest{Id: e.ids["replayed"], IdempotencyKey: "replay-1"}
		res, err := replayEventRPC.do(e, e.as(auth.RoleProducer), req)
		again, err2 := replayEventRPC.do(e, e.c, req)
		if err == nil && err2 == nil && (len(pushed.GetRunIds()) != 1 || len(res.GetRunIds()) != 1 || res.GetRunIds()[0] == pushed.GetRunIds()[0] || !again.GetDeduplicated() || !slices.Equal(again.GetRunIds(), res.GetRunIds())) {
			e.t.Errorf("%s: push started %v, replay %v then %v; want one new run, then the same deduplicated", e.c.proto.Name, pushed.GetRunIds(), res, again)
		}
		return e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	{"replay reusing its key for another event is already_exists", replayRPC, func(e *env) string {
		res, err := replayEventRPC.do(e, e.c, &switchyardv1.ReplayEventRequest{Id: e.ids["first"], IdempotencyKey: "replay-1"})
		return e.expect(connect.CodeAlreadyExists, res, err)
	}},
	{"replay of an unknown event is not_found", replayRPC, func(e *env) string {
		res, err := replayEventRPC.do(e, e.c, &switchyardv1.ReplayEventRequest{Id: ghostID})
		return e.expect(connect.CodeNotFound, res, err)
	}},
	{"replay with a malformed id is invalid_argument", replayRPC, func(e *env) string {
		_, err := replayEventRPC.do(e, e.c, &switchyardv1.ReplayEventRequest{Id: "not-a-uuid"})
		return e.expectViolation("id", err)
	}},
	{"replay by a viewer is permission_denied", replayRPC, func(e *env) string {
		res, err := replayEventRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.ReplayEventRequest{Id: e.ids["replayed"]})
		return e.expect(connect.CodePermissionDenied, res, err)
	}},
	{"push by a worker is permission_denied", pushRPC, func(e *env) string {
		_, err := e.as(auth.RoleWorker).push(ctx(e), &switchyardv1.PushEventRequest{Key: "worker.push"})
		return e.expect(connect.CodePermissionDenied, nil, err)
	}},
	{"bulk push by a viewer is permission_denied", bulkRPC, func(e *env) string {
		_, err := e.as(auth.RoleViewer).bulk(ctx(e), &switchyardv1.BulkPushEventsRequest{Events: []*switchyardv1.PushEventRequest{{Key: "viewer.bulk"}}})
		return e.expect(connect.CodePermissionDenied, nil, err)
	}},
	{"get by a worker is permission_denied", getEventRPC, func(e *env) string {
		_, err := e.as(auth.RoleWorker).get(ctx(e), e.ids["first"])
		return e.expect(connect.CodePermissionDenied, nil, err)
	}},
	{"list by a worker is permission_denied", listEventsRPC, func(e *env) string {
		_, err := e.as(auth.RoleWorker).list(ctx(e), &switchyardv1.ListEventsRequest{})
		return e.expect(connect.CodePermissionDenied, nil, err)
	}},
}

// releaseAfterServerGaveUp releases the held pool once the server has seen the
// call's deadline pass or its client go away: the client's own deadline fires a
// little before the server's, and a disconnect reaches the server a little after
// the client gave up. In that window the server may still commit, which is
// allowed (the call commits fully or not at all); this test checks the "not at
// all" side, so it waits the window out.
func releaseAfterServerGaveUp(release func()) {
	time.Sleep(400 * time.Millisecond)
	release()
}

// retryStoresOnce checks that nothing was stored for the idempotency key by the
// failed call, and that a retry stores it once.
func retryStoresOnce(e *env, key, idem string) string {
	e.t.Helper()
	n, err := e.srv.Store.DB().NewSelect().Model((*store.Event)(nil)).Where("idempotency_key = ?", idem).Count(context.Background())
	if err != nil || n != 0 {
		e.t.Errorf("after the failed call %d events carry %q (err %v), want 0", n, idem, err)
	}
	res, err := e.c.push(ctx(e), &switchyardv1.PushEventRequest{Key: key, IdempotencyKey: idem})
	mustOK(e, err)
	if res.GetDeduplicated() {
		e.t.Errorf("retry of the failed call was deduplicated: the failed call had stored it")
	}
	return "retry: " + e.describe(res, err)
}

func fullRequest(idem string) *switchyardv1.PushEventRequest {
	return &switchyardv1.PushEventRequest{
		Key:            "user.created",
		Payload:        mustStruct(map[string]any{"user": map[string]any{"id": "u1", "tags": []any{"a", true, nil}}, "amount": 42.5}),
		Metadata:       map[string]string{"region": "eu", "source": "test"},
		Scope:          "acme",
		Priority:       3,
		OccurredAt:     timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC)),
		IdempotencyKey: idem,
	}
}

// strictMessage is the message of a request refused for its shape, without
// the prefix Connect gives the errors of decoding JSON (binary requests are
// refused after decoding, by an interceptor).
func strictMessage(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err.Error()
	}
	return strings.TrimPrefix(ce.Message(), "unmarshal message: ")
}
