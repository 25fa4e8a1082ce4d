// Package migrations holds the versioned schema of Switchyard's database. Each
// file is plain SQL that runs unchanged on SQLite and Postgres; a released file is
// never edited, a change is a new file.
package migrations

import (
	"embed"

	"github.com/uptrace/bun/migrate"
)

//go:embed *.sql
var files embed.FS

// Migrations is every migration, in version order.
var Migrations = migrate.NewMigrations()

func init() {
	if err := Migrations.Discover(files); err != nil {
		panic(err)
	}
}
