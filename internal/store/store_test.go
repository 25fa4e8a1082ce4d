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
		ID: id, TenantID: store.DefaultTenant, Key: key, Payload: mustObject(`{}`), Metadata: store.JSONOf(map[string]string{}),
		OccurredAt: store.TimeMicros(created), CreatedAt: store.TimeMicros(created), IdempotencyKey: idem,
	}
}

func testWriteRollsBackOnError(t *testing.T, f *fixture) {
	st := f.st
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

func testDeadlineReachesQueries(t *testing.T, f *fixture) {
	st := f.st
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	err := st.Ping(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ping after the deadline: %v, want DeadlineExceeded", err)
	}
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

func testWebhookDeliveryPrune(t *testing.T, f *fixture) {
	st := f.st
	ctx := context.Background()
	err := st.Write(ctx, func(ctx context.Context, q store.Q) error {
		for i, at := range []int64{100, 200, 300} {
			d := &store.WebhookDelivery{ID: fmt.Sprint("d", i), TenantID: store.DefaultTenant, WebhookID: "w", Outcome: "ACCEPTED", HTTPStatus: 200, ReceivedAt: store.TimeMicros(at)}
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
		if pruned, err = q.WebhookDeliveryPrune(ctx, at(250)); err != nil {
			return err
		}
		left, err = q.WebhookDeliveryList(ctx, store.DefaultTenant, "w", "", 10)
		return err
	})
	if err != nil || pruned != 2 || len(left) != 1 || left[0].ID != "d2" {
		t.Fatalf("pruned %d, left %v, err %v; want 2 pruned and d2 left", pruned, left, err)
	}
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
