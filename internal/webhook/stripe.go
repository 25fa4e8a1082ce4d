package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

const stripeSignatureHeader = "Stripe-Signature"

// verifyStripe checks Stripe-Signature, "t=<unix>,v1=<hex>,...". Stripe sends
// several v1 signatures while a secret is being rolled, one per active secret,
// so any one matching suffices. v0 and unknown keys are ignored, as are v1
// values that are not 32 bytes of hex, as Stripe's own libraries do.
func verifyStripe(h http.Header, body, key []byte, now time.Time, tolerance time.Duration) error {
	value, r := headerValue(h, stripeSignatureHeader)
	if r != nil {
		return r
	}
	var (
		timestamp string
		sigs      [][]byte
	)
	for item := range strings.SplitSeq(value, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return malformed(stripeSignatureHeader)
		}
		switch k {
		case "t":
			if timestamp != "" {
				return malformed(stripeSignatureHeader)
			}
			timestamp = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err == nil && len(sig) == sha256.Size {
				sigs = append(sigs, sig)
			}
		}
	}
	if timestamp == "" || len(sigs) == 0 {
		return malformed(stripeSignatureHeader)
	}
	if r := checkTimestamp(stripeSignatureHeader, timestamp, now, tolerance); r != nil {
		return r
	}
	return matchAny(macSHA256(key, []byte(timestamp), []byte("."), body), sigs...)
}
