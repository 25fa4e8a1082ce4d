package engine

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// SecretKeyBytes is the size of the key that seals stored secrets (AES-256).
const SecretKeyBytes = 32

// errNoSecretKey is returned when a secret must be stored but the server has no
// key to seal it with.
var errNoSecretKey = &Error{
	Kind:    KindFailedPrecondition,
	Message: "the server has no secret key to seal webhook secrets with: start it with --secret-key (SWITCHYARD_SECRET_KEY)",
}

// seal encrypts a secret with the server's key (AES-GCM), so that what is stored
// is of use only to a server that has the key.
func (e *Engine) seal(secret string) (string, error) {
	aead, err := e.aead()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(secret), nil)), nil
}

// open decrypts what seal made.
func (e *Engine) open(sealed string) (string, error) {
	aead, err := e.aead()
	if err != nil {
		return "", err
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errors.New("open secret: malformed")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil {
		return "", fmt.Errorf("open secret (was the secret key changed?): %w", err)
	}
	return string(plain), nil
}

func (e *Engine) aead() (cipher.AEAD, error) {
	if len(e.cfg.SecretKey) == 0 {
		return nil, errNoSecretKey
	}
	if len(e.cfg.SecretKey) != SecretKeyBytes {
		return nil, fmt.Errorf("secret key is %d bytes, want %d", len(e.cfg.SecretKey), SecretKeyBytes)
	}
	block, err := aes.NewCipher(e.cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
