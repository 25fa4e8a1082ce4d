package webhook_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/webhook"
)

// Known-answer vectors published by the senders themselves (or, for the
// generic scheme, by RFC 4231), so verification is checked against an
// authority other than package webhooktest. Stripe publishes no fixed vector;
// its cases rely on webhooktest.Sign.
const (
	// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
	githubSecret    = "It's a Secret to Everybody"
	githubBody      = "Hello, World!"
	githubSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

	// https://api.slack.com/authentication/verifying-requests-from-slack
	slackSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	slackTimestamp = 1531420618
	slackBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

	// Svix's published example, also used by the Standard Webhooks reference
	// libraries' tests.
	svixSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	svixID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	svixTimestamp = 1614265330
	svixBody      = `{"test": 2432232314}`
	svixSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

	// RFC 4231, test case 2.
	rfc4231Key    = "Jefe"
	rfc4231Data   = "what do ya want for nothing?"
	rfc4231SHA256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	rfc4231SHA512 = "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
)

// base64OfHex re-encodes a hex vector as standard base64.
func base64OfHex(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestVerifyKnownAnswers(t *testing.T) {
	t.Parallel()
	slackTime := time.Unix(slackTimestamp, 0)
	svixTime := time.Unix(svixTimestamp, 0)
	hmacVerifier := func(algorithm, encoding, prefix string) webhook.Verifier {
		return webhook.Verifier{Scheme: webhook.SchemeHMAC, Secret: rfc4231Key, HMAC: webhook.HMACConfig{
			Header: "X-Signature", Algorithm: algorithm, Encoding: encoding, Prefix: prefix,
		}}
	}
	sig := func(value string) http.Header { return http.Header{"X-Signature": {value}} }
	tests := []struct {
		name   string
		v      webhook.Verifier
		header http.Header
		body   string
		now    time.Time
		// want is the expected rejection reason; "" means the request passes.
		want string
	}{
		{
			name:   "github",
			v:      webhook.Verifier{Scheme: webhook.SchemeGitHub, Secret: githubSecret},
			header: http.Header{"X-Hub-Signature-256": {githubSignature}},
			body:   githubBody,
			now:    testNow,
		},
		{
			name:   "github other body",
			v:      webhook.Verifier{Scheme: webhook.SchemeGitHub, Secret: githubSecret},
			header: http.Header{"X-Hub-Signature-256": {githubSignature}},
			body:   "Hello, World?",
			now:    testNow,
			want:   reasonMismatch,
		},
		{
			name:   "slack",
			v:      webhook.Verifier{Scheme: webhook.SchemeSlack, Secret: slackSecret},
			header: http.Header{"X-Slack-Request-Timestamp": {"1531420618"}, "X-Slack-Signature": {slackSignature}},
			body:   slackBody,
			now:    slackTime.Add(10 * time.Second),
		},
		{
			name:   "slack replayed an hour later",
			v:      webhook.Verifier{Scheme: webhook.SchemeSlack, Secret: slackSecret},
			header: http.Header{"X-Slack-Request-Timestamp": {"1531420618"}, "X-Slack-Signature": {slackSignature}},
			body:   slackBody,
			now:    slackTime.Add(time.Hour),
			want:   reasonTimestamp,
		},
		{
			name:   "svix",
			v:      webhook.Verifier{Scheme: webhook.SchemeSvix, Secret: svixSecret},
			header: http.Header{"Svix-Id": {svixID}, "Svix-Timestamp": {"1614265330"}, "Svix-Signature": {svixSignature}},
			body:   svixBody,
			now:    svixTime,
		},
		{
			name:   "standard webhooks",
			v:      webhook.Verifier{Scheme: webhook.SchemeSvix, Secret: svixSecret},
			header: http.Header{"Webhook-Id": {svixID}, "Webhook-Timestamp": {"1614265330"}, "Webhook-Signature": {"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + svixSignature}},
			body:   svixBody,
			now:    svixTime.Add(-time.Minute),
		},
		{
			name:   "svix body with changed spacing",
			v:      webhook.Verifier{Scheme: webhook.SchemeSvix, Secret: svixSecret},
			header: http.Header{"Svix-Id": {svixID}, "Svix-Timestamp": {"1614265330"}, "Svix-Signature": {svixSignature}},
			body:   `{"test":2432232314}`,
			now:    svixTime,
			want:   reasonMismatch,
		},
		{name: "rfc4231 sha256 hex", v: hmacVerifier("sha256", "hex", ""), header: sig(rfc4231SHA256), body: rfc4231Data, now: testNow},
		{name: "rfc4231 sha512 hex", v: hmacVerifier("sha512", "hex", ""), header: sig(rfc4231SHA512), body: rfc4231Data, now: testNow},
		{name: "rfc4231 sha256 base64 with prefix", v: hmacVerifier("sha256", "base64", "sha256="), header: sig("sha256=" + base64OfHex(rfc4231SHA256)), body: rfc4231Data, now: testNow},
		{name: "rfc4231 sha512 base64", v: hmacVerifier("sha512", "base64", ""), header: sig(base64OfHex(rfc4231SHA512)), body: rfc4231Data, now: testNow},
		{name: "rfc4231 sha256 wrong key", v: webhook.Verifier{Scheme: webhook.SchemeHMAC, Secret: "jefe", HMAC: hmacVerifier("sha256", "hex", "").HMAC}, header: sig(rfc4231SHA256), body: rfc4231Data, now: testNow, want: reasonMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.v.Verify(tc.header, []byte(tc.body), tc.now)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify() = %v, want nil", err)
				}
				return
			}
			var rej *webhook.Rejection
			if !errors.As(err, &rej) || rej.Reason != tc.want {
				t.Fatalf("Verify() = %v, want *Rejection %q", err, tc.want)
			}
		})
	}
}
