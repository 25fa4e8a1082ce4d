package sdk_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

var protocols = []sdk.Protocol{sdk.ProtocolGRPC, sdk.ProtocolConnect, sdk.ProtocolGRPCWeb}

func TestClientEvents(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		srv := servertest.Start(t, eng, servertest.Options{})
		for _, p := range protocols {
			t.Run(eng.Name+"/"+p.String(), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithProtocol(p))
				key := "sdk.test." + p.String()
				occurred := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

				pushed, err := c.Push(ctx, key, map[string]any{"n": 1, "tags": []string{"a", "b"}},
					sdk.WithScope("eu"), sdk.WithMetadata(map[string]string{"source": "test"}),
					sdk.WithPriority(3), sdk.WithOccurredAt(occurred))
				if err != nil {
					t.Fatalf("push: %v", err)
				}
				if pushed.GetDeduplicated() {
					t.Errorf("first push deduplicated = true, want false")
				}
				if len(pushed.GetRunIds()) != 0 {
					t.Errorf("run ids = %v, want none (no workflow)", pushed.GetRunIds())
				}
				generated := pushed.GetEvent().GetIdempotencyKey()
				if _, err := uuid.Parse(generated); err != nil {
					t.Errorf("generated idempotency key %q is not a UUID: %v", generated, err)
				}

				got, err := c.GetEvent(ctx, pushed.GetEvent().GetId())
				if err != nil {
					t.Fatalf("get event: %v", err)
				}
				if !proto.Equal(pushed.GetEvent(), got) {
					t.Errorf("GetEvent = %v, want the pushed event %v", got, pushed.GetEvent())
				}
				if got.GetKey() != key || got.GetScope() != "eu" || got.GetPriority() != 3 ||
					!got.GetOccurredAt().AsTime().Equal(occurred) || got.GetMetadata()["source"] != "test" {
					t.Errorf("stored event = %v", got)
				}
				wantPayload := map[string]any{"n": 1.0, "tags": []any{"a", "b"}}
				if !reflect.DeepEqual(got.GetPayload().AsMap(), wantPayload) {
					t.Errorf("payload = %v, want %v", got.GetPayload().AsMap(), wantPayload)
				}

				// A caller's own key deduplicates a second call.
				first, err := c.Push(ctx, key, nil, sdk.WithIdempotencyKey("own-"+p.String()))
				if err != nil {
					t.Fatalf("push with key: %v", err)
				}
				again, err := c.Push(ctx, key, nil, sdk.WithIdempotencyKey("own-"+p.String()))
				if err != nil {
					t.Fatalf("repeat push with key: %v", err)
				}
				if first.GetDeduplicated() || !again.GetDeduplicated() || again.GetEvent().GetId() != first.GetEvent().GetId() {
					t.Errorf("deduplicated = %v then %v, ids %s and %s; want false then true, one id",
						first.GetDeduplicated(), again.GetDeduplicated(), first.GetEvent().GetId(), again.GetEvent().GetId())
				}

				bulk, err := c.PushBulk(ctx, []*switchyardv1.PushEventRequest{{Key: key}, {Key: key, Scope: "us"}})
				if err != nil {
					t.Fatalf("push bulk: %v", err)
				}
				if len(bulk.GetResults()) != 2 || bulk.GetResults()[1].GetEvent().GetScope() != "us" {
					t.Errorf("bulk results = %v", bulk.GetResults())
				}

				list, err := c.ListEvents(ctx, &switchyardv1.ListEventsRequest{Key: key})
				if err != nil {
					t.Fatalf("list events: %v", err)
				}
				wantIDs := []string{ // newest first
					bulk.GetResults()[1].GetEvent().GetId(),
					bulk.GetResults()[0].GetEvent().GetId(),
					first.GetEvent().GetId(),
					pushed.GetEvent().GetId(),
				}
				if got := eventIDs(list.GetEvents()); !slices.Equal(got, wantIDs) {
					t.Errorf("listed ids = %v, want %v", got, wantIDs)
				}
			})
		}
	}
}

func TestClientSendsTokenOnEveryCall(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	rec := &headerRecorder{next: servertest.HTTP2Client().Transport}
	c := sdk.NewClient(srv.URL, sdk.WithToken("sy_secret"), sdk.WithHTTPClient(&http.Client{Transport: rec}),
		sdk.WithRetry(sdk.RetryPolicy{MaxAttempts: 1}))
	ctx := context.Background()
	_, err := c.Push(ctx, "a.b", nil)
	if connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("push with a bad token: %v, want unauthenticated", err)
	}
	// A stream: whatever the server answers, the request must carry the token.
	_, _ = c.WatchRun(ctx, "0193a7a0-0000-7000-8000-000000000000", func(*switchyardv1.Run) error { return nil })
	want := []string{
		"/switchyard.v1.EventService/PushEvent Bearer sy_secret",
		"/switchyard.v1.RunService/WatchRun Bearer sy_secret",
	}
	if got := rec.seen(); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
}

func TestClientErrorsKeepTheirCode(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	for _, p := range protocols {
		c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithProtocol(p))
		_, err := c.Push(context.Background(), "not a key!", nil)
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("%s: push with a bad key: %v, want invalid_argument", p, err)
		}
		_, err = c.GetEvent(context.Background(), "0193a7a0-0000-7000-8000-000000000000")
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("%s: get a missing event: %v, want not_found", p, err)
		}
		var ce *connect.Error
		if !errors.As(err, &ce) || ce.Message() == "" {
			t.Errorf("%s: error %v is not a *connect.Error with a message", p, err)
		}
	}
}

func eventIDs(events []*switchyardv1.Event) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.GetId()
	}
	return ids
}

// headerRecorder records each request's path and Authorization header.
type headerRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []string
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.reqs = append(h.reqs, r.URL.Path+" "+r.Header.Get("Authorization"))
	h.mu.Unlock()
	return h.next.RoundTrip(r)
}

func (h *headerRecorder) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}
