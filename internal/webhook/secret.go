package webhook

import (
	"crypto/rand"
	"encoding/base64"
)

// secretBytes is the entropy of a secret from [NewSecret].
const secretBytes = 32

// NewSecret returns a fresh random secret usable with every scheme:
// "whsec_" followed by the padded standard base64 of 32 random bytes. Svix
// requires exactly this form and keys its HMAC with the decoded bytes; the
// other schemes, as GitHub, Stripe and Slack do with their own secrets, use the
// whole string's bytes as the key or token.
func NewSecret() string {
	b := make([]byte, secretBytes)
	// rand.Read never returns an error; it crashes the program if the system's
	// random source fails.
	_, _ = rand.Read(b)
	return svixSecretPrefix + base64.StdEncoding.EncodeToString(b)
}
