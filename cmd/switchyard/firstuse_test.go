package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// postgresURL returns the test server's URL for the database name as user.
func postgresURL(t *testing.T, user, name string) string {
	t.Helper()
	storetest.Postgres(t)
	u, err := url.Parse(os.Getenv(storetest.DatabaseURLEnv))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	u.User = url.User(user)
	return u.String()
}

// adminExec runs a statement on the test server's own database. DROP DATABASE
// waits for a checkpoint, which on a loaded machine outlasts the driver's
// default 10 s read timeout, so the connection waits up to two minutes.
func adminExec(t *testing.T, stmt string) {
	t.Helper()
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(os.Getenv(storetest.DatabaseURLEnv)), pgdriver.WithReadTimeout(2*time.Minute)))
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func randomName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// TestFirstUseCreatesPostgresDatabase: `migrate` (and `serve`, through the
// same flags) against a database that does not exist yet creates it and says
// so, once.
func TestFirstUseCreatesPostgresDatabase(t *testing.T) {
	t.Parallel()
	name := randomName("sy_firstuse_")
	dbURL := postgresURL(t, "postgres", name)
	t.Cleanup(func() { adminExec(t, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	for i, want := range []string{"created the database of --database-url", "migrations applied"} {
		var stdout bytes.Buffer
		if err := run(context.Background(), []string{"migrate", "--database-url", dbURL}, &stdout, &bytes.Buffer{}); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
		if !strings.Contains(stdout.String(), want) || (i == 1 && strings.Contains(stdout.String(), "created")) {
			t.Errorf("migrate #%d printed %q, want %q", i+1, stdout.String(), want)
		}
	}
}

// TestFirstUseSaysHowToCreatePostgresDatabase: a user who may not create the
// missing database gets one line that names it and the command to run.
func TestFirstUseSaysHowToCreatePostgresDatabase(t *testing.T) {
	t.Parallel()
	user, name := randomName("sy_nocreate_"), randomName("sy_missing_")
	dbURL := postgresURL(t, user, name)
	adminExec(t, "CREATE ROLE "+user+" LOGIN NOCREATEDB")
	t.Cleanup(func() { adminExec(t, "DROP ROLE IF EXISTS "+user) })
	err := run(context.Background(), []string{"serve", "--database-url", dbURL, "--addr", "127.0.0.1:0"}, &bytes.Buffer{}, &bytes.Buffer{})
	want := `database "` + name + `" does not exist`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "createdb -h 127.0.0.1 -p 5432 -U "+user+" "+name) ||
		strings.Contains(err.Error(), "\n") {
		t.Fatalf("serve: %v, want one line with %q and the createdb command", err, want)
	}
}

// TestTokensCreateOffline: an operator who lost every admin token creates one
// in the database itself, and a server on that database takes it.
func TestTokensCreateOffline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var secret, stderr bytes.Buffer
	err := run(context.Background(), []string{"tokens", "create", "--data-dir", dir, "--role", "admin", "--name", "rescue"}, &secret, &stderr)
	if err != nil || !strings.HasPrefix(secret.String(), "sy_") || !strings.Contains(stderr.String(), "created in the database directly") {
		t.Fatalf("tokens create --data-dir: %v, printed %q and %q", err, secret.String(), stderr.String())
	}
	err = run(context.Background(), []string{"tokens", "create", "--data-dir", dir, "--role", "admin", "--name", "x", "--tenant", "nope"}, &bytes.Buffer{}, &bytes.Buffer{})
	wantErr(t, err, "create the token in the database", "tenant nope not found")

	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{Store: store.Config{DataDir: dir}})
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"whoami", "--server", srv.URL, "--token", strings.TrimSpace(secret.String())}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatalf("whoami with the offline token: %v", err)
	}
	wantOut(t, "whoami", stdout.String(), "rescue", "ADMIN", "default")
}
