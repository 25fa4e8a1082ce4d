// Package webhook verifies that an incoming third-party webhook request was
// sent by whoever holds the webhook's secret. A [Verifier] names the sender's
// [Scheme] (GitHub, Stripe, Slack, Svix / Standard Webhooks, a generic HMAC
// header described by [HMACConfig], or a bearer token) and checks the request's
// headers and raw body with [Verifier.Verify], which answers nil or a
// [*Rejection] whose reason is safe to return to the sender and to record.
//
// Verification is pure: no database, no HTTP server, and the clock is passed
// in. Signatures are always computed over the body bytes exactly as received
// and compared in constant time. Schemes that sign a timestamp also reject
// requests whose timestamp is further than the tolerance from now, in either
// direction, so a captured request cannot be replayed later.
//
// [NewSecret] makes a secret every scheme accepts, [DefaultDeliveryID] reads the
// sender's delivery id for deduplication, and [ValidateHMACConfig] checks a
// generic HMAC configuration before it is stored. Package webhooktest signs
// requests the way each sender does, for tests.
package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// DefaultTolerance is the replay window used when [Verifier.Tolerance] is not
// positive. Stripe, Slack and Svix all recommend five minutes.
const DefaultTolerance = 5 * time.Minute

// Verifier checks one webhook's requests.
type Verifier struct {
	// Scheme is how the sender signs its requests.
	Scheme Scheme
	// Secret is the shared secret: the HMAC key, the Svix "whsec_" secret, or
	// the bearer token. It must not be empty unless Scheme is [SchemeNone].
	Secret string
	// HMAC configures [SchemeHMAC] and is ignored by the other schemes.
	HMAC HMACConfig
	// Tolerance is the replay window for schemes that sign a timestamp
	// (Stripe, Slack, Svix); zero or negative means [DefaultTolerance].
	Tolerance time.Duration
}

// Verify returns nil when the request with headers h and raw body body is
// authentic at time now, or a [*Rejection] saying why it is not: a missing or
// malformed header, a signature that does not match, or a timestamp outside
// the tolerance. body must be the bytes exactly as received, before any
// decoding.
//
// Any other error means the Verifier itself is unusable (an unknown scheme, an
// empty secret, an invalid [HMACConfig], a Svix secret that is not base64): the
// fault is the receiver's configuration, not the sender's request.
func (v Verifier) Verify(h http.Header, body []byte, now time.Time) error {
	if err := v.validate(); err != nil {
		return fmt.Errorf("verify webhook: %w", err)
	}
	switch v.Scheme {
	case SchemeNone:
		return nil
	case SchemeGitHub:
		return verifyGitHub(h, body, []byte(v.Secret))
	case SchemeStripe:
		return verifyStripe(h, body, []byte(v.Secret), now, v.tolerance())
	case SchemeSlack:
		return verifySlack(h, body, []byte(v.Secret), now, v.tolerance())
	case SchemeSvix:
		key, err := svixKey(v.Secret)
		if err != nil {
			return fmt.Errorf("verify webhook: %w", err)
		}
		return verifySvix(h, body, key, now, v.tolerance())
	case SchemeHMAC:
		return verifyHMAC(h, body, []byte(v.Secret), v.HMAC)
	case SchemeBearer:
		return verifyBearer(h, v.Secret)
	}
	return fmt.Errorf("verify webhook: unknown scheme %v", v.Scheme)
}

// validate reports configuration errors, which are the receiver's fault and so
// never a [Rejection].
func (v Verifier) validate() error {
	if !v.Scheme.valid() {
		return fmt.Errorf("unknown scheme %v", v.Scheme)
	}
	if v.Scheme == SchemeNone {
		return nil
	}
	if v.Secret == "" {
		return errors.New("empty secret")
	}
	if v.Scheme == SchemeHMAC {
		if err := ValidateHMACConfig(v.HMAC); err != nil {
			return err
		}
	}
	return nil
}

func (v Verifier) tolerance() time.Duration {
	if v.Tolerance <= 0 {
		return DefaultTolerance
	}
	return v.Tolerance
}
