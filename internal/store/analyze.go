package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// Planner statistics go stale as tables grow: a plan chosen for a table of a
// few rows (a bitmap scan and a sort, say) stays when the table holds a
// million, and a list page that should read fifty index entries reads them all.
// Postgres's autovacuum refreshes them, when it runs; [Store.StatsRefresh]
// does so on its own, so that the plans keep up with the data without an
// operator's ANALYZE.

// statsStaleRows and statsStaleFraction say when a table's statistics are
// stale: once more rows than statsStaleRows plus statsStaleFraction of its
// rows changed since they were gathered (autovacuum's rule, with a higher
// floor).
const (
	statsStaleRows     = 1000
	statsStaleFraction = 0.1
)

// StatsRefresh gathers the planner statistics of the tables of the store's
// schema whose statistics are stale, and returns their names. On Postgres it
// analyzes each such table, skipping one another session is analyzing or
// vacuuming; SQLite's plans do not depend on gathered statistics here, so it
// does nothing there.
func (s *Store) StatsRefresh(ctx context.Context) ([]string, error) {
	if !s.postgres {
		return nil, nil
	}
	var stale []string
	err := s.Read(ctx, func(ctx context.Context, q Q) error {
		err := q.db.NewRaw(`SELECT relname FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND n_mod_since_analyze > ? + ? * n_live_tup
			ORDER BY relname`, statsStaleRows, statsStaleFraction).Scan(ctx, &stale)
		if err != nil {
			return fmt.Errorf("find stale statistics: %w", err)
		}
		for _, table := range stale {
			if _, err := q.db.ExecContext(ctx, "ANALYZE (SKIP_LOCKED) ?", bun.Ident(table)); err != nil {
				return fmt.Errorf("analyze %s: %w", table, err)
			}
		}
		return nil
	})
	return stale, err
}
