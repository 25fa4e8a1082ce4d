package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// startTwoServers starts two servers with the engine config cfg on one new
// Postgres schema (skipping the test without Postgres) and returns their clients.
func startTwoServers(t *testing.T, cfg engine.Config) (a, b *api) {
	t.Helper()
	urlA, urlB := startTwoServerURLs(t, cfg)
	return newAPI(urlA, grpcProtocol()), newAPI(urlB, grpcProtocol())
}

// startTwoServerURLs is startTwoServers' servers, by URL.
func startTwoServerURLs(t *testing.T, cfg engine.Config) (a, b string) {
	t.Helper()
	pg := storetest.Postgres(t)
	opts := servertest.Options{Store: store.Config{DatabaseURL: storetest.NewSchema(t)}, Engine: cfg}
	return servertest.Start(t, pg, opts).URL, servertest.Start(t, pg, opts).URL
}

// producerPush creates, through admin, a producer token of tenant ("" means
// admin's) and returns a push with it through the server at url, and the
// token's id.
func producerPush(t *testing.T, admin *api, url, tenant string) (push func() error, tokenID string) {
	t.Helper()
	created, err := admin.admin.CreateToken(context.Background(), connect.NewRequest(&switchyardv1.CreateTokenRequest{Tenant: tenant, Role: switchyardv1.Role_ROLE_PRODUCER, Name: "producer"}))
	if err != nil {
		t.Fatal(err)
	}
	producer := newAPIToken(url, grpcProtocol(), created.Msg.GetSecret())
	return func() error {
		_, err := producer.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "probe.push"}))
		return err
	}, created.Msg.GetToken().GetId()
}

// TestTwoServersShareOnePostgres runs two server processes' worth of engines on
// one database, a worker on each, and 500 single-task runs: every task completes,
// and no attempt is handed to two workers.
func TestTwoServersShareOnePostgres(t *testing.T) {
	t.Parallel()
	a, b := startTwoServers(t, fastEngine)
	putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "bulk", OnEvents: []string{"bulk.item"}, Tasks: []*switchyardv1.TaskSpec{task("t", "bulk")}})

	var mu sync.Mutex
	handled := map[string]int{} // task/attempt -> times handed out
	byWorker := map[string]int{}
	handle := func(w *rawWorker, as *switchyardv1.TaskAssignment) {
		mu.Lock()
		handled[fmt.Sprint(as.GetTaskId(), "/", as.GetAttempt())]++
		byWorker[w.id]++
		mu.Unlock()
		if err := w.complete(as, map[string]any{"worker": w.id}); err != nil {
			t.Errorf("complete: %v", err)
		}
	}
	startRawWorker(t, a, []string{"bulk"}, 8, handle)
	startRawWorker(t, b, []string{"bulk"}, 8, handle)

	const n = 500
	var events []*switchyardv1.PushEventRequest
	for i := range n {
		events = append(events, &switchyardv1.PushEventRequest{Key: "bulk.item", Payload: mustStruct(map[string]any{"i": i})})
	}
	// Half the events through each server.
	for i, target := range []*api{a, b} {
		if _, err := target.events.BulkPushEvents(context.Background(), connect.NewRequest(&switchyardv1.BulkPushEventsRequest{Events: events[i*n/2 : (i+1)*n/2]})); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := a.runs.ListRuns(context.Background(), connect.NewRequest(&switchyardv1.ListRunsRequest{Status: switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED, PageSize: 500}))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Msg.GetRuns()) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d runs succeeded", len(res.Msg.GetRuns()), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != n {
		t.Fatalf("%d distinct attempts handed out, want %d", len(handled), n)
	}
	for k, times := range handled {
		if times != 1 {
			t.Fatalf("attempt %s handed out %d times", k, times)
		}
	}
	if len(byWorker) != 2 {
		t.Fatalf("work by worker: %v, want both workers busy", byWorker)
	}
}

// TestRevokedTokenRefusedAtOnceOnEveryServer: a token revoked through one
// server is refused by another at once, although that one has it cached
// (for a minute): the revocation reaches every server's cache.
func TestRevokedTokenRefusedAtOnceOnEveryServer(t *testing.T) {
	t.Parallel()
	urlA, urlB := startTwoServerURLs(t, fastEngine)
	admin := newAPI(urlA, grpcProtocol())
	push, tokenID := producerPush(t, admin, urlB, "")
	if err := push(); err != nil {
		t.Fatalf("push with the fresh token: %v", err)
	}
	if _, err := admin.admin.RevokeToken(context.Background(), connect.NewRequest(&switchyardv1.RevokeTokenRequest{Id: tokenID})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other server to refuse the revoked token", 10*time.Second, func() bool {
		err := push()
		return connect.CodeOf(err) == connect.CodeUnauthenticated && strings.Contains(err.Error(), "revoked")
	})
}

// TestTenantLimitChangeAppliesAtOnceOnEveryServer: a tenant's rate limit
// changed through one server applies on another at once, although that one
// has the old limit cached (for a minute).
func TestTenantLimitChangeAppliesAtOnceOnEveryServer(t *testing.T) {
	t.Parallel()
	urlA, urlB := startTwoServerURLs(t, fastEngine)
	ctx := context.Background()
	admin := newAPI(urlA, grpcProtocol())
	if _, err := admin.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "slow",
		RateLimit: &switchyardv1.RateLimit{PerSecond: 1, Burst: 1}})); err != nil {
		t.Fatal(err)
	}
	push, _ := producerPush(t, admin, urlB, "slow")
	_ = push()
	if err := push(); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("second push at 1/s burst 1: %v, want resource_exhausted", err)
	}
	if _, err := admin.admin.UpdateTenant(ctx, connect.NewRequest(&switchyardv1.UpdateTenantRequest{Id: "slow",
		RateLimit: &switchyardv1.RateLimit{PerSecond: 1000, Burst: 1000}})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other server to apply the new limit", 10*time.Second, func() bool {
		for range 5 {
			if push() != nil {
				return false
			}
		}
		return true
	})
}
