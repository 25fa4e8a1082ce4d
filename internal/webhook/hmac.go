package webhook

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// HMACConfig configures [SchemeHMAC]: which header carries the signature and
// how it is computed and written.
type HMACConfig struct {
	// Header is the name of the header carrying the signature, such as
	// "X-Signature".
	Header string
	// Algorithm is the hash: "sha256" or "sha512".
	Algorithm string
	// Encoding is how the signature is written: "hex" (either case) or
	// "base64" (standard alphabet, padded).
	Encoding string
	// Prefix, when set, must start the header's value and precede the encoded
	// signature, as "sha256=" does for GitHub.
	Prefix string
}

// Algorithms and encodings [HMACConfig] accepts.
const (
	algorithmSHA256 = "sha256"
	algorithmSHA512 = "sha512"
	encodingHex     = "hex"
	encodingBase64  = "base64"
)

// ValidateHMACConfig checks a generic HMAC config: Header must be a valid
// header name, Algorithm "sha256" or "sha512", Encoding "hex" or "base64", and
// Prefix, if any, valid in a header value and not starting with whitespace
// (which HTTP strips). The error says which field is wrong.
func ValidateHMACConfig(c HMACConfig) error {
	switch {
	case c.Header == "":
		return errors.New("hmac config: header name is required")
	case !httpguts.ValidHeaderFieldName(c.Header):
		return fmt.Errorf("hmac config: header name %q is not a valid HTTP header name", c.Header)
	}
	if _, ok := hmacHash(c.Algorithm); !ok {
		return fmt.Errorf("hmac config: algorithm %q: want %q or %q", c.Algorithm, algorithmSHA256, algorithmSHA512)
	}
	if c.Encoding != encodingHex && c.Encoding != encodingBase64 {
		return fmt.Errorf("hmac config: encoding %q: want %q or %q", c.Encoding, encodingHex, encodingBase64)
	}
	if !httpguts.ValidHeaderFieldValue(c.Prefix) || strings.TrimLeft(c.Prefix, " \t") != c.Prefix {
		return fmt.Errorf("hmac config: prefix %q is not valid at the start of a header value", c.Prefix)
	}
	return nil
}

func hmacHash(algorithm string) (func() hash.Hash, bool) {
	switch algorithm {
	case algorithmSHA256:
		return sha256.New, true
	case algorithmSHA512:
		return sha512.New, true
	}
	return nil, false
}

// verifyHMAC checks the header c names: c.Prefix, then the encoded HMAC of the
// body keyed with key. c must have passed [ValidateHMACConfig].
func verifyHMAC(h http.Header, body, key []byte, c HMACConfig) error {
	sig, r := signatureOf(h, c)
	if r != nil {
		return r
	}
	newHash, _ := hmacHash(c.Algorithm)
	return matchAny(mac(newHash, key, body), sig)
}

// signatureOf reads the signature from the header c names: c.Prefix, then the
// signature written in c.Encoding, as long as c.Algorithm's hash. c must have
// passed [ValidateHMACConfig].
func signatureOf(h http.Header, c HMACConfig) ([]byte, *Rejection) {
	value, r := headerValue(h, c.Header)
	if r != nil {
		return nil, r
	}
	encoded, ok := strings.CutPrefix(value, c.Prefix)
	if !ok {
		return nil, malformed(c.Header)
	}
	var (
		sig []byte
		err error
	)
	if c.Encoding == encodingHex {
		sig, err = hex.DecodeString(encoded)
	} else {
		sig, err = base64.StdEncoding.DecodeString(encoded)
	}
	newHash, _ := hmacHash(c.Algorithm)
	if err != nil || len(sig) != newHash().Size() {
		return nil, malformed(c.Header)
	}
	return sig, nil
}
