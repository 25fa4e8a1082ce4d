// Package webhooktest signs webhook requests the way each third-party sender
// does, so tests can send authentic requests to code that verifies them with
// package webhook.
//
// The signing here is written afresh from each sender's published algorithm
// and shares no code with package webhook, so a mistake in one is caught by the
// other rather than repeated.
package webhooktest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/switchyard/switchyard/internal/webhook"
)

// Sign returns the headers a sender using scheme would send with body at time
// now, signed with secret; hmacCfg is used by [webhook.SchemeHMAC] only.
// GitHub requests also carry a random X-GitHub-Delivery and Svix requests a
// random svix-id, as the real senders do. [webhook.SchemeNone] returns empty
// headers.
//
// Sign panics on input no sender could sign with: an unknown scheme, a Svix
// secret that is not base64, or an HMAC algorithm or encoding it does not know.
func Sign(scheme webhook.Scheme, secret string, hmacCfg webhook.HMACConfig, body []byte, now time.Time) http.Header {
	h := http.Header{}
	ts := strconv.FormatInt(now.Unix(), 10)
	switch scheme {
	case webhook.SchemeNone:
	case webhook.SchemeGitHub:
		// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
		h.Set("X-GitHub-Delivery", uuid.NewString())
		h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac(sha256.New, []byte(secret), body)))
	case webhook.SchemeStripe:
		// https://docs.stripe.com/webhooks#verify-manually
		payload := append([]byte(ts+"."), body...)
		h.Set("Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(mac(sha256.New, []byte(secret), payload)))
	case webhook.SchemeSlack:
		// https://api.slack.com/authentication/verifying-requests-from-slack
		base := append([]byte("v0:"+ts+":"), body...)
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac(sha256.New, []byte(secret), base)))
	case webhook.SchemeSvix:
		// https://docs.svix.com/receiving/verifying-payloads/how-manual
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			panic(fmt.Sprintf("webhooktest: svix secret is not whsec_<base64>: %v", err))
		}
		id := "msg_" + rand.Text()
		content := append([]byte(id+"."+ts+"."), body...)
		h.Set("svix-id", id)
		h.Set("svix-timestamp", ts)
		h.Set("svix-signature", "v1,"+base64.StdEncoding.EncodeToString(mac(sha256.New, key, content)))
	case webhook.SchemeHMAC:
		h.Set(hmacCfg.Header, hmacCfg.Prefix+signHMAC(hmacCfg, []byte(secret), body))
	case webhook.SchemeBearer:
		h.Set("Authorization", "Bearer "+secret)
	default:
		panic(fmt.Sprintf("webhooktest: cannot sign for scheme %v", scheme))
	}
	return h
}

func signHMAC(c webhook.HMACConfig, key, body []byte) string {
	var newHash func() hash.Hash
	switch c.Algorithm {
	case "sha256":
		newHash = sha256.New
	case "sha512":
		newHash = sha512.New
	default:
		panic(fmt.Sprintf("webhooktest: unknown hmac algorithm %q", c.Algorithm))
	}
	sum := mac(newHash, key, body)
	switch c.Encoding {
	case "hex":
		return hex.EncodeToString(sum)
	case "base64":
		return base64.StdEncoding.EncodeToString(sum)
	}
	panic(fmt.Sprintf("webhooktest: unknown hmac encoding %q", c.Encoding))
}

func mac(newHash func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(newHash, key)
	m.Write(msg)
	return m.Sum(nil)
}
