package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

const (
	slackSignatureHeader = "X-Slack-Signature"
	slackTimestampHeader = "X-Slack-Request-Timestamp"
	slackVersion         = "v0"
)

// verifySlack checks X-Slack-Signature, "v0=<hex HMAC-SHA256 of
// "v0:<timestamp>:<body>">", with the timestamp from X-Slack-Request-Timestamp.
func verifySlack(h http.Header, body, key []byte, now time.Time, tolerance time.Duration) error {
	timestamp := strings.TrimSpace(h.Get(slackTimestampHeader))
	if timestamp == "" {
		return missing(slackTimestampHeader)
	}
	value := strings.TrimSpace(h.Get(slackSignatureHeader))
	if value == "" {
		return missing(slackSignatureHeader)
	}
	hexSig, ok := strings.CutPrefix(value, slackVersion+"=")
	if !ok {
		return malformed(slackSignatureHeader)
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil || len(sig) != sha256.Size {
		return malformed(slackSignatureHeader)
	}
	if r := checkTimestamp(slackTimestampHeader, timestamp, now, tolerance); r != nil {
		return r
	}
	want := macSHA256(key, []byte(slackVersion+":"+timestamp+":"), body)
	if !hmac.Equal(sig, want) {
		return reject(reasonMismatch)
	}
	return nil
}
