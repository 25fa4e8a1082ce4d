package sdk_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// TestRetryWaitsOutRateLimit pushes four times in a row with a token whose
// tenant allows 1 call a second with a burst of 1. A push right after another
// is refused with a RetryInfo delay of up to a second, far past the client's
// MaxBackoff of 10ms: the client waits the advised delay, so its second attempt
// goes through instead of its three attempts failing within milliseconds.
func TestRetryWaitsOutRateLimit(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	ctx := context.Background()
	op := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken))
	_, err := op.Admin().CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{
		Id: "throttled", RateLimit: &switchyardv1.RateLimit{PerSecond: 1, Burst: 1},
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			tok, err := op.Admin().CreateToken(ctx, connect.NewRequest(&switchyardv1.CreateTokenRequest{
				Tenant: "throttled", Role: switchyardv1.Role_ROLE_PRODUCER, Name: p.String(),
			}))
			if err != nil {
				t.Fatal(err)
			}
			rec := &headerRecorder{next: servertest.HTTP2Client().Transport}
			c := sdk.NewClient(srv.URL, sdk.WithToken(tok.Msg.GetSecret()), sdk.WithProtocol(p),
				sdk.WithHTTPClient(&http.Client{Transport: rec}), fastRetry)
			attempts := func() int {
				n := 0
				for _, r := range rec.seen() {
					if strings.HasPrefix(r, switchyardv1connect.EventServicePushEventProcedure+" ") {
						n++
					}
				}
				return n
			}

			const pushes = 4
			start := time.Now()
			refused := 0
			for i := range pushes {
				before := attempts()
				if _, err := c.Push(ctx, "throttled.push", nil); err != nil {
					t.Fatalf("push %d: %v, want it to go through after the advised wait", i, err)
				}
				switch n := attempts() - before; {
				case i == 0 && n != 1:
					t.Fatalf("first push took %d attempts, want 1", n)
				case n == 2:
					refused++
				case n != 1:
					t.Errorf("push %d took %d attempts, want 1, or 2: one refused, one after the advised wait", i, n)
				}
			}
			// A push is refused unless the one before took a whole second
			// (the bucket's refill); not all of them take that long.
			if refused == 0 {
				t.Errorf("no push was refused; want the client to have waited out the limit")
			}
			if elapsed := time.Since(start); elapsed < (pushes-1)*time.Second {
				t.Errorf("%d pushes went through in %v, sooner than the limit allows", pushes, elapsed)
			}
		})
	}
}
