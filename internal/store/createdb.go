package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// EnsureDatabase creates the Postgres database that databaseURL names when it
// does not exist, connecting to the server's `postgres` database as the same
// user; it reports whether it created it. When the database is missing and
// cannot be created (the user may not, or the server has no `postgres`
// database), the error says in one line what to run instead. It does nothing
// for other URLs.
func EnsureDatabase(ctx context.Context, databaseURL string) (created bool, err error) {
	if !strings.HasPrefix(databaseURL, "postgres://") && !strings.HasPrefix(databaseURL, "postgresql://") {
		return false, nil
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		return false, fmt.Errorf("open postgres: bad URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return false, nil
	}
	err = ping(ctx, u)
	if err == nil || !isSQLState(err, "3D000") { // invalid_catalog_name: no such database
		return false, err
	}
	admin := *u
	admin.Path = "/postgres"
	if err := createDatabase(ctx, &admin, name); err != nil {
		return false, fmt.Errorf("database %q does not exist on %s, and creating it failed (%v); create it with: createdb -h %s -p %s -U %s %s",
			name, u.Host, err, u.Hostname(), portOf(u), u.User.Username(), name)
	}
	return true, nil
}

// ping connects to the database of u.
func ping(ctx context.Context, u *url.URL) error {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(withLocalDefaults(u))))
	defer db.Close()
	return db.PingContext(ctx)
}

// createDatabase creates the database name through the database of admin.
// CREATE DATABASE waits for a checkpoint, which on a busy server takes longer
// than the driver's default 10 s read timeout, so it is given a minute.
func createDatabase(ctx context.Context, admin *url.URL, name string) error {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(withLocalDefaults(admin)), pgdriver.WithReadTimeout(time.Minute)))
	defer db.Close()
	_, err := db.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name))
	if isSQLState(err, "42P04") { // duplicate_database: another process made it meanwhile
		return nil
	}
	return err
}

// withLocalDefaults is u with sslmode=disable for a loopback host and a dial
// timeout, as [Open] sets them.
func withLocalDefaults(u *url.URL) string {
	c := *u
	q := c.Query()
	if q.Get("sslmode") == "" && isLoopback(c.Hostname()) {
		q.Set("sslmode", "disable")
	}
	if q.Get("dial_timeout") == "" && q.Get("connect_timeout") == "" {
		q.Set("dial_timeout", "5s")
	}
	q.Del("search_path")
	c.RawQuery = q.Encode()
	return c.String()
}

func isSQLState(err error, code string) bool {
	var pgErr pgdriver.Error
	return errors.As(err, &pgErr) && pgErr.Field('C') == code
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return "5432"
}
