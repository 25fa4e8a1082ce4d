package webhooktest_test

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/switchyard/switchyard/internal/webhook"
	"github.com/switchyard/switchyard/internal/webhook/webhooktest"
)

var now = time.Unix(1_700_000_000, 0)

// TestSignKnownAnswers checks Sign against vectors the senders publish (and
// RFC 4231 for the generic scheme), so the tests of package webhook that sign
// with it rest on the senders' algorithms rather than on each other.
func TestSignKnownAnswers(t *testing.T) {
	t.Parallel()
	const (
		jefe          = "Jefe"
		jefeData      = "what do ya want for nothing?"
		jefeSHA256Hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
		jefeSHA512Hex = "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
		slackBody     = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	)
	b64 := func(hexSum string) string {
		b, err := hex.DecodeString(hexSum)
		if err != nil {
			panic(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	tests := []struct {
		name   string
		scheme webhook.Scheme
		secret string
		cfg    webhook.HMACConfig
		body   string
		at     time.Time
		header string
		want   string
	}{
		{
			// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
			name: "github", scheme: webhook.SchemeGitHub, secret: "It's a Secret to Everybody", body: "Hello, World!", at: now,
			header: "X-Hub-Signature-256", want: "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
		},
		{
			// https://api.slack.com/authentication/verifying-requests-from-slack
			name: "slack signature", scheme: webhook.SchemeSlack, secret: "8f742231b10e8888abcd99yyyzzz85a5", body: slackBody, at: time.Unix(1531420618, 0),
			header: "X-Slack-Signature", want: "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
		},
		{
			name: "slack timestamp", scheme: webhook.SchemeSlack, secret: "8f742231b10e8888abcd99yyyzzz85a5", body: slackBody, at: time.Unix(1531420618, 0),
			header: "X-Slack-Request-Timestamp", want: "1531420618",
		},
		{
			name: "hmac sha256 hex", scheme: webhook.SchemeHMAC, secret: jefe, body: jefeData, at: now,
			cfg:    webhook.HMACConfig{Header: "X-Signature", Algorithm: "sha256", Encoding: "hex"},
			header: "X-Signature", want: jefeSHA256Hex,
		},
		{
			name: "hmac sha512 hex with prefix", scheme: webhook.SchemeHMAC, secret: jefe, body: jefeData, at: now,
			cfg:    webhook.HMACConfig{Header: "X-Signature", Algorithm: "sha512", Encoding: "hex", Prefix: "sha512="},
			header: "X-Signature", want: "sha512=" + jefeSHA512Hex,
		},
		{
			name: "hmac sha256 base64", scheme: webhook.SchemeHMAC, secret: jefe, body: jefeData, at: now,
			cfg:    webhook.HMACConfig{Header: "X-Signature", Algorithm: "sha256", Encoding: "base64"},
			header: "X-Signature", want: b64(jefeSHA256Hex),
		},
		{
			name: "hmac sha512 base64", scheme: webhook.SchemeHMAC, secret: jefe, body: jefeData, at: now,
			cfg:    webhook.HMACConfig{Header: "X-Signature", Algorithm: "sha512", Encoding: "base64"},
			header: "X-Signature", want: b64(jefeSHA512Hex),
		},
		{
			name: "bearer", scheme: webhook.SchemeBearer, secret: "s3cret", body: "{}", at: now,
			header: "Authorization", want: "Bearer s3cret",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := webhooktest.Sign(tc.scheme, tc.secret, tc.cfg, []byte(tc.body), tc.at)
			if got := h.Get(tc.header); got != tc.want {
				t.Errorf("%s = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}

// TestSignShape checks the headers whose content is random or has no
// published vector by their form.
func TestSignShape(t *testing.T) {
	t.Parallel()
	secret := webhook.NewSecret()
	body := []byte(`{"id":"evt_1"}`)
	tests := []struct {
		scheme webhook.Scheme
		// want maps each header Sign must set to a pattern its value matches.
		want map[string]string
	}{
		{scheme: webhook.SchemeNone, want: map[string]string{}},
		{scheme: webhook.SchemeGitHub, want: map[string]string{
			"X-Github-Delivery":   `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`,
			"X-Hub-Signature-256": `^sha256=[0-9a-f]{64}$`,
		}},
		{scheme: webhook.SchemeStripe, want: map[string]string{
			"Stripe-Signature": `^t=1700000000,v1=[0-9a-f]{64}$`,
		}},
		{scheme: webhook.SchemeSvix, want: map[string]string{
			"Svix-Id":        `^msg_[A-Z2-7]+$`,
			"Svix-Timestamp": `^1700000000$`,
			"Svix-Signature": `^v1,[A-Za-z0-9+/]{43}=$`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.scheme.String(), func(t *testing.T) {
			t.Parallel()
			h := webhooktest.Sign(tc.scheme, secret, webhook.HMACConfig{}, body, now)
			if len(h) != len(tc.want) {
				t.Errorf("Sign() set %d headers %v, want %d", len(h), h, len(tc.want))
			}
			for name, pattern := range tc.want {
				if got := h.Get(name); !regexp.MustCompile(pattern).MatchString(got) {
					t.Errorf("%s = %q, want a match for %s", name, got, pattern)
				}
			}
		})
	}
}

func TestSignDeliveryIDs(t *testing.T) {
	t.Parallel()
	secret := webhook.NewSecret()
	for _, scheme := range []webhook.Scheme{webhook.SchemeGitHub, webhook.SchemeSvix} {
		first := webhook.DefaultDeliveryID(scheme, webhooktest.Sign(scheme, secret, webhook.HMACConfig{}, nil, now))
		second := webhook.DefaultDeliveryID(scheme, webhooktest.Sign(scheme, secret, webhook.HMACConfig{}, nil, now))
		if first == "" || first == second {
			t.Errorf("%v delivery ids = %q, %q, want two distinct non-empty ids", scheme, first, second)
		}
	}
	if _, err := uuid.Parse(webhooktest.Sign(webhook.SchemeGitHub, secret, webhook.HMACConfig{}, nil, now).Get("X-GitHub-Delivery")); err != nil {
		t.Errorf("X-GitHub-Delivery is not a UUID: %v", err)
	}
}

func TestSignPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		scheme webhook.Scheme
		secret string
		cfg    webhook.HMACConfig
		want   string
	}{
		{name: "unknown scheme", scheme: 0, secret: "s", want: "webhooktest: cannot sign for scheme Scheme(0)"},
		{name: "svix secret not base64", scheme: webhook.SchemeSvix, secret: "whsec_!!", want: "webhooktest: svix secret is not whsec_<base64>: illegal base64 data at input byte 0"},
		{name: "hmac algorithm", scheme: webhook.SchemeHMAC, secret: "s", cfg: webhook.HMACConfig{Header: "X-Sig", Algorithm: "md5", Encoding: "hex"}, want: `webhooktest: unknown hmac algorithm "md5"`},
		{name: "hmac encoding", scheme: webhook.SchemeHMAC, secret: "s", cfg: webhook.HMACConfig{Header: "X-Sig", Algorithm: "sha256", Encoding: "base32"}, want: `webhooktest: unknown hmac encoding "base32"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if got := recover(); got != tc.want {
					t.Errorf("Sign() panicked with %v, want %q", got, tc.want)
				}
			}()
			webhooktest.Sign(tc.scheme, tc.secret, tc.cfg, nil, now)
		})
	}
}
