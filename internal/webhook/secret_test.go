package webhook_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/webhook"
	"github.com/switchyard/switchyard/internal/webhook/webhooktest"
)

func TestNewSecret(t *testing.T) {
	t.Parallel()
	secret := checkedSecret(t)
	if other := checkedSecret(t); other == secret {
		t.Errorf("NewSecret() returned %q twice, want distinct secrets", secret)
	}
	// Every scheme that signs accepts the secret.
	for _, scheme := range []webhook.Scheme{webhook.SchemeGitHub, webhook.SchemeStripe, webhook.SchemeSlack, webhook.SchemeSvix, webhook.SchemeHMAC, webhook.SchemeBearer} {
		cfg := webhook.HMACConfig{Header: "X-Signature", Algorithm: "sha256", Encoding: "hex"}
		v := webhook.Verifier{Scheme: scheme, Secret: secret, HMAC: cfg}
		h := webhooktest.Sign(scheme, secret, cfg, testBody, testNow)
		if err := v.Verify(h, testBody, testNow); err != nil {
			t.Errorf("%v: Verify() = %v, want nil", scheme, err)
		}
	}
}

// checkedSecret returns webhook.NewSecret() after checking its form:
// "whsec_" and the padded standard base64 of 32 bytes, 50 characters in all.
func checkedSecret(t *testing.T) string {
	t.Helper()
	secret := webhook.NewSecret()
	if len(secret) != 50 {
		t.Errorf("len(NewSecret()) = %d, want 50", len(secret))
	}
	encoded, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		t.Fatalf("NewSecret() = %q, want prefix whsec_", secret)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(key) != 32 {
		t.Errorf("NewSecret() key decodes to %d bytes (err %v), want 32", len(key), err)
	}
	return secret
}
