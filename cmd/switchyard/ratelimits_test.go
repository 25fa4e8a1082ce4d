package main

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestRateLimitsCommands declares, changes, lists, shows and deletes a
// rate limit; bad input is refused naming the field and stores nothing.
func TestRateLimitsCommands(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	out := mustCLI(t, srv.URL, "ratelimits", "put", "stripe-api", "--max", "100", "--period", "1s")
	if !strings.Contains(out, "stripe-api") || !strings.Contains(out, "100 per 1s") {
		t.Fatalf("put printed %q, want the limit", out)
	}
	mustCLI(t, srv.URL, "ratelimits", "put", "stripe-api", "--max", "50", "--period", "1s")
	mustCLI(t, srv.URL, "ratelimits", "put", "per-customer", "--max", "10", "--period", "1m")
	var list switchyardv1.ListRateLimitsResponse
	if err := protojson.Unmarshal([]byte(mustCLI(t, srv.URL, "ratelimits", "list", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if ls := list.GetRateLimits(); len(ls) != 2 || ls[0].GetName() != "per-customer" || ls[1].GetMax() != 50 {
		t.Fatalf("list: %v, want per-customer and stripe-api at 50", ls)
	}
	if out := mustCLI(t, srv.URL, "ratelimits", "get", "per-customer"); !strings.Contains(out, "10 per 1m0s") {
		t.Fatalf("get printed %q", out)
	}
	if _, err := cli(t, srv.URL, "ratelimits", "put", "zero", "--max", "0"); err == nil || !strings.Contains(err.Error(), "rate_limit.max") {
		t.Fatalf("put --max 0: %v, want an invalid_argument naming rate_limit.max", err)
	}
	if out := mustCLI(t, srv.URL, "ratelimits", "delete", "per-customer"); out != "deleted rate limit per-customer\n" {
		t.Fatalf("delete printed %q", out)
	}
	if _, err := cli(t, srv.URL, "ratelimits", "get", "per-customer"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("get after delete: %v, want not found", err)
	}
	if out := mustCLI(t, srv.URL, "ratelimits", "list"); strings.Contains(out, "per-customer") || strings.Contains(out, "zero") {
		t.Fatalf("list after delete printed %q", out)
	}
}
