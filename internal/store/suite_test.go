package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// The store suite: every family of store methods, run on every engine the
// machine has (SQLite always, Postgres when SWITCHYARD_TEST_DATABASE_URL is
// set), each case on a migrated database of its own for as long as it runs
// (see storePool), holding two tenants. Every family also checks that a row
// of one tenant is never returned to the other; the methods that work across
// tenants by design (the reaper's, the schedulers', retention's, the stats,
// token lookup by hash or id, the webhook receiver's lookup) are checked to
// return every tenant's rows.

// The two tenants of every case's database.
const (
	tenantA = store.DefaultTenant
	tenantB = "tenant-b"
)

// suiteCase is one case of a family: it gets a database with no rows but the
// two tenants.
type suiteCase struct {
	name string
	run  func(t *testing.T, f *fixture)
}

// families lists the suite, one entry a method family.
var families = []struct {
	name  string
	cases []suiteCase
	// postgres are the family's cases that apply to Postgres only.
	postgres []suiteCase
}{
	{"Events", eventCases, nil},
	{"Workflows", workflowCases, nil},
	{"Runs", runCases, nil},
	{"Tasks", taskCases, nil},
	{"TaskClaim", claimCases, nil},
	{"Acknowledge", ackCases, nil},
	{"Admission", admissionCases, nil},
	{"FlowLimits", flowLimitCases, nil},
	{"Cron", cronCases, nil},
	{"Replays", replayCases, nil},
	{"Workers", workerCases, nil},
	{"Stats", statsCases, nil},
	{"Tokens", tokenCases, nil},
	{"Tenants", tenantCases, nil},
	{"Webhooks", webhookCases, nil},
	{"Retention", retentionCases, nil},
	{"Notify", notifyCases, nil},
	{"Health", healthCases, nil},
	{"Errors", errorCases, postgresErrorCases},
	{"FlowControl", flowCases, nil},
	{"ResolverBatch", resolverBatchCases, nil},
}

// TestStoreSuite runs every family on every engine.
func TestStoreSuite(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			pool := newStorePool(t, eng)
			for _, fam := range families {
				t.Run(fam.name, func(t *testing.T) {
					t.Parallel()
					cases := fam.cases
					if eng.Name == "postgres" {
						cases = append(slices.Clip(cases), fam.postgres...)
					}
					for _, c := range cases {
						t.Run(c.name, func(t *testing.T) {
							t.Parallel()
							c.run(t, newFixture(t, eng, pool.take(t)))
						})
					}
				})
			}
		})
	}
}

// fixture is what a case works on: a migrated store with tenants A and B.
type fixture struct {
	t   *testing.T
	eng storetest.Engine
	st  *store.Store
	ctx context.Context
}

func newFixture(t *testing.T, eng storetest.Engine, st *store.Store) *fixture {
	f := &fixture{t: t, eng: eng, st: st, ctx: context.Background()}
	f.write(func(ctx context.Context, q store.Q) error {
		return q.TenantInsert(ctx, &store.Tenant{ID: tenantB, Name: "B", CreatedAt: store.TimeMicros(1)})
	})
	return f
}

// write runs fn in a transaction and fails the test on an error.
func (f *fixture) write(fn func(ctx context.Context, q store.Q) error) {
	f.t.Helper()
	if err := f.st.Write(f.ctx, fn); err != nil {
		f.t.Fatalf("write: %v", err)
	}
}

// read returns what fn reads, failing the test on an error.
func read[T any](f *fixture, fn func(ctx context.Context, q store.Q) (T, error)) T {
	f.t.Helper()
	got, err := readErr(f, fn)
	if err != nil {
		f.t.Fatalf("read: %v", err)
	}
	return got
}

// readErr returns what fn reads and its error.
func readErr[T any](f *fixture, fn func(ctx context.Context, q store.Q) (T, error)) (T, error) {
	var got T
	err := f.st.Read(f.ctx, func(ctx context.Context, q store.Q) (err error) {
		got, err = fn(ctx, q)
		return err
	})
	return got, err
}

// writeResult returns what fn returns in its transaction, failing the test on
// an error.
func writeResult[T any](f *fixture, fn func(ctx context.Context, q store.Q) (T, error)) T {
	f.t.Helper()
	var got T
	f.write(func(ctx context.Context, q store.Q) (err error) {
		got, err = fn(ctx, q)
		return err
	})
	return got
}

// wantErr fails the test unless err wraps want.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

// wantEqual fails the test unless got equals want.
func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

// show prints a value with the fields of what its pointers point at.
func show(v any) string {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return "nil"
		}
		return fmt.Sprintf("&%+v", rv.Elem().Interface())
	case reflect.Slice:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = show(rv.Index(i).Interface())
		}
		return fmt.Sprint(parts)
	}
	return fmt.Sprintf("%+v", v)
}

// wantNewestFirstPages checks a list of a tenant's rows, newest first, where
// tenant A holds the rows <prefix>1 to <prefix>3 and tenant B <prefix>4:
// pages of 2 follow the cursor, and B sees only its own.
func wantNewestFirstPages[T any](t *testing.T, f *fixture, prefix string,
	list func(q store.Q, ctx context.Context, tenantID, beforeID string, limit int) ([]T, error), id func(T) string,
) {
	t.Helper()
	page := func(tenant, before string, limit int) []string {
		return idsOf(read(f, func(ctx context.Context, q store.Q) ([]T, error) { return list(q, ctx, tenant, before, limit) }), id)
	}
	wantEqual(t, "first page of A", page(tenantA, "", 2), []string{prefix + "3", prefix + "2"})
	wantEqual(t, "next page of A", page(tenantA, prefix+"2", 2), []string{prefix + "1"})
	wantEqual(t, "rows of B", page(tenantB, "", 10), []string{prefix + "4"})
}

// idsOf lists the ids of rows in their order.
func idsOf[T any](rows []T, id func(T) string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}

// sortedKeys lists a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// concurrently runs fn n times at once, each with its index, and returns the
// results in index order; an error fails the test.
func concurrently[T any](t *testing.T, n int, fn func(i int) (T, error)) []T {
	t.Helper()
	out := make([]T, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i], errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	return out
}

// countTrue counts the true values.
func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// at is the time of Unix microseconds us.
func at(us int64) time.Time { return time.UnixMicro(us) }

// mustObject is the Object of a JSON object's text.
func mustObject(text string) store.Object {
	var o store.Object
	if err := o.Scan(text); err != nil {
		panic(err)
	}
	return o
}

// rawJSON is a JSON column holding text as written.
func rawJSON(text string) store.JSON[json.RawMessage] {
	return store.JSONOf(json.RawMessage(text))
}
