package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

// testStatsRefresh stores enough events to make the table's statistics stale:
// on Postgres the first refresh analyzes it and the next does not; SQLite has
// nothing to refresh.
func testStatsRefresh(t *testing.T, f *fixture) {
	events := make([]*store.Event, 1500)
	for i := range events {
		events[i] = event(fmt.Sprintf("s%04d", i), "k", "", int64(i+1))
	}
	f.write(func(ctx context.Context, q store.Q) error {
		if _, err := q.EventInsertMany(ctx, events); err != nil {
			return err
		}
		if f.st.Postgres() {
			// The session's counters reach pg_stat_user_tables when the
			// transaction ends, not up to a second later.
			var ignored any
			return q.ScanRaw(ctx, "SELECT pg_stat_force_next_flush()", &ignored)
		}
		return nil
	})
	first, err := f.st.StatsRefresh(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.st.StatsRefresh(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !f.st.Postgres() {
		wantEqual(t, "tables refreshed on SQLite", append(first, second...), []string(nil))
		return
	}
	wantEqual(t, "events refreshed first", slices.Contains(first, "events"), true)
	wantEqual(t, "events refreshed again", slices.Contains(second, "events"), false)
	analyzed := read(f, func(ctx context.Context, q store.Q) (bool, error) {
		var ok bool
		err := q.ScanRaw(ctx, "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'events'", &ok)
		return ok, err
	})
	wantEqual(t, "events analyzed", analyzed, true)
}
