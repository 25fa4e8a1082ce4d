package store_test

import (
	"context"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

var eventCases = []suiteCase{
	{"InsertManyDedupesByIdempotencyKey", testEventInsertMany},
	{"InsertManyTakenIDIsConflict", testEventInsertTakenID},
	{"GetRoundTrip", testEventGet},
	{"GetByIdempotencyKeys", testEventGetByIdempotencyKeys},
	{"ListPagesAndFilters", testEventList},
	{"JSONKeptAsWritten", testEventJSONKept},
	{"MalformedJSONIsAnError", testEventMalformedJSON},
}

// eventOf is an event of the tenant.
func eventOf(tenant, id, key, idem string, created int64) *store.Event {
	ev := event(id, key, idem, created)
	ev.TenantID = tenant
	return ev
}

func insertEventsOf(f *fixture, events ...*store.Event) map[string]bool {
	f.t.Helper()
	return writeResult(f, func(ctx context.Context, q store.Q) (map[string]bool, error) {
		return q.EventInsertMany(ctx, events)
	})
}

func testEventInsertMany(t *testing.T, f *fixture) {
	got := insertEventsOf(f, eventOf(tenantA, "a1", "k", "key1", 1), eventOf(tenantA, "a2", "k", "", 2))
	wantEqual(t, "first insert", sortedKeys(got), []string{"a1", "a2"})
	got = insertEventsOf(f,
		eventOf(tenantA, "a3", "k", "key1", 3), // key1 used by a1
		eventOf(tenantA, "a4", "k", "key2", 4),
		eventOf(tenantA, "a5", "k", "key3", 5),
		eventOf(tenantA, "a6", "k", "key3", 6), // key3 twice in one batch: the first wins
		eventOf(tenantB, "b1", "k", "key1", 7), // keys are per tenant
	)
	wantEqual(t, "second insert", sortedKeys(got), []string{"a4", "a5", "b1"})
	wantEqual(t, "no events", insertEventsOf(f), map[string]bool(nil))
	wantEqual(t, "stored events", ids(t, f.st, "events"), []string{"a1", "a2", "a4", "a5", "b1"})
}

func testEventInsertTakenID(t *testing.T, f *fixture) {
	insertEventsOf(f, eventOf(tenantA, "a1", "k", "", 1))
	err := f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error {
		_, err := q.EventInsertMany(ctx, []*store.Event{eventOf(tenantB, "a1", "k", "", 2)})
		return err
	})
	wantErr(t, "event id of another event", err, store.ErrConflict)
}

func testEventGet(t *testing.T, f *fixture) {
	want := &store.Event{
		ID: "a1", TenantID: tenantA, Key: "order.created", Payload: mustObject(`{"n":1}`), Metadata: store.JSONOf(map[string]string{"m": "v"}),
		Scope: "s", Priority: 3, OccurredAt: store.TimeMicros(10), CreatedAt: store.TimeMicros(20), IdempotencyKey: "idem", Skipped: store.SkippedTriggers{{Workflow: "wf", WorkflowVersion: 2, Trigger: "k.*", Reason: "filter is false"}},
	}
	insertEventsOf(f, want, eventOf(tenantB, "b1", "k", "", 1))
	got := read(f, func(ctx context.Context, q store.Q) (*store.Event, error) { return q.EventGet(ctx, tenantA, "a1") })
	wantEqual(t, "EventGet", got, want)
	for _, c := range []struct{ tenant, id string }{{tenantA, "missing"}, {tenantB, "a1"}, {tenantA, "b1"}} {
		_, err := readErr(f, func(ctx context.Context, q store.Q) (*store.Event, error) { return q.EventGet(ctx, c.tenant, c.id) })
		wantErr(t, "EventGet("+c.tenant+", "+c.id+")", err, store.ErrNotFound)
	}
}

func testEventGetByIdempotencyKeys(t *testing.T, f *fixture) {
	insertEventsOf(f, eventOf(tenantA, "a1", "k", "key1", 1), eventOf(tenantA, "a2", "k", "key2", 2),
		eventOf(tenantA, "a3", "k", "", 3), eventOf(tenantB, "b1", "k", "key1", 4))
	byKey := func(tenant string, keys ...string) map[string]string {
		got := read(f, func(ctx context.Context, q store.Q) (map[string]*store.Event, error) {
			return q.EventGetByIdempotencyKeys(ctx, tenant, keys)
		})
		out := map[string]string{}
		for k, ev := range got {
			out[k] = ev.ID
		}
		return out
	}
	wantEqual(t, "tenant A", byKey(tenantA, "key1", "key2", "missing"), map[string]string{"key1": "a1", "key2": "a2"})
	wantEqual(t, "tenant B", byKey(tenantB, "key1", "key2"), map[string]string{"key1": "b1"})
}

func testEventList(t *testing.T, f *fixture) {
	var events []*store.Event
	for i, id := range []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7"} {
		ev := eventOf(tenantA, id, []string{"even", "odd"}[i%2], "", int64(100*(i+1)))
		ev.Scope = []string{"x", "y", "z"}[i%3]
		events = append(events, ev)
	}
	insertEventsOf(f, append(events, eventOf(tenantB, "b1", "even", "", 100), eventOf(tenantB, "b2", "odd", "", 200))...)
	list := func(p store.EventListParams) []string {
		got := read(f, func(ctx context.Context, q store.Q) ([]*store.Event, error) { return q.EventList(ctx, &p) })
		return idsOf(got, func(e *store.Event) string { return e.ID })
	}
	var pages [][]string
	for cursor := ""; ; {
		page := list(store.EventListParams{TenantID: tenantA, ListPage: store.ListPage{BeforeID: cursor, Limit: 3}})
		pages = append(pages, page)
		if len(page) < 3 {
			break
		}
		cursor = page[len(page)-1]
	}
	wantEqual(t, "pages of 3", pages, [][]string{{"a7", "a6", "a5"}, {"a4", "a3", "a2"}, {"a1"}})
	tests := []struct {
		name string
		p    store.EventListParams
		want []string
	}{
		{"key", store.EventListParams{TenantID: tenantA, Key: "odd", ListPage: store.ListPage{Limit: 10}}, []string{"a6", "a4", "a2"}},
		{"scope", store.EventListParams{TenantID: tenantA, Scope: "x", ListPage: store.ListPage{Limit: 10}}, []string{"a7", "a4", "a1"}},
		{"created range", store.EventListParams{TenantID: tenantA, ListPage: store.ListPage{CreatedAfter: at(200), CreatedBefore: at(500), Limit: 10}}, []string{"a4", "a3", "a2"}},
		{"key and cursor", store.EventListParams{TenantID: tenantA, Key: "even", ListPage: store.ListPage{BeforeID: "a5", Limit: 10}}, []string{"a3", "a1"}},
		{"tenant B", store.EventListParams{TenantID: tenantB, ListPage: store.ListPage{Limit: 10}}, []string{"b2", "b1"}},
		{"unknown tenant", store.EventListParams{TenantID: "nobody", ListPage: store.ListPage{Limit: 10}}, []string{}},
	}
	for _, tt := range tests {
		wantEqual(t, tt.name, list(tt.p), tt.want)
	}
}

// testEventJSONKept: a payload is stored and read back byte for byte (key
// order, a number beyond float64, HTML characters), its value decoded once;
// the skipped triggers are stored in encoding/json's form.
func testEventJSONKept(t *testing.T, f *fixture) {
	const text = `{"z":1, "a":12345678901234567890,"h":"<&>"}`
	ev := eventOf(tenantA, "a1", "k", "", 1)
	ev.Payload = mustObject(text)
	ev.Skipped = store.SkippedTriggers{{Workflow: "wf", WorkflowVersion: 1, Trigger: "k", Reason: "a > b"}}
	insertEventsOf(f, ev, eventOf(tenantA, "a2", "k", "", 2))
	got := read(f, func(ctx context.Context, q store.Q) (*store.Event, error) { return q.EventGet(ctx, tenantA, "a1") })
	wantEqual(t, "payload text", got.Payload.Text(), text)
	wantEqual(t, "payload value", got.Payload.Map(), map[string]any{"z": 1.0, "a": 12345678901234567890.0, "h": "<&>"})
	var payload, skipped, none string
	f.write(func(ctx context.Context, q store.Q) error {
		if err := q.ScanRaw(ctx, "SELECT payload, skipped FROM events WHERE id = 'a1'", &payload, &skipped); err != nil {
			return err
		}
		return q.ScanRaw(ctx, "SELECT skipped FROM events WHERE id = 'a2'", &none)
	})
	wantEqual(t, "stored payload", payload, text)
	wantEqual(t, "stored skipped triggers", skipped, `[{"workflow":"wf","workflow_version":1,"trigger":"k","reason":"a \u003e b"}]`)
	wantEqual(t, "stored skipped triggers of an event that skipped none", none, `[]`)
}

// testEventMalformedJSON: a payload that is not a JSON object, or skipped
// triggers that are not their JSON, are an error when read, not an empty value.
func testEventMalformedJSON(t *testing.T, f *fixture) {
	insertEventsOf(f, eventOf(tenantA, "a1", "k", "", 1), eventOf(tenantA, "a2", "k", "", 2),
		eventOf(tenantA, "a3", "k", "", 3), eventOf(tenantA, "a4", "k", "", 4))
	f.write(func(ctx context.Context, q store.Q) error {
		for _, stmt := range []string{
			"UPDATE events SET payload = 'null' WHERE id = 'a1'",
			"UPDATE events SET payload = '[1]' WHERE id = 'a2'",
			"UPDATE events SET payload = '{\"a\":' WHERE id = 'a3'",
			"UPDATE events SET skipped = '[\"wf\"]' WHERE id = 'a4'",
		} {
			if err := q.ExecRaw(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		_, err := readErr(f, func(ctx context.Context, q store.Q) (*store.Event, error) { return q.EventGet(ctx, tenantA, id) })
		wantErr(t, "EventGet of damaged "+id, err, store.ErrJSONColumn)
	}
}
