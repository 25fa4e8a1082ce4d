package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// pushForHeaders pushes an event with key over c and returns the error and,
// when the push failed, the headers that came with the error: the REST
// response's, or a Connect error's metadata (headers and trailers).
func pushForHeaders(ctx context.Context, c client, key string) (http.Header, error) {
	if !c.proto.REST {
		_, err := c.push(ctx, &switchyardv1.PushEventRequest{Key: key})
		var ce *connect.Error
		if errors.As(err, &ce) {
			return ce.Meta(), err
		}
		return nil, err
	}
	body, _ := protojson.Marshal(&switchyardv1.PushEventRequest{Key: key})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.proto.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode == http.StatusOK {
		return nil, err
	}
	st := &status.Status{}
	if err := protojson.Unmarshal(data, st); err != nil {
		return res.Header, fmt.Errorf("HTTP %d with a body that is not a google.rpc.Status: %q", res.StatusCode, data)
	}
	ce := connect.NewError(connect.Code(st.GetCode()), errors.New(st.GetMessage()))
	for _, d := range st.GetDetails() {
		if detail, err := connect.NewErrorDetail(d); err == nil {
			ce.AddDetail(detail)
		}
	}
	if res.StatusCode != http.StatusTooManyRequests && ce.Code() == connect.CodeResourceExhausted {
		return res.Header, fmt.Errorf("resource_exhausted came with HTTP %d, want 429", res.StatusCode)
	}
	return res.Header, ce
}

// checkRefusal fails unless err is a rate limit's refusal that says msg, with
// a RetryInfo delay of at most maxDelay and a Retry-After header in headers
// ("" to skip that check). It returns the delay.
func checkRefusal(t *testing.T, err error, headers http.Header, msg string, maxDelay time.Duration) time.Duration {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeResourceExhausted {
		t.Fatalf("refusal: %v, want resource_exhausted", err)
	}
	if !strings.HasPrefix(ce.Message(), msg+"; retry in ") {
		t.Errorf("message %q, want %q and the wait", ce.Message(), msg)
	}
	var delay time.Duration
	var reason string
	for _, d := range ce.Details() {
		switch v, _ := d.Value(); v := v.(type) {
		case *errdetails.RetryInfo:
			delay = v.GetRetryDelay().AsDuration()
		case *errdetails.ErrorInfo:
			reason = v.GetReason()
		}
	}
	if delay <= 0 || delay > maxDelay || delay%time.Millisecond != 0 {
		t.Errorf("RetryInfo delay %v, want whole milliseconds in (0, %v]", delay, maxDelay)
	}
	if reason != "RATE_LIMITED" {
		t.Errorf("ErrorInfo reason %q, want RATE_LIMITED", reason)
	}
	if want := fmt.Sprint(int((delay + time.Second - 1) / time.Second)); headers != nil && headers.Get("Retry-After") != want {
		t.Errorf("Retry-After %q, want %q (the delay in whole seconds, rounded up)", headers.Get("Retry-After"), want)
	}
	return delay
}

// checkBurst fails unless allowed calls of a bucket of rate perSecond and
// burst made within elapsed are the burst and at most what refilled meanwhile.
func checkBurst(t *testing.T, allowed, burst, perSecond int, elapsed time.Duration) {
	t.Helper()
	if most := burst + int(elapsed.Seconds()*float64(perSecond)); allowed < burst || allowed > most {
		t.Errorf("%d calls allowed in %v, want %d to %d (the burst, and the refill)", allowed, elapsed, burst, most)
	}
}

// TestRateLimitsOnEveryProtocol gives a tenant a limit of 1 call a second with
// a burst of 5 and pushes with one of its tokens per protocol until refused:
// every protocol allows the burst, then refuses with resource_exhausted, a
// RetryInfo delay and a Retry-After header (HTTP 429 on REST); the refused
// push stores nothing; another token is unaffected; and after the advised
// wait a push goes through.
func TestRateLimitsOnEveryProtocol(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv := servertest.Start(t, eng, servertest.Options{Engine: fastEngine})
		op := newAPI(srv.URL, grpcProtocol())
		limit := &switchyardv1.RateLimit{PerSecond: 1, Burst: 5}
		created, err := op.admin.CreateTenant(context.Background(), connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "limited", RateLimit: limit}))
		if err != nil {
			t.Fatal(err)
		}
		if got := created.Msg.GetTenant().GetRateLimit(); got.GetPerSecond() != 1 || got.GetBurst() != 5 {
			t.Fatalf("created tenant's rate limit %v, want 1/s burst 5", got)
		}
		for _, p := range servertest.Protocols() {
			if p.TLS {
				continue
			}
			t.Run(p.Name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				c := client{proto: p, url: srv.URL, token: createToken(t, op, "limited", switchyardv1.Role_ROLE_PRODUCER)}
				other := c.withToken(createToken(t, op, "limited", switchyardv1.Role_ROLE_PRODUCER))
				key := "limited." + strings.NewReplacer("/", ".", "-", "_").Replace(p.Name)

				allowed := 0
				var refusal error
				var headers http.Header
				start := time.Now()
				for range 50 {
					if headers, refusal = pushForHeaders(ctx, c, key); refusal != nil {
						break
					}
					allowed++
				}
				checkBurst(t, allowed, 5, 1, time.Since(start))
				delay := checkRefusal(t, refusal, headers, "rate limit of 1 calls/s (burst 5) for tokens of tenant limited exceeded", time.Second)

				stored, err := srv.Store.DB().NewSelect().Table("events").Where("tenant_id = ? AND key = ?", "limited", key).Count(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if stored != int64(allowed) {
					t.Errorf("%d events stored, want the %d allowed pushes", stored, allowed)
				}
				if _, err := pushForHeaders(ctx, other, key); err != nil {
					t.Errorf("another token of the tenant: %v, want its own bucket", err)
				}
				time.Sleep(delay)
				if _, err := pushForHeaders(ctx, c, key); err != nil {
					t.Errorf("after the advised %v: %v, want the push to go through", delay, err)
				}
			})
		}
	})
}

// TestRateLimitRoleDefaultsCountStreams gives viewer tokens a default limit of
// 1 call a second with a burst of 3 and spends it with one unary call and two
// WatchRun streams per Connect protocol: a stream counts once, when it opens,
// and a stream over the limit is refused like a unary call.
func TestRateLimitRoleDefaultsCountStreams(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{
		Engine:     fastEngine,
		RateLimits: map[string]auth.Rate{auth.RoleViewer: {PerSecond: 1, Burst: 3}},
	})
	op := newAPI(srv.URL, grpcProtocol())
	for _, p := range servertest.Protocols() {
		if p.TLS || p.REST {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			viewer := newAPIToken(srv.URL, p, createToken(t, op, "", switchyardv1.Role_ROLE_VIEWER))
			watch := func() error {
				ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				stream, err := viewer.runs.WatchRun(ctx, connect.NewRequest(&switchyardv1.WatchRunRequest{Id: uuid.NewString()}))
				if err != nil {
					return err
				}
				defer stream.Close()
				for stream.Receive() {
				}
				return stream.Err()
			}
			start := time.Now()
			if _, err := viewer.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{})); err != nil {
				t.Fatalf("list runs: %v", err)
			}
			for range 2 {
				if err := watch(); connect.CodeOf(err) != connect.CodeNotFound {
					t.Fatalf("watch a run that does not exist: %v, want not_found (past the limit)", err)
				}
			}
			allowed := 3
			var refusal error
			for range 20 {
				if _, refusal = viewer.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{})); refusal != nil {
					break
				}
				allowed++
			}
			checkBurst(t, allowed, 3, 1, time.Since(start))
			var ce *connect.Error
			errors.As(refusal, &ce)
			checkRefusal(t, refusal, ce.Meta(), "rate limit of 1 calls/s (burst 3) for viewer tokens exceeded", time.Second)

			// The bucket refills meanwhile: open streams until one is refused.
			for range 20 {
				if err := watch(); connect.CodeOf(err) != connect.CodeNotFound {
					errors.As(err, &ce)
					checkRefusal(t, err, ce.Meta(), "rate limit of 1 calls/s (burst 3) for viewer tokens exceeded", time.Second)
					return
				}
			}
			t.Errorf("20 streams opened at once with a limit of 1 a second")
		})
	}
}

// TestUpdateTenant changes a tenant's name and rate limit over gRPC and REST:
// only operators may, a field left out stays, zeros restore the role defaults,
// and a burst without a rate is invalid.
func TestUpdateTenant(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv, op := startEngineServer(t, eng)
		ctx := context.Background()
		if _, err := op.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "acme", Name: "Acme"})); err != nil {
			t.Fatal(err)
		}
		update := func(a *api, req *switchyardv1.UpdateTenantRequest) (*switchyardv1.Tenant, error) {
			res, err := a.admin.UpdateTenant(ctx, connect.NewRequest(req))
			if err != nil {
				return nil, err
			}
			return res.Msg.GetTenant(), nil
		}
		got, err := update(op, &switchyardv1.UpdateTenantRequest{Id: "acme", RateLimit: &switchyardv1.RateLimit{PerSecond: 50}})
		if err != nil || got.GetName() != "Acme" || got.GetRateLimit().GetPerSecond() != 50 || got.GetRateLimit().GetBurst() != 50 {
			t.Errorf("set a rate: %v, %v; want Acme at 50/s, burst 50", got, err)
		}
		name := "Acme Corp"
		got, err = update(op, &switchyardv1.UpdateTenantRequest{Id: "acme", Name: &name})
		if err != nil || got.GetName() != name || got.GetRateLimit().GetPerSecond() != 50 {
			t.Errorf("rename: %v, %v; want %s, still at 50/s", got, err, name)
		}

		// REST: PATCH /v1/tenants/{id}.
		rest := client{url: srv.URL, token: servertest.AdminToken}
		for _, p := range servertest.Protocols() {
			if p.REST {
				rest.proto = p
			}
		}
		res, err := restDo[switchyardv1.UpdateTenantResponse](ctx, rest, http.MethodPatch, "/v1/tenants/acme", []byte(`{"rateLimit": {"perSecond": 7, "burst": 9}}`))
		if err != nil || res.GetTenant().GetName() != name || res.GetTenant().GetRateLimit().GetBurst() != 9 {
			t.Errorf("REST update: %v, %v; want 7/s burst 9, name kept", res, err)
		}
		list, err := op.admin.ListTenants(ctx, connect.NewRequest(&switchyardv1.ListTenantsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		for _, tn := range list.Msg.GetTenants() {
			if tn.GetId() == "acme" && (tn.GetRateLimit().GetPerSecond() != 7 || tn.GetRateLimit().GetBurst() != 9) {
				t.Errorf("listed %v, want 7/s burst 9", tn)
			}
			if tn.GetId() == "default" && tn.GetRateLimit() != nil {
				t.Errorf("listed %v, want no rate limit (the role defaults)", tn)
			}
		}
		got, err = update(op, &switchyardv1.UpdateTenantRequest{Id: "acme", RateLimit: &switchyardv1.RateLimit{}})
		if err != nil || got.GetRateLimit() != nil {
			t.Errorf("restore the defaults: %v, %v; want no rate limit", got, err)
		}

		for _, tt := range []struct {
			req  *switchyardv1.UpdateTenantRequest
			want connect.Code
		}{
			{&switchyardv1.UpdateTenantRequest{Id: "acme", RateLimit: &switchyardv1.RateLimit{Burst: 5}}, connect.CodeInvalidArgument},
			{&switchyardv1.UpdateTenantRequest{Id: "acme", RateLimit: &switchyardv1.RateLimit{PerSecond: -1}}, connect.CodeInvalidArgument},
			{&switchyardv1.UpdateTenantRequest{Id: "acme", RateLimit: &switchyardv1.RateLimit{PerSecond: 2_000_000}}, connect.CodeInvalidArgument},
			{&switchyardv1.UpdateTenantRequest{Id: "nowhere"}, connect.CodeNotFound},
		} {
			if _, err := update(op, tt.req); connect.CodeOf(err) != tt.want {
				t.Errorf("update %v: %v, want %v", tt.req, err, tt.want)
			}
		}
		acmeAdmin := newAPIToken(srv.URL, grpcProtocol(), createToken(t, op, "acme", switchyardv1.Role_ROLE_ADMIN))
		if _, err := update(acmeAdmin, &switchyardv1.UpdateTenantRequest{Id: "acme", RateLimit: &switchyardv1.RateLimit{PerSecond: 1_000_000}}); connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Errorf("a tenant admin raises its own limit: %v, want permission_denied", err)
		}
	})
}

// TestRateLimitWebhooksAndMetrics limits producers (and so webhooks) to 1
// call a second with a burst of 2, and viewers to a burst of 1: a webhook past
// its limit gets 429 with Retry-After and no delivery is recorded for it; so
// does a /metrics scrape past the token's limit.
func TestRateLimitWebhooksAndMetrics(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{
		Engine: fastEngine,
		RateLimits: map[string]auth.Rate{
			auth.RoleProducer: {PerSecond: 1, Burst: 2},
			auth.RoleViewer:   {PerSecond: 1, Burst: 1},
		},
	})
	w := &webhookEnv{t: t, srv: srv, a: newAPI(srv.URL, grpcProtocol())}

	t.Run("webhook", func(t *testing.T) {
		t.Parallel()
		hook, _ := w.create(&switchyardv1.WebhookSettings{Name: "limited", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE, KeyExpression: `"hook.limited"`}, "")
		accepted := 0
		var refused *delivered
		start := time.Now()
		for range 20 {
			d := w.post("/webhooks/"+hook.GetId(), nil, []byte(`{}`))
			if d.status != http.StatusOK {
				refused = &d
				break
			}
			accepted++
		}
		checkBurst(t, accepted, 2, 1, time.Since(start))
		if refused == nil || refused.status != http.StatusTooManyRequests || refused.header.Get("Retry-After") != "1" ||
			!strings.HasPrefix(fmt.Sprint(refused.body["error"]), "rate limit of 1 calls/s (burst 2) for webhooks exceeded; retry in ") {
			t.Fatalf("past the limit: %+v, want 429, Retry-After: 1 and the limit", refused)
		}
		if got := len(w.deliveries(hook.GetId())); got != accepted {
			t.Errorf("%d deliveries recorded, want the %d accepted", got, accepted)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		t.Parallel()
		viewer := createToken(t, w.a, "", switchyardv1.Role_ROLE_VIEWER)
		for range 20 {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
			req.Header.Set("Authorization", "Bearer "+viewer)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				continue
			}
			if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "1" ||
				!strings.HasPrefix(string(body), "rate limit of 1 calls/s (burst 1) for viewer tokens exceeded") {
				t.Errorf("scrape past the limit: HTTP %d, Retry-After %q, %q; want 429, 1 and the limit", res.StatusCode, res.Header.Get("Retry-After"), body)
			}
			return
		}
		t.Errorf("20 scrapes at once with a limit of 1 a second")
	})
}
