package webhook

import "strconv"

// Scheme is how a sender signs its requests.
type Scheme int

const (
	// SchemeNone accepts every request unverified; use it only when chosen
	// explicitly.
	SchemeNone Scheme = iota + 1
	// SchemeGitHub checks X-Hub-Signature-256: "sha256=" followed by the hex
	// HMAC-SHA256 of the body keyed with the secret.
	SchemeGitHub
	// SchemeStripe checks Stripe-Signature: "t=<unix>,v1=<hex>[,v1=<hex>...]",
	// each v1 a hex HMAC-SHA256 of t + "." + body keyed with the secret; any v1
	// may match, and t must be within the tolerance.
	SchemeStripe
	// SchemeSlack checks X-Slack-Signature: "v0=" followed by the hex
	// HMAC-SHA256 of "v0:" + X-Slack-Request-Timestamp + ":" + body keyed with
	// the secret; the timestamp must be within the tolerance.
	SchemeSlack
	// SchemeSvix checks Svix and Standard Webhooks requests: headers svix-id,
	// svix-timestamp and svix-signature (or webhook-id, webhook-timestamp and
	// webhook-signature), the signature a space-separated list of
	// "v1,<base64>", each the standard base64 HMAC-SHA256 of id + "." +
	// timestamp + "." + body keyed with the base64-decoded secret after its
	// "whsec_" prefix; any v1 may match, and the timestamp must be within the
	// tolerance.
	SchemeSvix
	// SchemeHMAC checks a header configured by [HMACConfig]: an optional
	// prefix followed by the hex or base64 HMAC-SHA256 or HMAC-SHA512 of the
	// body keyed with the secret's bytes.
	SchemeHMAC
	// SchemeBearer checks "Authorization: Bearer <secret>".
	SchemeBearer
)

var schemeNames = map[Scheme]string{
	SchemeNone:   "none",
	SchemeGitHub: "github",
	SchemeStripe: "stripe",
	SchemeSlack:  "slack",
	SchemeSvix:   "svix",
	SchemeHMAC:   "hmac",
	SchemeBearer: "bearer",
}

// String returns the scheme's lower-case name, such as "github", or
// "Scheme(<n>)" for a value that is not a scheme.
func (s Scheme) String() string {
	if name, ok := schemeNames[s]; ok {
		return name
	}
	return "Scheme(" + strconv.Itoa(int(s)) + ")"
}

func (s Scheme) valid() bool {
	_, ok := schemeNames[s]
	return ok
}
