package webhook

import "net/http"

const (
	githubSignatureHeader = "X-Hub-Signature-256"
	githubDeliveryHeader  = "X-GitHub-Delivery"
)

// githubHMAC is how GitHub signs: X-Hub-Signature-256, "sha256=<hex
// HMAC-SHA256 of body>", which is a generic HMAC header.
var githubHMAC = HMACConfig{Header: githubSignatureHeader, Algorithm: algorithmSHA256, Encoding: encodingHex, Prefix: "sha256="}

// verifyGitHub checks X-Hub-Signature-256.
func verifyGitHub(h http.Header, body, key []byte) error {
	return verifyHMAC(h, body, key, githubHMAC)
}
