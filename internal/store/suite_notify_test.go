package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/migrations"
)

var notifyCases = []suiteCase{
	{"DeliveredOnCommit", testNotify},
}

var healthCases = []suiteCase{
	{"PingPendingAndPool", testHealth},
}

// testNotify: on Postgres a notification reaches every listener on the
// database when its transaction commits, in commit order; a rolled back
// transaction's does not, nor does one sent in another schema. On SQLite there
// is only one process: Notify does nothing and Listen returns at once.
func testNotify(t *testing.T, f *fixture) {
	notify := func(st *store.Store, payloads ...string) {
		t.Helper()
		if err := st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return q.Notify(ctx, payloads...) }); err != nil {
			t.Fatalf("notify %v: %v", payloads, err)
		}
	}
	if !f.st.Postgres() {
		notify(f.st, "a")
		wantEqual(t, "Listen on SQLite", f.st.Listen(f.ctx, func(p string) { t.Errorf("payload %q on SQLite", p) }), nil)
		return
	}
	got := make(chan string, 256)
	ctx, cancel := context.WithCancel(f.ctx)
	listened := make(chan error, 1)
	go func() { listened <- f.st.Listen(ctx, func(p string) { got <- p }) }()
	awaitListener(t, got, func(p string) { notify(f.st, p) })
	next := func() string { return receive(t, got) }
	notify(f.st, "a", "b")
	notify(f.st)
	notify(f.st, "c")
	wantEqual(t, "payloads of two transactions", []string{next(), next(), next()}, []string{"a", "b", "c"})
	err := f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error {
		if err := q.Notify(ctx, "rolled back"); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	wantEqual(t, "rolled back write", err.Error(), "roll back")
	notify(f.eng.Open(t, store.Config{}), "other schema")
	notify(f.st, "d")
	wantEqual(t, "payload after a rolled back one and another schema's", next(), "d")
	cancel()
	wantEqual(t, "Listen after its context ended", <-listened, nil)
}

// awaitListener sends probes until the listener receives one (a notification
// sent before it listens is lost), then a marker, and drains the probes that
// arrive before the marker.
func awaitListener(t *testing.T, got <-chan string, send func(payload string)) {
	t.Helper()
	for probe := 0; ; probe++ {
		if probe == 200 {
			t.Fatal("listener heard no probe")
		}
		send("probe")
		if _, ok := receiveWithin(got, 50*time.Millisecond); ok {
			break
		}
	}
	send("marker")
	for receive(t, got) != "marker" {
	}
}

// receive returns the next payload, failing the test when none comes within
// 10s.
func receive(t *testing.T, got <-chan string) string {
	t.Helper()
	p, ok := receiveWithin(got, 10*time.Second)
	if !ok {
		t.Fatal("no notification within 10s")
	}
	return p
}

func receiveWithin(got <-chan string, d time.Duration) (string, bool) {
	select {
	case p := <-got:
		return p, true
	case <-time.After(d):
		return "", false
	}
}

func testHealth(t *testing.T, f *fixture) {
	wantEqual(t, "Ping", f.st.Ping(f.ctx), nil)
	pending, err := f.st.MigrationsPending(f.ctx)
	wantEqual(t, "migrations pending", pending, 0)
	wantEqual(t, "migrations pending error", err, nil)
	wantEqual(t, "Postgres()", f.st.Postgres(), f.eng.Name == "postgres")
	maxConns := map[bool]int{false: 1, true: 16}[f.st.Postgres()]
	wantEqual(t, "pool size", f.st.Pool().Stats().MaxOpenConnections, maxConns)
	applied, err := f.st.DB().NewSelect().Table("bun_migrations").Count(f.ctx)
	wantEqual(t, "migrations applied", applied, int64(len(migrations.Migrations.Sorted())))
	wantEqual(t, "migrations applied error", err, nil)
}
