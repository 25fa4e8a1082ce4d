package sdk

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
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

// TestTransientErrors checks which failures of a report are sent again while
// the report's own context lasts.
func TestTransientErrors(t *testing.T) {
	t.Parallel()
	live := context.Background()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	cert := &tls.CertificateVerificationError{Err: errors.New("unknown authority")}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"no error", live, nil, false},
		{"connection reset (canceled)", live, connect.NewError(connect.CodeCanceled, reset), true},
		{"canceled by the caller's own context", ended, connect.NewError(connect.CodeCanceled, context.Canceled), false},
		{"connection refused (unavailable)", live, connect.NewError(connect.CodeUnavailable, errors.New("dial tcp: connection refused")), true},
		{"unavailable after the caller's context ended", ended, connect.NewError(connect.CodeUnavailable, errors.New("x")), false},
		{"one try's timeout (deadline_exceeded)", live, connect.NewError(connect.CodeDeadlineExceeded, context.DeadlineExceeded), true},
		{"resource_exhausted", live, connect.NewError(connect.CodeResourceExhausted, errors.New("rate limited")), true},
		{"broken response (unknown)", live, connect.NewError(connect.CodeUnknown, io.ErrUnexpectedEOF), true},
		{"unknown sent by a server", live, connect.NewWireError(connect.CodeUnknown, errors.New("x")), false},
		{"canceled sent by a server", live, connect.NewWireError(connect.CodeCanceled, errors.New("x")), true},
		{"certificate rejected", live, connect.NewError(connect.CodeUnavailable, cert), false},
		{"invalid_argument", live, connect.NewWireError(connect.CodeInvalidArgument, errors.New("x")), false},
		{"failed_precondition", live, connect.NewWireError(connect.CodeFailedPrecondition, errors.New("x")), false},
		{"not_found", live, connect.NewWireError(connect.CodeNotFound, errors.New("x")), false},
		{"unauthenticated", live, connect.NewWireError(connect.CodeUnauthenticated, errors.New("x")), false},
		{"permission_denied", live, connect.NewWireError(connect.CodePermissionDenied, errors.New("x")), false},
		{"internal sent by a server", live, connect.NewWireError(connect.CodeInternal, errors.New("x")), false},
		{"broken envelope (internal, not from a server)", live, connect.NewError(connect.CodeInternal, errors.New("protocol error: incomplete envelope: unexpected EOF")), true},
	}
	for _, tt := range tests {
		if got := transient(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: transient(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// resetTransport fails every call as a connection reset does.
type resetTransport struct{}

func (resetTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

// TestConnectionResetIsCanceledAndTransient makes a real report call over a
// connection that resets: connect-go reports it as `canceled`, which the worker
// sends again.
func TestConnectionResetIsCanceledAndTransient(t *testing.T) {
	t.Parallel()
	c := NewClient("http://127.0.0.1:1", WithHTTPClient(&http.Client{Transport: resetTransport{}}))
	for _, call := range []func(context.Context) error{
		func(ctx context.Context) error {
			_, err := c.workers.CompleteTask(ctx, connect.NewRequest(&switchyardv1.CompleteTaskRequest{TaskId: "t", Attempt: 1}))
			return err
		},
		func(ctx context.Context) error {
			_, err := c.workers.FailTask(ctx, connect.NewRequest(&switchyardv1.FailTaskRequest{TaskId: "t", Attempt: 1}))
			return err
		},
	} {
		err := call(context.Background())
		if connect.CodeOf(err) != connect.CodeCanceled || !transient(context.Background(), err) {
			t.Errorf("a reset report failed with %v (code %v, transient %v), want canceled and transient",
				err, connect.CodeOf(err), transient(context.Background(), err))
		}
	}
}
