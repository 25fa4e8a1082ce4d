package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/switchyard/switchyard/internal/store/storetest"
)

func TestTenantsUpdateCommand(t *testing.T) {
	t.Parallel()
	s := startAdmin(t, storetest.Engines(t)[0])

	out := mustCLI(t, s.url, "tenants", "update", "acme", "--rate", "5", "--burst", "7")
	if !strings.Contains(out, "RATE LIMIT  5/s per token, burst 7") || !strings.Contains(out, "Acme Corp") {
		t.Errorf("update --rate 5 --burst 7 printed %q, want the new limit and the name kept", out)
	}
	out = mustCLI(t, s.url, "tenants", "update", "acme", "--name", "Acme", "-o", "json")
	// protojson varies its spacing on purpose: compare compacted.
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(out)); err != nil {
		t.Fatalf("update -o json printed %q: %v", out, err)
	}
	if out := compact.String(); !strings.Contains(out, `"name":"Acme"`) || !strings.Contains(out, `"perSecond":5`) {
		t.Errorf("update --name printed %q, want the new name and the limit kept", out)
	}
	out = mustCLI(t, s.url, "tenants", "update", "acme", "--rate", "0")
	if !strings.Contains(out, "RATE LIMIT  role defaults") {
		t.Errorf("update --rate 0 printed %q, want the role defaults", out)
	}

	if _, err := cli(t, s.url, "tenants", "update", "acme"); err == nil || !strings.Contains(err.Error(), "nothing to change") {
		t.Errorf("update without flags: %v, want nothing to change", err)
	}
	if _, err := cli(t, s.url, "tenants", "update", "acme", "--burst", "3"); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("update --burst alone: %v, want invalid_argument", err)
	}
	if _, _, err := cliAs(t, s.url, s.acmeAdmin, "tenants", "update", "acme", "--rate", "1000000"); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("a tenant admin raises its limit: %v, want permission_denied", err)
	}
}
