package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

const (
	githubSignatureHeader = "X-Hub-Signature-256"
	githubDeliveryHeader  = "X-GitHub-Delivery"
	githubPrefix          = "sha256="
)

// verifyGitHub checks X-Hub-Signature-256, "sha256=<hex HMAC-SHA256 of body>".
func verifyGitHub(h http.Header, body, key []byte) error {
	value := strings.TrimSpace(h.Get(githubSignatureHeader))
	if value == "" {
		return missing(githubSignatureHeader)
	}
	hexSig, ok := strings.CutPrefix(value, githubPrefix)
	if !ok {
		return malformed(githubSignatureHeader)
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil || len(sig) != sha256.Size {
		return malformed(githubSignatureHeader)
	}
	if !hmac.Equal(sig, macSHA256(key, body)) {
		return reject(reasonMismatch)
	}
	return nil
}
