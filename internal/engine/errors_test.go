package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestErrorOf: the engine's errors come back as they are, however wrapped; a
// database that cannot serve becomes KindUnavailable with retry advice and the
// store's error as its cause; the caller's own deadline, and failures nobody
// can act on, are no engine error.
func TestErrorOf(t *testing.T) {
	t.Parallel()
	own := &Error{Kind: KindNotFound, Message: "event e not found"}
	unavailable := fmt.Errorf("list events: %w", fmt.Errorf("%w: no database connection free within 1s", store.ErrUnavailable))
	tests := []struct {
		name      string
		err       error
		want      Kind // 0: no engine error
		wantRetry bool
	}{
		{"nil", nil, 0, false},
		{"engine error", own, KindNotFound, false},
		{"wrapped engine error", fmt.Errorf("get event: %w", own), KindNotFound, false},
		{"database unavailable", unavailable, KindUnavailable, true},
		{"deadline while the database was unavailable", fmt.Errorf("%w: %w", store.ErrUnavailable, context.DeadlineExceeded), 0, false},
		{"cancelled", context.Canceled, 0, false},
		{"row missing where it must exist", fmt.Errorf("claim: %w", store.ErrNotFound), 0, false},
		{"anything else", errors.New("boom"), 0, false},
	}
	for _, tt := range tests {
		got := ErrorOf(tt.err)
		var kind Kind
		if got != nil {
			kind = got.Kind
		}
		if kind != tt.want || (got != nil && (got.RetryAfter > 0) != tt.wantRetry) {
			t.Errorf("%s: ErrorOf = %+v, want kind %d (retry advice %v)", tt.name, got, tt.want, tt.wantRetry)
		}
	}
	got := ErrorOf(unavailable)
	if got.RetryAfter != unavailableRetry || !errors.Is(got, store.ErrUnavailable) || got.Cause != unavailable {
		t.Errorf("unavailable: %+v; want retry after %v and the store's error as its cause", got, unavailableRetry)
	}
	if got := ErrorOf(fmt.Errorf("get event: %w", own)); got != own {
		t.Errorf("wrapped engine error: %p, want the same error %p", got, own)
	}
}

// TestDamagedColumnsAreErrors: a stored JSON column that does not decode to
// what the engine wrote (a spec, webhook settings, a run's input) makes the
// read that meets it fail, naming the damage, instead of answering an empty
// value.
func TestDamagedColumnsAreErrors(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := eng.Open(t, store.Config{})
			e := New(Config{Store: st, SecretKey: bytes.Repeat([]byte{7}, SecretKeyBytes)})
			tenant := store.DefaultTenant
			if _, _, err := e.PutWorkflow(ctx, tenant, WorkflowSpec{Name: "w", Tasks: []TaskSpec{{Name: "t", Action: "act"}}}); err != nil {
				t.Fatal(err)
			}
			runID, _, err := e.RunWorkflow(ctx, tenant, "w", RunInput{Input: map[string]any{"n": 1.0}})
			if err != nil {
				t.Fatal(err)
			}
			wh, _, err := e.CreateWebhook(ctx, tenant, WebhookSettings{Name: "h", Scheme: "NONE", KeyExpression: `"k"`}, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, stmt := range []string{
				`UPDATE workflows SET spec = '{"tasks":"not a list"}'`,
				`UPDATE webhooks SET settings = '[1]'`,
				`UPDATE runs SET input = 'null'`,
			} {
				if _, err := st.DB().ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
			_, err = e.GetWorkflow(ctx, tenant, "w", 0)
			wantDamaged(t, "GetWorkflow", err)
			_, _, err = e.ListWorkflows(ctx, tenant, Page{})
			wantDamaged(t, "ListWorkflows", err)
			_, err = e.GetWebhook(ctx, tenant, wh.ID)
			wantDamaged(t, "GetWebhook", err)
			_, err = e.WebhookTarget(ctx, wh.ID)
			wantDamaged(t, "WebhookTarget", err)
			_, err = e.GetRun(ctx, tenant, runID)
			wantDamaged(t, "GetRun", err)
		})
	}
}

func wantDamaged(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrJSONColumn) {
		t.Errorf("%s of a damaged column: error %v, want one wrapping %v", what, err, store.ErrJSONColumn)
	}
}
