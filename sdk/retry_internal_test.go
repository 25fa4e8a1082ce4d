package sdk

import (
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestRetryPolicyDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want RetryPolicy
	}{
		{RetryPolicy{}, RetryPolicy{MaxAttempts: 5, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}},
		{RetryPolicy{MaxAttempts: 1}, RetryPolicy{MaxAttempts: 1, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}},
		{RetryPolicy{InitialBackoff: 10 * time.Second}, RetryPolicy{MaxAttempts: 5, InitialBackoff: 10 * time.Second, MaxBackoff: 10 * time.Second}},
	}
	for _, tt := range tests {
		if got := tt.in.withDefaults(); got != tt.want {
			t.Errorf("%+v.withDefaults() = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestBackoffCeilingDoublesUpToMax(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{}.withDefaults()
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for n, ms := range want {
		if got := p.ceiling(n); got != ms*time.Millisecond {
			t.Errorf("ceiling(%d) = %v, want %v", n, got, ms*time.Millisecond)
		}
	}
	if got := p.ceiling(1000); got != 5*time.Second {
		t.Errorf("ceiling(1000) = %v, want 5s", got)
	}
	for n := range 10 {
		for range 100 {
			if d := p.backoff(n, nil); d < 0 || d > p.ceiling(n) {
				t.Fatalf("backoff(%d) = %v, outside [0, %v]", n, d, p.ceiling(n))
			}
		}
	}
}

func TestBackoffHonoursRetryInfo(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{}.withDefaults()
	err := connect.NewError(connect.CodeUnavailable, errors.New("overloaded"))
	detail, derr := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(300 * time.Millisecond)})
	if derr != nil {
		t.Fatal(derr)
	}
	err.AddDetail(detail)
	for range 100 {
		if d := p.backoff(0, err); d < 300*time.Millisecond || d > 300*time.Millisecond {
			t.Fatalf("backoff(0) with a 300ms RetryInfo = %v, want 300ms (the first ceiling is 100ms)", d)
		}
	}
	if got := retryDelay(err); got != 300*time.Millisecond {
		t.Errorf("retryDelay = %v, want 300ms", got)
	}
	// An advised delay past MaxBackoff is still honoured: a rate limit's
	// retry would be refused again any sooner.
	short := RetryPolicy{InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}.withDefaults()
	if d := short.backoff(3, err); d != 300*time.Millisecond {
		t.Errorf("backoff(3) with a 300ms RetryInfo and a 10ms MaxBackoff = %v, want 300ms", d)
	}
}

func TestRetryableCodes(t *testing.T) {
	t.Parallel()
	for _, code := range []connect.Code{
		connect.CodeCanceled, connect.CodeUnknown, connect.CodeInvalidArgument, connect.CodeDeadlineExceeded,
		connect.CodeNotFound, connect.CodeAlreadyExists, connect.CodePermissionDenied, connect.CodeResourceExhausted,
		connect.CodeFailedPrecondition, connect.CodeAborted, connect.CodeOutOfRange, connect.CodeUnimplemented,
		connect.CodeInternal, connect.CodeUnavailable, connect.CodeDataLoss, connect.CodeUnauthenticated,
	} {
		want := code == connect.CodeUnavailable || code == connect.CodeResourceExhausted
		if got := retryable(connect.NewError(code, errors.New("x"))); got != want {
			t.Errorf("retryable(%v) = %v, want %v", code, got, want)
		}
	}
	if retryable(errors.New("plain")) {
		t.Errorf("retryable(plain error) = true, want false")
	}
}
