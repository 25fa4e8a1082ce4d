package service

import (
	"errors"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchyard/switchyard/internal/auth"
)

// rateLimitReason is the google.rpc.ErrorInfo reason of a call refused by a
// rate limit.
const rateLimitReason = "RATE_LIMITED"

// rateLimited is the error a call over its rate limit gets: resource_exhausted
// with the wait in a google.rpc.RetryInfo detail (which the SDK honours) and in
// a Retry-After header, which REST and Connect clients get as an HTTP header
// (gRPC ones as a trailer).
func rateLimited(e *auth.RateLimitError) *connect.Error {
	ce := connect.NewError(connect.CodeResourceExhausted, errors.New(e.Error()))
	addDetail(ce, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	addDetail(ce, &errdetails.ErrorInfo{Reason: rateLimitReason, Domain: errorDomain, Metadata: map[string]string{
		"per_second": strconv.Itoa(e.Rate.PerSecond),
		"burst":      strconv.Itoa(e.Rate.Burst),
	}})
	ce.Meta().Set("Retry-After", RetryAfter(e.RetryAfter))
	return ce
}

// RetryAfter formats d as the value of a Retry-After header: whole seconds,
// rounded up, at least 1.
func RetryAfter(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}
