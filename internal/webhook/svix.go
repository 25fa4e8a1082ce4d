package webhook

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// svixSecretPrefix starts every Svix and Standard Webhooks secret; the rest is
// the base64 of the HMAC key.
const svixSecretPrefix = "whsec_"

// svixHeaders names the three headers of one Svix request.
type svixHeaders struct {
	id, timestamp, signature string
}

var (
	svixNames     = svixHeaders{id: "svix-id", timestamp: "svix-timestamp", signature: "svix-signature"}
	standardNames = svixHeaders{id: "webhook-id", timestamp: "webhook-timestamp", signature: "webhook-signature"}
)

// svixHeaderNames returns Svix's own header names when the request carries any
// of them, and the Standard Webhooks names otherwise, so that a request is
// checked against one consistent set.
func svixHeaderNames(h http.Header) svixHeaders {
	if h.Get(svixNames.id) != "" || h.Get(svixNames.timestamp) != "" || h.Get(svixNames.signature) != "" {
		return svixNames
	}
	return standardNames
}

// svixKey decodes a "whsec_<base64>" secret into its HMAC key. The prefix is
// optional, as in Svix's libraries.
func svixKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, svixSecretPrefix))
	if err != nil {
		// The decoding error names only an offset, never the secret.
		return nil, fmt.Errorf("decode svix secret: %w", err)
	}
	if len(key) == 0 {
		return nil, errors.New("decode svix secret: empty key")
	}
	return key, nil
}

// verifySvix checks a Svix or Standard Webhooks request. The signature header
// is a space-separated list of "<version>,<base64>"; senders list several v1
// signatures while rotating secrets, so any one matching suffices. Other
// versions (such as the asymmetric v1a) are ignored.
func verifySvix(h http.Header, body, key []byte, now time.Time, tolerance time.Duration) error {
	names := svixHeaderNames(h)
	id, r := headerValue(h, names.id)
	if r != nil {
		return r
	}
	timestamp, r := headerValue(h, names.timestamp)
	if r != nil {
		return r
	}
	value, r := headerValue(h, names.signature)
	if r != nil {
		return r
	}
	var sigs [][]byte
	for entry := range strings.FieldsSeq(value) {
		version, b64, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && len(sig) == sha256.Size {
			sigs = append(sigs, sig)
		}
	}
	if len(sigs) == 0 {
		return malformed(names.signature)
	}
	if r := checkTimestamp(names.timestamp, timestamp, now, tolerance); r != nil {
		return r
	}
	return matchAny(macSHA256(key, []byte(id+"."+timestamp+"."), body), sigs...)
}
