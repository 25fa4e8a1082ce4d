package webhook

import (
	"net/http"
	"time"
)

const (
	slackSignatureHeader = "X-Slack-Signature"
	slackTimestampHeader = "X-Slack-Request-Timestamp"
	slackVersion         = "v0"
)

// slackHMAC is how Slack writes its signature: X-Slack-Signature,
// "v0=<hex HMAC-SHA256>".
var slackHMAC = HMACConfig{Header: slackSignatureHeader, Algorithm: algorithmSHA256, Encoding: encodingHex, Prefix: slackVersion + "="}

// verifySlack checks X-Slack-Signature, "v0=<hex HMAC-SHA256 of
// "v0:<timestamp>:<body>">", with the timestamp from X-Slack-Request-Timestamp.
func verifySlack(h http.Header, body, key []byte, now time.Time, tolerance time.Duration) error {
	timestamp, r := headerValue(h, slackTimestampHeader)
	if r != nil {
		return r
	}
	sig, r := signatureOf(h, slackHMAC)
	if r != nil {
		return r
	}
	if r := checkTimestamp(slackTimestampHeader, timestamp, now, tolerance); r != nil {
		return r
	}
	return matchAny(macSHA256(key, []byte(slackVersion+":"+timestamp+":"), body), sig)
}
