package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

// mac returns the HMAC made with newHash and keyed with key of the
// concatenation of parts, which lets schemes sign "timestamp.body" without
// copying the body.
func mac(newHash func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// macSHA256 returns the HMAC-SHA256 keyed with key of the concatenation of
// parts.
func macSHA256(key []byte, parts ...[]byte) []byte {
	return mac(sha256.New, key, parts...)
}

// matchAny returns nil when one of sigs is want, each compared in constant
// time, and a mismatch otherwise. Senders that rotate secrets send one
// signature per active secret, and any one matching suffices.
func matchAny(want []byte, sigs ...[]byte) error {
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return reject(reasonMismatch)
}
