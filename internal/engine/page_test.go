package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestListPageByteBudget: a page stops early, with a token for the rest, once
// its rows hold more than MaxPageBytes of documents; a row larger than the
// budget still makes a page of its own.
func TestListPageByteBudget(t *testing.T) {
	t.Parallel()
	e := New(Config{Store: storetest.Engines(t)[0].Open(t, store.Config{})})
	object := func(size int) store.Object {
		o, err := store.ObjectOf(map[string]any{"p": strings.Repeat("p", size)})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	payload := object(400 << 10) // 20 fit in 8 MiB, 21 do not
	var rows []*store.Event
	for i := range 30 {
		rows = append(rows, &store.Event{ID: fmt.Sprintf("e%02d", i), Payload: payload})
	}
	rows[25].Payload = object(MaxPageBytes + 1)
	fetch := func(_ context.Context, _ store.Q, after string, limit int) ([]*store.Event, error) {
		var out []*store.Event
		for _, r := range rows {
			if r.ID > after && len(out) < limit {
				out = append(out, r)
			}
		}
		return out, nil
	}
	var sizes []int
	page := Page{Size: MaxPageSize}
	for range len(rows) {
		got, next, err := listPage(context.Background(), e, "events", page, "filter", fetch,
			func(r *store.Event) string { return r.ID }, always(func(r *store.Event) string { return r.ID }))
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(got))
		if page.Token = next; next == "" {
			break
		}
	}
	if fmt.Sprint(sizes) != "[20 5 1 4]" {
		t.Fatalf("pages of %v rows, want [20 5 1 4]", sizes)
	}
}
