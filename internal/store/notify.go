package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/uptrace/bun/driver/pgdriver"
)

// Notifications wake other server processes sharing a Postgres database: a write
// calls [Q.Notify] inside its transaction (Postgres delivers it on commit), and
// every process receives it through [Store.Listen]. On SQLite there is only one
// process, so both are no-ops and the engine's in-process signals suffice.

// notifyChannel names the Postgres channel of one database and schema, so tests
// that share a database in different schemas do not hear each other.
func notifyChannel(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	schema := ""
	if err == nil {
		schema = u.Query().Get("search_path")
	}
	if schema == "" {
		return "switchyard"
	}
	sum := sha256.Sum256([]byte(schema))
	return "switchyard_" + hex.EncodeToString(sum[:6])
}

// Notify sends each payload to every process listening on this database, when
// the transaction commits, in one statement.
func (q Q) Notify(ctx context.Context, payloads ...string) error {
	if !q.postgres() || len(payloads) == 0 {
		return nil
	}
	calls := make([]string, len(payloads))
	args := make([]any, 0, 2*len(payloads))
	for i, p := range payloads {
		calls[i] = "pg_notify(?, ?)"
		args = append(args, q.channel, p)
	}
	if _, err := q.db.ExecContext(ctx, "SELECT "+strings.Join(calls, ", "), args...); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// Listen calls fn with each notification payload until ctx ends. It returns at
// once on SQLite.
func (s *Store) Listen(ctx context.Context, fn func(payload string)) error {
	if !s.postgres {
		return nil
	}
	ln := pgdriver.NewListener(s.db)
	defer ln.Close()
	if err := ln.Listen(ctx, s.channel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ch := ln.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n, ok := <-ch:
			if !ok {
				return nil
			}
			fn(n.Payload)
		}
	}
}
