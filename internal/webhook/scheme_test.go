package webhook_test

import (
	"testing"

	"github.com/switchyard/switchyard/internal/webhook"
)

func TestSchemeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scheme webhook.Scheme
		want   string
	}{
		{webhook.SchemeNone, "none"},
		{webhook.SchemeGitHub, "github"},
		{webhook.SchemeStripe, "stripe"},
		{webhook.SchemeSlack, "slack"},
		{webhook.SchemeSvix, "svix"},
		{webhook.SchemeHMAC, "hmac"},
		{webhook.SchemeBearer, "bearer"},
		{0, "Scheme(0)"},
		{8, "Scheme(8)"},
	}
	for _, tc := range tests {
		if got := tc.scheme.String(); got != tc.want {
			t.Errorf("Scheme(%d).String() = %q, want %q", int(tc.scheme), got, tc.want)
		}
	}
}
