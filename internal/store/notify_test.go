package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestNotifierCarriesSignals sends, from one server's notifier, twenty signals
// of 3000 bytes (more than two fit in one Postgres notification), one signal
// over the payload limit and one with a newline, then a closing signal: another
// server's notifier on the same database receives the twenty and the closing
// one, in payloads Postgres accepted, and neither of the two that cannot be
// sent. On SQLite the notifier does nothing and Run returns at once.
func TestNotifierCarriesSignals(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		s := storetest.Engines(t)[0].Open(t, store.Config{})
		n := s.NewNotifier(log, func(sig string) { t.Errorf("received %q on SQLite, want nothing", sig) })
		n.Send("tasks")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan struct{})
		go func() {
			n.Run(ctx)
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("Run on SQLite did not return")
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		eng := storetest.Postgres(t)
		url := storetest.NewSchema(t)
		sender := eng.Open(t, store.Config{DatabaseURL: url}).NewNotifier(log, func(string) {})
		got := make(chan string, 100)
		receiver := eng.Open(t, store.Config{DatabaseURL: url}).NewNotifier(log, func(sig string) { got <- sig })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		go sender.Run(ctx)
		go receiver.Run(ctx)
		waitFor(ctx, t, got, sender, "ready") // the receiver listens from here on

		want := map[string]bool{}
		for i := range 20 {
			sig := fmt.Sprintf("big:%02d:%s", i, strings.Repeat("x", 3000))
			want[sig] = true
			sender.Send(sig)
		}
		sender.Send(strings.Repeat("y", 8000), "a\nb")
		sender.Send("end")
		for {
			select {
			case <-ctx.Done():
				t.Fatalf("%d of 20 large signals and the closing one not received", len(want))
			case sig := <-got:
				switch {
				case sig == "end" && len(want) == 0:
					return
				case sig == "end":
					t.Fatalf("closing signal received before %d of the large ones", len(want))
				case want[sig]:
					delete(want, sig)
				case sig != "ready":
					t.Fatalf("received %.20q…, want only the twenty large signals and the closing one", sig)
				}
			}
		}
	})
}

// waitFor sends sig until the receiver's channel delivers it.
func waitFor(ctx context.Context, t *testing.T, got <-chan string, n *store.Notifier, sig string) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		n.Send(sig)
		select {
		case <-ctx.Done():
			t.Fatalf("signal %q never received", sig)
		case s := <-got:
			if s == sig {
				return
			}
		case <-tick.C:
		}
	}
}
