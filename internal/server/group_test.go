package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestConcurrentPushesShareTransactionsCorrectly pushes many events at once, so
// that they commit in shared transactions (group commit), and checks that each
// caller still gets its own answer: distinct events stored, identical repeats
// deduplicated onto one event, a reused key with another payload refused, and
// idempotency keys kept apart per tenant.
func TestConcurrentPushesShareTransactionsCorrectly(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv, a := startEngineServer(t, eng)
		ctx := context.Background()
		const otherToken = "sy_test_other_tenant"
		if _, err := srv.Store.DB().NewRaw("INSERT INTO tenants (tenant_id, name, created_at) VALUES ('other', 'other', 0)").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		err := srv.Store.Write(ctx, func(ctx context.Context, q store.Q) error {
			return q.TokenInsert(ctx, &store.Token{ID: "other-token", TenantID: "other", Name: "other", Role: auth.RoleAdmin, TokenHash: engine.TokenHash(otherToken), CreatedAt: store.TimeMicros(1)})
		})
		if err != nil {
			t.Fatal(err)
		}
		other := newAPIToken(srv.URL, grpcProtocol(), otherToken)

		type outcome struct {
			kind string
			res  *switchyardv1.PushEventResponse
			err  error
		}
		var mu sync.Mutex
		var outcomes []outcome
		var wg sync.WaitGroup
		push := func(kind string, c *api, req *switchyardv1.PushEventRequest) {
			wg.Go(func() {
				res, err := c.events.PushEvent(ctx, connect.NewRequest(req))
				o := outcome{kind: kind, err: err}
				if err == nil {
					o.res = res.Msg
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
			})
		}
		for i := range 32 {
			push("unique", a, &switchyardv1.PushEventRequest{Key: "group.unique", IdempotencyKey: fmt.Sprint("u", i)})
		}
		for range 16 {
			push("same", a, &switchyardv1.PushEventRequest{Key: "group.same", IdempotencyKey: "same", Payload: mustStruct(map[string]any{"n": 1})})
		}
		for i := range 16 {
			push("clash", a, &switchyardv1.PushEventRequest{Key: "group.clash", IdempotencyKey: "clash", Payload: mustStruct(map[string]any{"n": i})})
		}
		push("other-tenant", other, &switchyardv1.PushEventRequest{Key: "group.same", IdempotencyKey: "same", Payload: mustStruct(map[string]any{"n": 1})})
		wg.Wait()

		fresh := map[string]int{}
		ids := map[string]map[string]bool{}
		var clashWinner string
		var refused []error
		for _, o := range outcomes {
			if o.err != nil {
				if o.kind != "clash" || connect.CodeOf(o.err) != connect.CodeAlreadyExists {
					t.Fatalf("%s push: %v", o.kind, o.err)
				}
				refused = append(refused, o.err)
				continue
			}
			if ids[o.kind] == nil {
				ids[o.kind] = map[string]bool{}
			}
			ids[o.kind][o.res.GetEvent().GetId()] = true
			if !o.res.GetDeduplicated() {
				fresh[o.kind]++
			}
			if o.kind == "clash" {
				clashWinner = o.res.GetEvent().GetId()
			}
		}
		if fresh["unique"] != 32 || len(ids["unique"]) != 32 {
			t.Errorf("unique pushes: %d fresh, %d distinct events; want 32 and 32", fresh["unique"], len(ids["unique"]))
		}
		if fresh["same"] != 1 || len(ids["same"]) != 1 {
			t.Errorf("identical repeats: %d fresh, %d distinct events; want 1 and 1", fresh["same"], len(ids["same"]))
		}
		if fresh["clash"] != 1 || len(ids["clash"]) != 1 || len(refused) != 15 {
			t.Errorf("clashing pushes: %d fresh, %d events, %d refused; want 1, 1, 15", fresh["clash"], len(ids["clash"]), len(refused))
		}
		for _, err := range refused {
			if !strings.Contains(err.Error(), clashWinner) {
				t.Errorf("refusal %q does not name the stored event %s", err, clashWinner)
			}
		}
		if fresh["other-tenant"] != 1 {
			t.Errorf("the other tenant's push with the same key was not stored: %v", ids["other-tenant"])
		}
		n, err := srv.Store.DB().NewSelect().Model((*store.Event)(nil)).Count(ctx)
		if err != nil || n != 32+1+1+1 {
			t.Fatalf("%d events stored (err %v), want 35", n, err)
		}
	})
}
