package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

const authorizationHeader = "Authorization"

// verifyBearer checks "Authorization: Bearer <secret>". The auth-scheme is
// case-insensitive (RFC 9110). Both tokens are hashed before the constant-time
// comparison so that neither their content nor the secret's length leaks
// through timing.
func verifyBearer(h http.Header, secret string) error {
	value, r := headerValue(h, authorizationHeader)
	if r != nil {
		return r
	}
	scheme, token, ok := strings.Cut(value, " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return malformed(authorizationHeader)
	}
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return reject("invalid bearer token")
	}
	return nil
}
