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

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

var timeNow = time.Now

// env is what a parity case gets: a fresh server (shared by the cases of one
// protocol, in order) and a client for the protocol under test.
type env struct {
	t   *testing.T
	srv *servertest.Server
	c   client
	// ids remembers event ids between cases (by name), per protocol.
	ids map[string]string
}

// parityCase runs one behaviour and returns its outcome in a form that must be
// identical on every protocol. It also asserts the expected values itself.
type parityCase struct {
	name string
	run  func(e *env) string
}

// TestEventServiceParity runs every EventService case over every protocol, on
// every database engine (and over TLS too on SQLite), and asserts that each case
// has the same outcome (result, error code, error details) and leaves the same
// stored rows on every protocol.
func TestEventServiceParity(t *testing.T) {
	t.Parallel()
	for ei, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			protocols := servertest.Protocols()
			if ei == 0 {
				// TLS changes the transport, not the store: over TLS on the
				// first engine (SQLite, there in every run) is enough.
				protocols = append(protocols, servertest.ProtocolsTLS(servertest.TestCA().Pool)...)
			}
			outcomes := make([][]string, len(protocols)) // [protocol][case]
			t.Run("protocols", func(t *testing.T) {
				for i, p := range protocols {
					t.Run(strings.ReplaceAll(p.Name, "/", "_"), func(t *testing.T) {
						t.Parallel()
						srv := servertest.Start(t, eng, servertest.Options{Store: store.Config{MaxConns: 4, AcquireTimeout: 2 * time.Second}, TLS: p.TLS})
						e := &env{t: t, srv: srv, c: client{proto: p, url: srv.URL, token: servertest.AdminToken}, ids: map[string]string{}}
						for _, pc := range parityCases {
							out := pc.run(e) + "\nstored:\n" + storedRows(t, srv.Store)
							outcomes[i] = append(outcomes[i], out)
						}
					})
				}
			})
			if t.Failed() {
				return
			}
			for ci, pc := range parityCases {
				want := outcomes[0][ci]
				for pi := 1; pi < len(protocols); pi++ {
					if got := outcomes[pi][ci]; got != want {
						t.Errorf("case %q differs between protocols:\n%s:\n%s\n%s:\n%s", pc.name, protocols[0].Name, want, protocols[pi].Name, got)
					}
				}
			}
		})
	}
}

var parityCases = []parityCase{
	{"push stores the event", func(e *env) string {
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
		return describe(res, nil)
	}},
	{"repeat with the same idempotency key is deduplicated", func(e *env) string {
		res, err := e.c.push(ctx(e), fullRequest("first"))
		mustOK(e, err)
		if !res.GetDeduplicated() || res.GetEvent().GetId() != e.ids["first"] {
			e.t.Errorf("repeat: deduplicated=%v id=%s, want true and %s", res.GetDeduplicated(), res.GetEvent().GetId(), e.ids["first"])
		}
		return describe(res, nil)
	}},
	{"same idempotency key with a different request is already_exists", func(e *env) string {
		req := fullRequest("first")
		req.Payload.Fields["amount"] = structpb.NewNumberValue(43)
		_, err := e.c.push(ctx(e), req)
		wantCode(e, err, connect.CodeAlreadyExists)
		if !strings.Contains(errMessage(err), e.ids["first"]) {
			e.t.Errorf("already_exists message %q does not name the original event %s", errMessage(err), e.ids["first"])
		}
		return describe(nil, err)
	}},
	{"concurrent duplicates store one event", func(e *env) string {
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
	{"unknown fields are ignored", func(e *env) string {
		var body []byte
		if isJSON(e.c.proto) {
			body = []byte(`{"key":"unknown.fields","idempotencyKey":"unknown-1","notAField":{"x":1}}`)
		} else {
			body, _ = proto.Marshal(&switchyardv1.PushEventRequest{Key: "unknown.fields", IdempotencyKey: "unknown-1"})
			body = protowire.AppendTag(body, 99, protowire.BytesType)
			body = protowire.AppendString(body, "not a field")
		}
		err := e.c.pushRaw(ctx(e), body)
		mustOK(e, err)
		return describe(nil, err)
	}},
	{"malformed body is invalid_argument", func(e *env) string {
		body := []byte{0x0a, 0xff, 0xff} // a length prefix running past the end
		if isJSON(e.c.proto) {
			body = []byte(`{"key":`)
		}
		err := e.c.pushRaw(ctx(e), body)
		wantCode(e, err, connect.CodeInvalidArgument)
		return describe(nil, err)
	}},
	{"wrong field type is invalid_argument", func(e *env) string {
		body := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 5) // key as a number
		if isJSON(e.c.proto) {
			body = []byte(`{"key":5}`)
		}
		err := e.c.pushRaw(ctx(e), body)
		wantCode(e, err, connect.CodeInvalidArgument)
		// Only the code can match: protobuf reads a field of the wrong wire type
		// as an unknown field (so validation then names the missing key), while
		// JSON fails to decode.
		return connect.CodeOf(err).String()
	}},
	{"invalid requests name the field", func(e *env) string {
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
			out = append(out, tc.name+": "+describe(nil, err))
		}
		return strings.Join(out, "\n")
	}},
	{"get unknown event is not_found", func(e *env) string {
		_, err := e.c.get(ctx(e), "01890000-0000-7000-8000-000000000000")
		wantCode(e, err, connect.CodeNotFound)
		return describe(nil, err)
	}},
	{"get with a malformed id is invalid_argument", func(e *env) string {
		_, err := e.c.get(ctx(e), "not-a-uuid")
		wantCode(e, err, connect.CodeInvalidArgument)
		return describe(nil, err)
	}},
	{"missing token is unauthenticated", func(e *env) string {
		_, err := e.c.withToken("").push(ctx(e), &switchyardv1.PushEventRequest{Key: "no.token"})
		wantCode(e, err, connect.CodeUnauthenticated)
		return describe(nil, err)
	}},
	{"wrong token is unauthenticated", func(e *env) string {
		_, err := e.c.withToken("sy_wrong").get(ctx(e), e.ids["first"])
		wantCode(e, err, connect.CodeUnauthenticated)
		return describe(nil, err)
	}},
	{"expired token is unauthenticated", func(e *env) string {
		tok := &store.Token{ID: "expired", TenantID: store.DefaultTenant, Name: "expired", Role: auth.RoleAdmin, TokenHash: engine.TokenHash("sy_expired"), CreatedAt: 1, ExpiresAt: 2}
		if err := e.srv.Store.Write(context.Background(), func(ctx context.Context, q store.Q) error { return q.TokenInsert(ctx, tok) }); err != nil {
			e.t.Fatal(err)
		}
		_, err := e.c.withToken("sy_expired").push(ctx(e), &switchyardv1.PushEventRequest{Key: "expired.token"})
		wantCode(e, err, connect.CodeUnauthenticated)
		if !strings.Contains(errMessage(err), "expired") {
			e.t.Errorf("%s: message %q does not say the token expired", e.c.proto.Name, errMessage(err))
		}
		return describe(nil, err)
	}},
	{"oversize body is resource_exhausted", func(e *env) string {
		req := &switchyardv1.PushEventRequest{Key: "too.big", Payload: mustStruct(map[string]any{"big": strings.Repeat("x", 16<<20+1000)})}
		_, err := e.c.push(ctx(e), req)
		wantCode(e, err, connect.CodeResourceExhausted)
		return describe(nil, err)
	}},
	{"bulk push stores every event", func(e *env) string {
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
		return describe(res, err)
	}},
	{"bulk push with one invalid event stores nothing", func(e *env) string {
		req := &switchyardv1.BulkPushEventsRequest{Events: []*switchyardv1.PushEventRequest{
			{Key: "bulk.ok"}, {Key: "bulk bad"},
		}}
		_, err := e.c.bulk(ctx(e), req)
		wantCode(e, err, connect.CodeInvalidArgument)
		if fields := violationFields(err); !slices.Contains(fields, "events[1].key") {
			e.t.Errorf("violations %v do not name events[1].key", fields)
		}
		return describe(nil, err)
	}},
	{"bulk push reusing a key for another request stores nothing", func(e *env) string {
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
		return describe(nil, err) + "\n" + describe(nil, err2)
	}},
	{"bulk push of nothing is invalid_argument", func(e *env) string {
		_, err := e.c.bulk(ctx(e), &switchyardv1.BulkPushEventsRequest{})
		wantCode(e, err, connect.CodeInvalidArgument)
		return describe(nil, err)
	}},
	{"list pages through events newest first", func(e *env) string {
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
	{"list with a bad or reused page token is invalid_argument", func(e *env) string {
		_, err := e.c.list(ctx(e), &switchyardv1.ListEventsRequest{PageToken: "garbage"})
		wantCode(e, err, connect.CodeInvalidArgument)
		first, err2 := e.c.list(ctx(e), &switchyardv1.ListEventsRequest{Key: "list.me", PageSize: 1})
		mustOK(e, err2)
		_, err3 := e.c.list(ctx(e), &switchyardv1.ListEventsRequest{Key: "other", PageSize: 1, PageToken: first.GetNextPageToken()})
		wantCode(e, err3, connect.CodeInvalidArgument)
		_, err4 := e.c.list(ctx(e), &switchyardv1.ListEventsRequest{PageSize: 501})
		wantCode(e, err4, connect.CodeInvalidArgument)
		return describe(nil, err) + "\n" + describe(nil, err3) + "\n" + describe(nil, err4)
	}},
	{"list filters by creation time", func(e *env) string {
		res, err := e.c.list(ctx(e), &switchyardv1.ListEventsRequest{CreatedAfter: timestamppb.New(time.Now().Add(time.Hour))})
		mustOK(e, err)
		if len(res.GetEvents()) != 0 {
			e.t.Errorf("events created in the future: %d", len(res.GetEvents()))
		}
		return describe(res, err)
	}},
	{"exhausted database pool is unavailable, and leaves nothing behind", func(e *env) string {
		release := e.srv.HoldPool(e.t)
		_, err := e.c.push(ctx(e), &switchyardv1.PushEventRequest{Key: "pool.exhausted", IdempotencyKey: "pool-1"})
		release()
		wantCode(e, err, connect.CodeUnavailable)
		res, err2 := e.c.push(ctx(e), &switchyardv1.PushEventRequest{Key: "pool.exhausted", IdempotencyKey: "pool-1"})
		mustOK(e, err2)
		if res.GetDeduplicated() {
			e.t.Errorf("the push refused as unavailable was stored after all")
		}
		return describe(nil, err)
	}},
	{"expired deadline is deadline_exceeded and stores nothing", func(e *env) string {
		release := e.srv.HoldPool(e.t)
		c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := e.c.push(c, &switchyardv1.PushEventRequest{Key: "deadline.passed", IdempotencyKey: "deadline-1"})
		cancel()
		releaseAfterServerGaveUp(release)
		wantCode(e, err, connect.CodeDeadlineExceeded)
		return describe(nil, err) + "\n" + retryStoresOnce(e, "deadline.passed", "deadline-1")
	}},
	{"cancelled call stores nothing", func(e *env) string {
		release := e.srv.HoldPool(e.t)
		c, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := e.c.push(c, &switchyardv1.PushEventRequest{Key: "cancelled", IdempotencyKey: "cancel-1"})
		releaseAfterServerGaveUp(release)
		wantCode(e, err, connect.CodeCanceled)
		return describe(nil, err) + "\n" + retryStoresOnce(e, "cancelled", "cancel-1")
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
	return "retry: " + describe(res, err)
}

func ctx(e *env) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return c
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

func mustStruct(m map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	if err != nil {
		panic(err)
	}
	return s
}

func mustOK(e *env, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Errorf("%s: unexpected error: %v", e.c.proto.Name, err)
	}
}

func wantCode(e *env, err error, want connect.Code) {
	e.t.Helper()
	if got := connect.CodeOf(err); err == nil || got != want {
		e.t.Errorf("%s: got %v (code %s), want code %s", e.c.proto.Name, err, got, want)
	}
}

func errMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// violationFields returns the field paths of an error's protovalidate details.
func violationFields(err error) []string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil
	}
	var out []string
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if vs, ok := v.(*validate.Violations); ok {
			for _, viol := range vs.GetViolations() {
				var parts []string
				for _, el := range viol.GetField().GetElements() {
					p := el.GetFieldName()
					if idx, ok := el.GetSubscript().(*validate.FieldPathElement_Index); ok {
						p += fmt.Sprintf("[%d]", idx.Index)
					}
					parts = append(parts, p)
				}
				out = append(out, strings.Join(parts, "."))
			}
		}
	}
	return out
}

// describe renders an outcome without what legitimately differs between servers
// (ids, server times, request ids) and without protocol-specific error wording:
// the code, violated fields and error facts must match exactly.
func describe(res proto.Message, err error) string {
	if err != nil {
		var info []string
		var ce *connect.Error
		if errors.As(err, &ce) {
			for _, d := range ce.Details() {
				if v, derr := d.Value(); derr == nil {
					if ei, ok := v.(*errdetails.ErrorInfo); ok {
						info = append(info, ei.GetReason(), fmt.Sprint(len(ei.GetMetadata())))
					}
				}
			}
		}
		return fmt.Sprintf("error %s %v %v", connect.CodeOf(err), violationFields(err), info)
	}
	if res == nil {
		return "ok"
	}
	m := proto.Clone(res)
	scrub(m.ProtoReflect().Interface())
	return prototext.Format(m)
}

func scrub(m proto.Message) {
	switch v := m.(type) {
	case *switchyardv1.Event:
		if proto.Equal(v.OccurredAt, v.CreatedAt) {
			v.OccurredAt = nil // defaulted by the server
		}
		v.Id, v.CreatedAt = "", nil
	case *switchyardv1.PushEventResponse:
		scrub(v.GetEvent())
	case *switchyardv1.BulkPushEventsResponse:
		for _, r := range v.GetResults() {
			scrub(r)
		}
	case *switchyardv1.ListEventsResponse:
		for _, ev := range v.GetEvents() {
			scrub(ev)
		}
		if v.NextPageToken != "" {
			v.NextPageToken = "<token>"
		}
	}
}

// storedRows renders every stored event without ids and server times.
func storedRows(t *testing.T, st *store.Store) string {
	var rows []store.Event
	if err := st.DB().NewSelect().Model(&rows).OrderExpr("id").Scan(context.Background()); err != nil {
		t.Fatalf("read stored events: %v", err)
	}
	var b strings.Builder
	for _, r := range rows {
		occurred := "created"
		if r.OccurredAt != r.CreatedAt {
			occurred = time.UnixMicro(r.OccurredAt).UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(&b, "%s %s %s %s %q %d %s %q\n", r.TenantID, r.Key, r.Payload, r.Metadata, r.Scope, r.Priority, occurred, r.IdempotencyKey)
	}
	return b.String()
}
