package webhook_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/webhook"
	"github.com/switchyard/switchyard/internal/webhook/webhooktest"
)

const (
	// testSecret is in the "whsec_<base64>" form so every scheme accepts it.
	testSecret = "whsec_dGhpcyBpcyBhIDMyLWJ5dGUgdGVzdCBrZXkgISEhISE="
	// otherSecret is a different valid secret, for wrong-secret cases.
	otherSecret = "whsec_YW5vdGhlciAzMi1ieXRlIGtleSBmb3IgdGVzdGluZyE="

	reasonMismatch  = "signature mismatch"
	reasonTimestamp = "timestamp outside tolerance"
)

var (
	testNow  = time.Unix(1_700_000_000, 0)
	testBody = []byte(`{"event":"order.created","order":{"id":42,"total":"19.99"}}` + "\n")
	tampered = []byte(`{"event":"order.created","order":{"id":42,"total":"0.01"}}` + "\n")
)

// verifyCase is one request presented to one verifier.
type verifyCase struct {
	name   string
	v      webhook.Verifier
	header http.Header
	body   []byte
	// want is the expected rejection reason; "" means the request passes.
	want string
}

// signed returns the headers sender scheme sends for testBody at time at,
// signed with secret and then changed by edit, if any.
func signed(scheme webhook.Scheme, secret string, cfg webhook.HMACConfig, at time.Time, edit func(http.Header)) http.Header {
	h := webhooktest.Sign(scheme, secret, cfg, testBody, at)
	if edit != nil {
		edit(h)
	}
	return h
}

func set(name, value string) func(http.Header) {
	return func(h http.Header) { h.Set(name, value) }
}

func del(name string) func(http.Header) {
	return func(h http.Header) { h.Del(name) }
}

func TestVerify(t *testing.T) {
	t.Parallel()
	var tests []verifyCase
	tests = append(tests, noneCases()...)
	tests = append(tests, githubCases()...)
	tests = append(tests, stripeCases()...)
	tests = append(tests, slackCases()...)
	tests = append(tests, svixCases()...)
	tests = append(tests, hmacCases()...)
	tests = append(tests, bearerCases()...)
	for _, tc := range tests {
		t.Run(tc.v.Scheme.String()+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.v.Verify(tc.header, tc.body, testNow)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify() = %v, want nil", err)
				}
				return
			}
			var rej *webhook.Rejection
			if !errors.As(err, &rej) {
				t.Fatalf("Verify() = %v, want *Rejection %q", err, tc.want)
			}
			if rej.Reason != tc.want {
				t.Errorf("Reason = %q, want %q", rej.Reason, tc.want)
			}
			if tc.v.Secret != "" && strings.Contains(err.Error(), tc.v.Secret) {
				t.Errorf("Error() = %q contains the secret", err.Error())
			}
		})
	}
}

func noneCases() []verifyCase {
	v := webhook.Verifier{Scheme: webhook.SchemeNone}
	return []verifyCase{
		{name: "no headers", v: v, header: http.Header{}, body: testBody},
		{name: "garbage signature", v: v, header: http.Header{"X-Hub-Signature-256": {"sha256=00"}}, body: tampered},
		{name: "nil header and body", v: v},
	}
}

func githubCases() []verifyCase {
	v := webhook.Verifier{Scheme: webhook.SchemeGitHub, Secret: testSecret}
	sign := func(secret string, edit func(http.Header)) http.Header {
		return signed(webhook.SchemeGitHub, secret, webhook.HMACConfig{}, testNow, edit)
	}
	upper := func(h http.Header) {
		h.Set("X-Hub-Signature-256", "sha256="+strings.ToUpper(strings.TrimPrefix(h.Get("X-Hub-Signature-256"), "sha256=")))
	}
	noPrefix := func(h http.Header) {
		h.Set("X-Hub-Signature-256", strings.TrimPrefix(h.Get("X-Hub-Signature-256"), "sha256="))
	}
	return []verifyCase{
		{name: "valid", v: v, header: sign(testSecret, nil), body: testBody},
		{name: "upper-case hex", v: v, header: sign(testSecret, upper), body: testBody},
		{name: "tampered body", v: v, header: sign(testSecret, nil), body: tampered, want: reasonMismatch},
		{name: "wrong secret", v: v, header: sign(otherSecret, nil), body: testBody, want: reasonMismatch},
		{name: "missing header", v: v, header: sign(testSecret, del("X-Hub-Signature-256")), body: testBody, want: "missing X-Hub-Signature-256 header"},
		{name: "no prefix", v: v, header: sign(testSecret, noPrefix), body: testBody, want: "malformed X-Hub-Signature-256 header"},
		{name: "sha1 prefix", v: v, header: sign(testSecret, set("X-Hub-Signature-256", "sha1=0123456789abcdef0123456789abcdef01234567")), body: testBody, want: "malformed X-Hub-Signature-256 header"},
		{name: "not hex", v: v, header: sign(testSecret, set("X-Hub-Signature-256", "sha256="+strings.Repeat("zz", 32))), body: testBody, want: "malformed X-Hub-Signature-256 header"},
		{name: "short", v: v, header: sign(testSecret, set("X-Hub-Signature-256", "sha256=abcd")), body: testBody, want: "malformed X-Hub-Signature-256 header"},
	}
}

// stripeParts returns the timestamp and v1 signature Stripe sends for testBody
// signed with secret at time at.
func stripeParts(secret string, at time.Time) (ts, v1 string) {
	value := webhooktest.Sign(webhook.SchemeStripe, secret, webhook.HMACConfig{}, testBody, at).Get("Stripe-Signature")
	t, v, _ := strings.Cut(value, ",")
	return strings.TrimPrefix(t, "t="), strings.TrimPrefix(v, "v1=")
}

func stripeCases() []verifyCase {
	v := webhook.Verifier{Scheme: webhook.SchemeStripe, Secret: testSecret}
	sign := func(secret string, at time.Time, edit func(http.Header)) http.Header {
		return signed(webhook.SchemeStripe, secret, webhook.HMACConfig{}, at, edit)
	}
	header := func(value string) http.Header { return http.Header{"Stripe-Signature": {value}} }
	ts, good := stripeParts(testSecret, testNow)
	_, bad := stripeParts(otherSecret, testNow)
	oneMinute := v
	oneMinute.Tolerance = time.Minute
	return []verifyCase{
		{name: "valid", v: v, header: sign(testSecret, testNow, nil), body: testBody},
		{name: "tampered body", v: v, header: sign(testSecret, testNow, nil), body: tampered, want: reasonMismatch},
		{name: "wrong secret", v: v, header: sign(otherSecret, testNow, nil), body: testBody, want: reasonMismatch},
		{name: "missing header", v: v, header: http.Header{}, body: testBody, want: "missing Stripe-Signature header"},
		{name: "no timestamp", v: v, header: header("v1=" + good), body: testBody, want: "malformed Stripe-Signature header"},
		{name: "no v1", v: v, header: header("t=" + ts + ",v0=" + good), body: testBody, want: "malformed Stripe-Signature header"},
		{name: "v1 not hex", v: v, header: header("t=" + ts + ",v1=" + strings.Repeat("zz", 32)), body: testBody, want: "malformed Stripe-Signature header"},
		{name: "item without equals", v: v, header: header("t=" + ts + ",v1"), body: testBody, want: "malformed Stripe-Signature header"},
		{name: "two timestamps", v: v, header: header("t=" + ts + ",t=" + ts + ",v1=" + good), body: testBody, want: "malformed Stripe-Signature header"},
		{name: "timestamp not a number", v: v, header: header("t=yesterday,v1=" + good), body: testBody, want: "malformed Stripe-Signature header"},
		{name: "several v1, last matches", v: v, header: header("t=" + ts + ",v1=" + bad + ",v1=" + good + ",v0=" + bad), body: testBody},
		{name: "several v1, first matches", v: v, header: header("t=" + ts + ",v1=" + good + ",v1=" + bad), body: testBody},
		{name: "several v1, none matches", v: v, header: header("t=" + ts + ",v1=" + bad + ",v1=" + bad), body: testBody, want: reasonMismatch},
		{name: "unparsable v1 beside a match", v: v, header: header("t=" + ts + ",v1=zz,v1=" + good), body: testBody},
		{name: "spaces after commas", v: v, header: header("t=" + ts + ", v1=" + good), body: testBody},
		{name: "timestamp changed", v: v, header: header("t=" + strconv.FormatInt(testNow.Unix()-1, 10) + ",v1=" + good), body: testBody, want: reasonMismatch},
		{name: "4m old inside default tolerance", v: v, header: sign(testSecret, testNow.Add(-4*time.Minute), nil), body: testBody},
		{name: "6m old outside default tolerance", v: v, header: sign(testSecret, testNow.Add(-6*time.Minute), nil), body: testBody, want: reasonTimestamp},
		{name: "6m in the future", v: v, header: sign(testSecret, testNow.Add(6*time.Minute), nil), body: testBody, want: reasonTimestamp},
		{name: "30s old inside 1m tolerance", v: oneMinute, header: sign(testSecret, testNow.Add(-30*time.Second), nil), body: testBody},
		{name: "2m old outside 1m tolerance", v: oneMinute, header: sign(testSecret, testNow.Add(-2*time.Minute), nil), body: testBody, want: reasonTimestamp},
	}
}

func slackCases() []verifyCase {
	v := webhook.Verifier{Scheme: webhook.SchemeSlack, Secret: testSecret}
	sign := func(secret string, at time.Time, edit func(http.Header)) http.Header {
		return signed(webhook.SchemeSlack, secret, webhook.HMACConfig{}, at, edit)
	}
	version := func(h http.Header) {
		h.Set("X-Slack-Signature", "v1="+strings.TrimPrefix(h.Get("X-Slack-Signature"), "v0="))
	}
	tenMinutes := v
	tenMinutes.Tolerance = 10 * time.Minute
	return []verifyCase{
		{name: "valid", v: v, header: sign(testSecret, testNow, nil), body: testBody},
		{name: "tampered body", v: v, header: sign(testSecret, testNow, nil), body: tampered, want: reasonMismatch},
		{name: "wrong secret", v: v, header: sign(otherSecret, testNow, nil), body: testBody, want: reasonMismatch},
		{name: "missing signature", v: v, header: sign(testSecret, testNow, del("X-Slack-Signature")), body: testBody, want: "missing X-Slack-Signature header"},
		{name: "missing timestamp", v: v, header: sign(testSecret, testNow, del("X-Slack-Request-Timestamp")), body: testBody, want: "missing X-Slack-Request-Timestamp header"},
		{name: "unknown version", v: v, header: sign(testSecret, testNow, version), body: testBody, want: "malformed X-Slack-Signature header"},
		{name: "signature not hex", v: v, header: sign(testSecret, testNow, set("X-Slack-Signature", "v0=xyz")), body: testBody, want: "malformed X-Slack-Signature header"},
		{name: "timestamp not a number", v: v, header: sign(testSecret, testNow, set("X-Slack-Request-Timestamp", "1.7e9")), body: testBody, want: "malformed X-Slack-Request-Timestamp header"},
		{name: "old signature with fresh timestamp", v: v, header: sign(testSecret, testNow.Add(-time.Hour), set("X-Slack-Request-Timestamp", strconv.FormatInt(testNow.Unix(), 10))), body: testBody, want: reasonMismatch},
		{name: "4m old inside default tolerance", v: v, header: sign(testSecret, testNow.Add(-4*time.Minute), nil), body: testBody},
		{name: "6m old outside default tolerance", v: v, header: sign(testSecret, testNow.Add(-6*time.Minute), nil), body: testBody, want: reasonTimestamp},
		{name: "6m old inside 10m tolerance", v: tenMinutes, header: sign(testSecret, testNow.Add(-6*time.Minute), nil), body: testBody},
		{name: "11m old outside 10m tolerance", v: tenMinutes, header: sign(testSecret, testNow.Add(-11*time.Minute), nil), body: testBody, want: reasonTimestamp},
	}
}

// standardNames renames Svix's headers to the Standard Webhooks ones.
func standardNames(h http.Header) {
	for _, name := range []string{"id", "timestamp", "signature"} {
		h.Set("webhook-"+name, h.Get("svix-"+name))
		h.Del("svix-" + name)
	}
}

func svixCases() []verifyCase {
	v := webhook.Verifier{Scheme: webhook.SchemeSvix, Secret: testSecret}
	sign := func(secret string, at time.Time, edit func(http.Header)) http.Header {
		return signed(webhook.SchemeSvix, secret, webhook.HMACConfig{}, at, edit)
	}
	good := func() string { return sign(testSecret, testNow, nil).Get("svix-signature") }
	// withSignature returns a request signed with testSecret whose signature
	// header is value(the signature Svix sends).
	withSignature := func(value func(sig string) string) http.Header {
		return sign(testSecret, testNow, func(h http.Header) { h.Set("svix-signature", value(h.Get("svix-signature"))) })
	}
	bad := sign(otherSecret, testNow, nil).Get("svix-signature")
	return []verifyCase{
		{name: "valid", v: v, header: sign(testSecret, testNow, nil), body: testBody},
		{name: "valid with webhook- headers", v: v, header: sign(testSecret, testNow, standardNames), body: testBody},
		{name: "secret without whsec_ prefix", v: webhook.Verifier{Scheme: webhook.SchemeSvix, Secret: strings.TrimPrefix(testSecret, "whsec_")}, header: sign(testSecret, testNow, nil), body: testBody},
		{name: "tampered body", v: v, header: sign(testSecret, testNow, nil), body: tampered, want: reasonMismatch},
		{name: "wrong secret", v: v, header: sign(otherSecret, testNow, nil), body: testBody, want: reasonMismatch},
		{name: "id changed", v: v, header: sign(testSecret, testNow, set("svix-id", "msg_other")), body: testBody, want: reasonMismatch},
		{name: "missing id", v: v, header: sign(testSecret, testNow, del("svix-id")), body: testBody, want: "missing svix-id header"},
		{name: "missing timestamp", v: v, header: sign(testSecret, testNow, del("svix-timestamp")), body: testBody, want: "missing svix-timestamp header"},
		{name: "missing signature", v: v, header: sign(testSecret, testNow, del("svix-signature")), body: testBody, want: "missing svix-signature header"},
		{name: "missing webhook-signature", v: v, header: sign(testSecret, testNow, func(h http.Header) { standardNames(h); h.Del("webhook-signature") }), body: testBody, want: "missing webhook-signature header"},
		{name: "no headers", v: v, header: http.Header{}, body: testBody, want: "missing webhook-id header"},
		{name: "no comma", v: v, header: withSignature(func(sig string) string { return strings.Replace(sig, ",", "", 1) }), body: testBody, want: "malformed svix-signature header"},
		{name: "not base64", v: v, header: withSignature(func(string) string { return "v1,***" }), body: testBody, want: "malformed svix-signature header"},
		{name: "only other versions", v: v, header: withSignature(func(sig string) string { return strings.Replace(sig, "v1,", "v1a,", 1) }), body: testBody, want: "malformed svix-signature header"},
		{name: "timestamp not a number", v: v, header: sign(testSecret, testNow, set("svix-timestamp", "now")), body: testBody, want: "malformed svix-timestamp header"},
		{name: "several signatures, last matches", v: v, header: withSignature(func(sig string) string { return bad + " v1a,AAAA " + sig }), body: testBody},
		{name: "several signatures, first matches", v: v, header: withSignature(func(sig string) string { return sig + " " + bad }), body: testBody},
		{name: "several signatures, none matches", v: v, header: withSignature(func(string) string { return bad + " " + bad }), body: testBody, want: reasonMismatch},
		{name: "signature from another request", v: v, header: sign(testSecret, testNow, set("svix-signature", good())), body: testBody, want: reasonMismatch},
		{name: "4m old inside default tolerance", v: v, header: sign(testSecret, testNow.Add(-4*time.Minute), nil), body: testBody},
		{name: "6m old outside default tolerance", v: v, header: sign(testSecret, testNow.Add(-6*time.Minute), nil), body: testBody, want: reasonTimestamp},
		{name: "6m in the future", v: v, header: sign(testSecret, testNow.Add(6*time.Minute), standardNames), body: testBody, want: reasonTimestamp},
	}
}

func hmacCases() []verifyCase {
	var cases []verifyCase
	for _, algorithm := range []string{"sha256", "sha512"} {
		for _, encoding := range []string{"hex", "base64"} {
			for _, prefix := range []string{"", algorithm + "="} {
				cfg := webhook.HMACConfig{Header: "X-Signature", Algorithm: algorithm, Encoding: encoding, Prefix: prefix}
				v := webhook.Verifier{Scheme: webhook.SchemeHMAC, Secret: testSecret, HMAC: cfg}
				sign := func(secret string, edit func(http.Header)) http.Header {
					return signed(webhook.SchemeHMAC, secret, cfg, testNow, edit)
				}
				name := algorithm + "/" + encoding + "/prefix=" + prefix + "/"
				cases = append(cases,
					verifyCase{name: name + "valid", v: v, header: sign(testSecret, nil), body: testBody},
					verifyCase{name: name + "tampered body", v: v, header: sign(testSecret, nil), body: tampered, want: reasonMismatch},
					verifyCase{name: name + "wrong secret", v: v, header: sign(otherSecret, nil), body: testBody, want: reasonMismatch},
					verifyCase{name: name + "missing header", v: v, header: sign(testSecret, del("X-Signature")), body: testBody, want: "missing X-Signature header"},
					verifyCase{name: name + "not encoded", v: v, header: sign(testSecret, set("X-Signature", prefix+"!!!!")), body: testBody, want: "malformed X-Signature header"},
				)
				if prefix != "" {
					strip := func(h http.Header) { h.Set("X-Signature", strings.TrimPrefix(h.Get("X-Signature"), prefix)) }
					cases = append(cases, verifyCase{name: name + "prefix missing", v: v, header: sign(testSecret, strip), body: testBody, want: "malformed X-Signature header"})
				}
			}
		}
	}
	sha512 := webhook.Verifier{Scheme: webhook.SchemeHMAC, Secret: testSecret, HMAC: webhook.HMACConfig{Header: "X-Signature", Algorithm: "sha512", Encoding: "hex"}}
	sha256 := sha512
	sha256.HMAC.Algorithm = "sha256"
	cases = append(cases,
		verifyCase{name: "sha256 signature for sha512 config", v: sha512, header: signed(webhook.SchemeHMAC, testSecret, sha256.HMAC, testNow, nil), body: testBody, want: "malformed X-Signature header"},
		verifyCase{name: "sha512 signature for sha256 config", v: sha256, header: signed(webhook.SchemeHMAC, testSecret, sha512.HMAC, testNow, nil), body: testBody, want: "malformed X-Signature header"},
	)
	return cases
}

func bearerCases() []verifyCase {
	v := webhook.Verifier{Scheme: webhook.SchemeBearer, Secret: testSecret}
	auth := func(value string) http.Header { return http.Header{"Authorization": {value}} }
	return []verifyCase{
		{name: "right token", v: v, header: signed(webhook.SchemeBearer, testSecret, webhook.HMACConfig{}, testNow, nil), body: testBody},
		{name: "lower-case scheme", v: v, header: auth("bearer " + testSecret), body: testBody},
		{name: "wrong token", v: v, header: auth("Bearer " + otherSecret), body: testBody, want: "invalid bearer token"},
		{name: "token prefix", v: v, header: auth("Bearer " + testSecret[:10]), body: testBody, want: "invalid bearer token"},
		{name: "missing header", v: v, header: http.Header{}, body: testBody, want: "missing Authorization header"},
		{name: "basic auth", v: v, header: auth("Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+testSecret))), body: testBody, want: "malformed Authorization header"},
		{name: "no token", v: v, header: auth("Bearer"), body: testBody, want: "malformed Authorization header"},
		{name: "token without scheme", v: v, header: auth(testSecret), body: testBody, want: "malformed Authorization header"},
	}
}

func TestVerifyConfigError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    webhook.Verifier
		want string
	}{
		{name: "zero scheme", v: webhook.Verifier{Secret: testSecret}, want: "verify webhook: unknown scheme Scheme(0)"},
		{name: "unknown scheme", v: webhook.Verifier{Scheme: 99, Secret: testSecret}, want: "verify webhook: unknown scheme Scheme(99)"},
		{name: "empty github secret", v: webhook.Verifier{Scheme: webhook.SchemeGitHub}, want: "verify webhook: empty secret"},
		{name: "empty bearer secret", v: webhook.Verifier{Scheme: webhook.SchemeBearer}, want: "verify webhook: empty secret"},
		{name: "invalid hmac config", v: webhook.Verifier{Scheme: webhook.SchemeHMAC, Secret: testSecret, HMAC: webhook.HMACConfig{Header: "X-Signature", Algorithm: "md5", Encoding: "hex"}}, want: `verify webhook: hmac config: algorithm "md5": want "sha256" or "sha512"`},
		{name: "svix secret not base64", v: webhook.Verifier{Scheme: webhook.SchemeSvix, Secret: "whsec_abc!"}, want: "verify webhook: decode svix secret: illegal base64 data at input byte 3"},
		{name: "svix secret empty key", v: webhook.Verifier{Scheme: webhook.SchemeSvix, Secret: "whsec_"}, want: "verify webhook: decode svix secret: empty key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.v.Verify(http.Header{}, testBody, testNow)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Verify() = %v, want %q", err, tc.want)
			}
			var rej *webhook.Rejection
			if errors.As(err, &rej) {
				t.Errorf("Verify() = *Rejection %q, want a configuration error", rej.Reason)
			}
		})
	}
}

func TestRejectionError(t *testing.T) {
	t.Parallel()
	err := error(&webhook.Rejection{Reason: reasonMismatch})
	if got, want := err.Error(), "webhook rejected: signature mismatch"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
