package webhook_test

import (
	"testing"

	"github.com/switchyard/switchyard/internal/webhook"
)

func TestValidateHMACConfig(t *testing.T) {
	t.Parallel()
	valid := webhook.HMACConfig{Header: "X-Signature", Algorithm: "sha256", Encoding: "hex"}
	with := func(edit func(*webhook.HMACConfig)) webhook.HMACConfig {
		c := valid
		edit(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  webhook.HMACConfig
		// want is the expected error message; "" means valid.
		want string
	}{
		{name: "sha256 hex", cfg: valid},
		{name: "sha512 base64 with prefix", cfg: webhook.HMACConfig{Header: "X-Shopify-Hmac-Sha256", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512="}},
		{name: "lower-case header", cfg: with(func(c *webhook.HMACConfig) { c.Header = "x-signature" })},
		{name: "prefix with inner space", cfg: with(func(c *webhook.HMACConfig) { c.Prefix = "HMAC sig=" })},
		{name: "no header", cfg: with(func(c *webhook.HMACConfig) { c.Header = "" }), want: "hmac config: header name is required"},
		{name: "header with space", cfg: with(func(c *webhook.HMACConfig) { c.Header = "X Signature" }), want: `hmac config: header name "X Signature" is not a valid HTTP header name`},
		{name: "header with colon", cfg: with(func(c *webhook.HMACConfig) { c.Header = "X-Signature:" }), want: `hmac config: header name "X-Signature:" is not a valid HTTP header name`},
		{name: "no algorithm", cfg: with(func(c *webhook.HMACConfig) { c.Algorithm = "" }), want: `hmac config: algorithm "": want "sha256" or "sha512"`},
		{name: "upper-case algorithm", cfg: with(func(c *webhook.HMACConfig) { c.Algorithm = "SHA256" }), want: `hmac config: algorithm "SHA256": want "sha256" or "sha512"`},
		{name: "sha1", cfg: with(func(c *webhook.HMACConfig) { c.Algorithm = "sha1" }), want: `hmac config: algorithm "sha1": want "sha256" or "sha512"`},
		{name: "no encoding", cfg: with(func(c *webhook.HMACConfig) { c.Encoding = "" }), want: `hmac config: encoding "": want "hex" or "base64"`},
		{name: "base64url", cfg: with(func(c *webhook.HMACConfig) { c.Encoding = "base64url" }), want: `hmac config: encoding "base64url": want "hex" or "base64"`},
		{name: "prefix with newline", cfg: with(func(c *webhook.HMACConfig) { c.Prefix = "sha256=\n" }), want: `hmac config: prefix "sha256=\n" is not valid at the start of a header value`},
		{name: "prefix with leading space", cfg: with(func(c *webhook.HMACConfig) { c.Prefix = " sha256=" }), want: `hmac config: prefix " sha256=" is not valid at the start of a header value`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := webhook.ValidateHMACConfig(tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("ValidateHMACConfig() = %v, want nil", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("ValidateHMACConfig() = %v, want %q", err, tc.want)
			}
		})
	}
}
