package webhook

import (
	"net/http"
	"strings"
)

// Reasons shared by several schemes. Header-specific reasons name the header,
// as in "missing X-Hub-Signature-256 header".
const (
	reasonMismatch  = "signature mismatch"
	reasonTimestamp = "timestamp outside tolerance"
)

// Rejection is a verification failure: the request is not shown to come from
// the holder of the secret.
type Rejection struct {
	// Reason says why, in a few words that are stable over releases and safe
	// to show the sender and to record: it never contains the secret or the
	// expected signature.
	Reason string
}

// Error implements error.
func (r *Rejection) Error() string {
	return "webhook rejected: " + r.Reason
}

func reject(reason string) *Rejection {
	return &Rejection{Reason: reason}
}

func missing(header string) *Rejection {
	return reject("missing " + header + " header")
}

func malformed(header string) *Rejection {
	return reject("malformed " + header + " header")
}

// headerValue returns the value of the header name in h, trimmed, or a
// rejection naming the header when it is missing or blank.
func headerValue(h http.Header, name string) (string, *Rejection) {
	value := strings.TrimSpace(h.Get(name))
	if value == "" {
		return "", missing(name)
	}
	return value, nil
}
