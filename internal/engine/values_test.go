package engine

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

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
