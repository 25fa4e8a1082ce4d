package engine

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

// TestErrorOf: the engine's errors come back as they are, however wrapped; a
// database that cannot serve becomes KindUnavailable with retry advice and the
// store's error as its cause; the caller's own deadline, and failures nobody
// can act on, are no engine error.
func TestErrorOf(t *testing.T) {
	t.Parallel()
	own := &Error{Kind: KindNotFound, Message: "event e not found"}
	unavailable := fmt.Errorf("list events: %w", fmt.Errorf("%w: no database connection free within 1s", store.ErrUnavailable))
	tests := []struct {
		name      string
		err       error
		want      Kind // 0: no engine error
		wantRetry bool
	}{
		{"nil", nil, 0, false},
		{"engine error", own, KindNotFound, false},
		{"wrapped engine error", fmt.Errorf("get event: %w", own), KindNotFound, false},
		{"database unavailable", unavailable, KindUnavailable, true},
		{"deadline while the database was unavailable", fmt.Errorf("%w: %w", store.ErrUnavailable, context.DeadlineExceeded), 0, false},
		{"cancelled", context.Canceled, 0, false},
		{"row missing where it must exist", fmt.Errorf("claim: %w", store.ErrNotFound), 0, false},
		{"anything else", errors.New("boom"), 0, false},
	}
	for _, tt := range tests {
		got := ErrorOf(tt.err)
		var kind Kind
		if got != nil {
			kind = got.Kind
		}
		if kind != tt.want || (got != nil && (got.RetryAfter > 0) != tt.wantRetry) {
			t.Errorf("%s: ErrorOf = %+v, want kind %d (retry advice %v)", tt.name, got, tt.want, tt.wantRetry)
		}
	}
	got := ErrorOf(unavailable)
	if got.RetryAfter != unavailableRetry || !errors.Is(got, store.ErrUnavailable) || got.Cause != unavailable {
		t.Errorf("unavailable: %+v; want retry after %v and the store's error as its cause", got, unavailableRetry)
	}
	if got := ErrorOf(fmt.Errorf("get event: %w", own)); got != own {
		t.Errorf("wrapped engine error: %p, want the same error %p", got, own)
	}
}
