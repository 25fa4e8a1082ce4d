package webhook

import (
	"net/http"
	"strings"
)

// DefaultDeliveryID returns the delivery id the sender put in h for schemes
// that have one, to deduplicate redeliveries when the webhook has no
// idempotency expression: X-GitHub-Delivery for [SchemeGitHub], svix-id (or
// webhook-id) for [SchemeSvix]. It returns "" for every other scheme; Stripe's
// event id is in the body, where the caller finds it.
func DefaultDeliveryID(s Scheme, h http.Header) string {
	switch s {
	case SchemeGitHub:
		return strings.TrimSpace(h.Get(githubDeliveryHeader))
	case SchemeSvix:
		return strings.TrimSpace(h.Get(svixHeaderNames(h).id))
	}
	return ""
}
