package store

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

// TestTranslateConnectionEOF: a connection closed under a query (the driver's
// EOF, bare or wrapped) is ErrUnavailable, so the caller gets a retryable
// answer and not an internal error.
func TestTranslateConnectionEOF(t *testing.T) {
	for _, err := range []error{io.EOF, io.ErrUnexpectedEOF, fmt.Errorf("push event: %w", io.EOF)} {
		if got := translate(err); !errors.Is(got, ErrUnavailable) {
			t.Errorf("translate(%v) = %v, want ErrUnavailable", err, got)
		}
	}
}
