package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
)

// macSHA256 returns the HMAC-SHA256 keyed with key of the concatenation of
// parts, which lets schemes sign "timestamp.body" without copying the body.
func macSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}
