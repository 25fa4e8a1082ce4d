package engine

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/switchyard/switchyard/internal/store"
)

// Page sizes for every list.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
	// MaxPageBytes bounds the JSON documents (payloads, inputs, specs, labels)
	// of one page: a page stops early, with a next page token, once its rows
	// hold more. A page holds at least one row.
	MaxPageBytes = 8 << 20
)

// Page asks for one page of a list: at most Size items (0 means
// [DefaultPageSize]) after the position Token names.
type Page struct {
	Size  int
	Token string
}

// cursor is what a page token carries: the last id of the previous page and a
// fingerprint of the filter, so a token is not reused with other filters. Tokens
// are opaque to clients; their form may change.
type cursor struct {
	After  string `json:"a"`
	Filter string `json:"f"`
}

func fingerprint(filter any) string {
	b, _ := json.Marshal(filter)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// decode returns the id to continue after ("" for the first page) and the page
// size.
func (p Page) decode(filter any) (after string, limit int, err error) {
	limit = p.Size
	if limit <= 0 {
		limit = DefaultPageSize
	}
	if limit > MaxPageSize {
		limit = MaxPageSize
	}
	if p.Token == "" {
		return "", limit, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(p.Token)
	var c cursor
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil || c.After == "" {
		return "", 0, invalid("page_token", "page_token.malformed", "is not a page token this server issued")
	}
	if c.Filter != fingerprint(filter) {
		return "", 0, invalid("page_token", "page_token.filter_changed", "was issued for different filters; start again without a token")
	}
	return c.After, limit, nil
}

// next returns the token of the page after lastID.
func (p Page) next(filter any, lastID string) string {
	b, _ := json.Marshal(cursor{After: lastID, Filter: fingerprint(filter)})
	return base64.RawURLEncoding.EncodeToString(b)
}

// listPage reads one page of a list: fetch returns the rows after the cursor
// (asked for one more than the page holds, to learn whether another page
// follows), key gives a row's cursor position and convert makes a result of a
// row (an error: the row is damaged). It returns the results and the next
// page's token ("" on the last page); an error says which list (what) failed.
func listPage[R, T any](ctx context.Context, e *Engine, what string, page Page, filter any,
	fetch func(ctx context.Context, q store.Q, after string, limit int) ([]R, error),
	key func(R) string, convert func(R) (T, error),
) ([]T, string, error) {
	fail := func(err error) ([]T, string, error) { return nil, "", fmt.Errorf("list %s: %w", what, err) }
	after, limit, err := page.decode(filter)
	if err != nil {
		return fail(err)
	}
	rows, err := read(ctx, e.store, func(ctx context.Context, q store.Q) ([]R, error) { return fetch(ctx, q, after, limit+1) })
	if err != nil {
		return fail(err)
	}
	size := 0
	for i, r := range rows {
		if size += rowBytes(r); i > 0 && i < limit && size > MaxPageBytes {
			limit = i
			break
		}
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = page.next(filter, key(rows[limit-1]))
	}
	out := make([]T, len(rows))
	for i, r := range rows {
		if out[i], err = convert(r); err != nil {
			return fail(err)
		}
	}
	return out, next, nil
}

// always is a conversion that cannot fail, as listPage takes conversions.
func always[R, T any](convert func(R) T) func(R) (T, error) {
	return func(r R) (T, error) { return convert(r), nil }
}

// rowBytes is what a listed row adds to a response, roughly: the size of its
// JSON documents, which are what can be large.
func rowBytes(row any) int {
	switch r := row.(type) {
	case *store.Event:
		return len(r.Payload.Text()) + stringsBytes(r.Metadata.V) + skippedBytes(r.Skipped)
	case *store.Run:
		return len(r.Input.Text()) + len(r.Error)
	case *store.Workflow:
		return len(r.Spec.V)
	case *store.Worker:
		n := stringsBytes(r.Labels.V)
		for _, a := range r.Actions.V {
			n += len(a)
		}
		return n
	case *store.Webhook:
		return len(r.Settings.V)
	}
	return 0
}

// skippedBytes is the size of an event's skipped triggers' strings.
func skippedBytes(skipped []store.SkippedTrigger) int {
	n := 0
	for _, s := range skipped {
		n += len(s.Workflow) + len(s.Trigger) + len(s.Reason)
	}
	return n
}

// stringsBytes is the size of a map of strings' keys and values.
func stringsBytes(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}
