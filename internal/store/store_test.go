package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// Every test here runs on every engine: the store behaves the same on both.
func forEachEngine(t *testing.T, fn func(t *testing.T, eng storetest.Engine)) {
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, eng)
		})
	}
}

func event(id, key, idem string, created int64) *store.Event {
	return &store.Event{
		ID: id, TenantID: store.DefaultTenant, Key: key, Payload: `{}`, Metadata: `{}`,
		OccurredAt: created, CreatedAt: created, IdempotencyKey: idem,
	}
}

func TestEventInsertManySkipsUsedIdempotencyKeys(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		st := eng.Open(t, store.Config{})
		ctx := context.Background()
		var inserted map[string]bool
		err := st.Write(ctx, func(ctx context.Context, q store.Q) (err error) {
			inserted, err = q.EventInsertMany(ctx, []*store.Event{event("01", "a", "k1", 1), event("02", "a", "", 2)})
			return err
		})
		if err != nil || len(inserted) != 2 {
			t.Fatalf("first insert: inserted %v, err %v; want both", inserted, err)
		}
		err = st.Write(ctx, func(ctx context.Context, q store.Q) (err error) {
			inserted, err = q.EventInsertMany(ctx, []*store.Event{event("03", "a", "k1", 3), event("04", "a", "k2", 4), event("05", "a", "", 5)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if inserted["03"] || !inserted["04"] || !inserted["05"] || len(inserted) != 2 {
			t.Fatalf("second insert: inserted %v, want 04 and 05 only", inserted)
		}
		var byKey map[string]*store.Event
		_ = st.Read(ctx, func(ctx context.Context, q store.Q) (err error) {
			byKey, err = q.EventGetByIdempotencyKeys(ctx, store.DefaultTenant, []string{"k1", "k2", "missing"})
			return err
		})
		if len(byKey) != 2 || byKey["k1"].ID != "01" || byKey["k2"].ID != "04" {
			t.Fatalf("by idempotency key: %v", byKey)
		}
	})
}

func TestEventGetAndList(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		st := eng.Open(t, store.Config{})
		ctx := context.Background()
		var rows []*store.Event
		for i := range 10 {
			key := "even"
			if i%2 == 1 {
				key = "odd"
			}
			rows = append(rows, event(fmt.Sprintf("%02d", i), key, "", int64(i*1000)))
		}
		if err := st.Write(ctx, func(ctx context.Context, q store.Q) error {
			_, err := q.EventInsertMany(ctx, rows)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		err := st.Read(ctx, func(ctx context.Context, q store.Q) error {
			_, err := q.EventGet(ctx, store.DefaultTenant, "99")
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get missing: %v, want ErrNotFound", err)
		}
		err = st.Read(ctx, func(ctx context.Context, q store.Q) error {
			_, err := q.EventGet(ctx, "other-tenant", "03")
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get other tenant's event: %v, want ErrNotFound", err)
		}
		list := func(p store.EventListParams) []string {
			t.Helper()
			p.TenantID = store.DefaultTenant
			var got []*store.Event
			if err := st.Read(ctx, func(ctx context.Context, q store.Q) (err error) {
				got, err = q.EventList(ctx, &p)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			ids := make([]string, len(got))
			for i, ev := range got {
				ids[i] = ev.ID
			}
			return ids
		}
		tests := []struct {
			name string
			p    store.EventListParams
			want string
		}{
			{"all newest first", store.EventListParams{Limit: 100}, "[09 08 07 06 05 04 03 02 01 00]"},
			{"limit", store.EventListParams{Limit: 3}, "[09 08 07]"},
			{"cursor", store.EventListParams{Limit: 3, BeforeID: "07"}, "[06 05 04]"},
			{"key", store.EventListParams{Limit: 100, Key: "odd"}, "[09 07 05 03 01]"},
			{"created range", store.EventListParams{Limit: 100, CreatedAfter: 3000, CreatedBefore: 6000}, "[05 04 03]"},
			{"other tenant sees nothing", store.EventListParams{Limit: 100, Scope: "x"}, "[]"},
		}
		for _, tt := range tests {
			if got := fmt.Sprint(list(tt.p)); got != tt.want {
				t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
			}
		}
	})
}

func TestWriteRollsBackOnError(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		st := eng.Open(t, store.Config{})
		ctx := context.Background()
		boom := errors.New("boom")
		err := st.Write(ctx, func(ctx context.Context, q store.Q) error {
			if _, err := q.EventInsertMany(ctx, []*store.Event{event("01", "a", "", 1)}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("write: %v, want boom", err)
		}
		err = st.Read(ctx, func(ctx context.Context, q store.Q) error {
			_, err := q.EventGet(ctx, store.DefaultTenant, "01")
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("event of a rolled back write: %v, want ErrNotFound", err)
		}
	})
}

func TestExhaustedPoolIsUnavailable(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		st := eng.Open(t, store.Config{MaxConns: 1, AcquireTimeout: 100 * time.Millisecond})
		ctx := context.Background()
		held, err := st.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = st.Ping(ctx)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("ping with the pool held: %v, want ErrUnavailable", err)
		}
		held.Close()
		if err := st.Ping(ctx); err != nil {
			t.Fatalf("ping after release: %v", err)
		}
	})
}

func TestDeadlineReachesQueries(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		st := eng.Open(t, store.Config{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		err := st.Ping(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ping after the deadline: %v, want DeadlineExceeded", err)
		}
	})
}

func TestUnreachablePostgresIsUnavailable(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), store.Config{DatabaseURL: "postgres://postgres@127.0.0.1:1/none", AcquireTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("ping: %v, want ErrUnavailable", err)
	}
}

func TestTokenGetByHash(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		st := eng.Open(t, store.Config{})
		ctx := context.Background()
		tok := &store.Token{ID: "t1", TenantID: store.DefaultTenant, Name: "n", Role: "admin", TokenHash: "h1", CreatedAt: 1}
		if err := st.Write(ctx, func(ctx context.Context, q store.Q) error { return q.TokenInsert(ctx, tok) }); err != nil {
			t.Fatal(err)
		}
		dup := *tok
		dup.ID = "t2"
		err := st.Write(ctx, func(ctx context.Context, q store.Q) error { return q.TokenInsert(ctx, &dup) })
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second token with the same hash: %v, want ErrConflict", err)
		}
		var got *store.Token
		err = st.Read(ctx, func(ctx context.Context, q store.Q) (err error) {
			got, err = q.TokenGetByHash(ctx, "h1")
			return err
		})
		if err != nil || got.ID != "t1" || got.Role != "admin" {
			t.Fatalf("get: %+v, %v", got, err)
		}
		err = st.Read(ctx, func(ctx context.Context, q store.Q) (err error) {
			_, err = q.TokenGetByHash(ctx, "nope")
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get unknown: %v, want ErrNotFound", err)
		}
	})
}

func TestWebhookDeliveryPrune(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		st := eng.Open(t, store.Config{})
		ctx := context.Background()
		err := st.Write(ctx, func(ctx context.Context, q store.Q) error {
			for i, at := range []int64{100, 200, 300} {
				d := &store.WebhookDelivery{ID: fmt.Sprint("d", i), TenantID: store.DefaultTenant, WebhookID: "w", Outcome: "ACCEPTED", HTTPStatus: 200, ReceivedAt: at}
				if err := q.WebhookDeliveryInsert(ctx, d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var pruned int64
		var left []*store.WebhookDelivery
		err = st.Write(ctx, func(ctx context.Context, q store.Q) error {
			if pruned, err = q.WebhookDeliveryPrune(ctx, 250); err != nil {
				return err
			}
			left, err = q.WebhookDeliveryList(ctx, store.DefaultTenant, "w", "", 10)
			return err
		})
		if err != nil || pruned != 2 || len(left) != 1 || left[0].ID != "d2" {
			t.Fatalf("pruned %d, left %v, err %v; want 2 pruned and d2 left", pruned, left, err)
		}
	})
}

// TestWebhookGetByTenant reads a webhook by its own tenant (found), by another
// tenant and by an empty tenant (not found: only WebhookGetAnyTenant, the
// receiver's lookup, looks across tenants).
func TestWebhookGetByTenant(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		st := eng.Open(t, store.Config{})
		ctx := context.Background()
		err := st.Write(ctx, func(ctx context.Context, q store.Q) error {
			return q.WebhookInsert(ctx, &store.Webhook{ID: "wh", TenantID: store.DefaultTenant, Settings: "{}", CreatedAt: 1, UpdatedAt: 1})
		})
		if err != nil {
			t.Fatal(err)
		}
		_ = st.Read(ctx, func(ctx context.Context, q store.Q) error {
			for _, tenant := range []string{"other", ""} {
				if w, err := q.WebhookGet(ctx, tenant, "wh"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("WebhookGet by tenant %q: %v, %v; want ErrNotFound", tenant, w, err)
				}
			}
			if w, err := q.WebhookGet(ctx, store.DefaultTenant, "wh"); err != nil || w.ID != "wh" {
				t.Errorf("WebhookGet by its tenant: %v, %v; want it", w, err)
			}
			if w, err := q.WebhookGetAnyTenant(ctx, "wh"); err != nil || w.TenantID != store.DefaultTenant {
				t.Errorf("WebhookGetAnyTenant: %v, %v; want it, with its tenant", w, err)
			}
			return nil
		})
	})
}

// TestConcurrentMigrations migrates one empty Postgres schema from several
// stores at once, as servers starting together do: each succeeds.
func TestConcurrentMigrations(t *testing.T) {
	t.Parallel()
	storetest.Postgres(t)
	url := storetest.NewSchema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := store.Open(context.Background(), store.Config{DatabaseURL: url})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Migrate(context.Background())
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent migration: %v", err)
		}
	}
}
