package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

// testWaitCandidatesProbe: a push looks up the open waits its event may
// satisfy by the index on (tenant, key, match), each of its match values an
// index probe, even before the table's statistics were ever gathered: with
// 2,000 waits on one key, the lookup finds the one that matches without
// reading the others.
func testWaitCandidatesProbe(t *testing.T, f *fixture) {
	const n = 2000
	run := runOf(tenantA, "r1", 1)
	run.Input = mustObject(`{"order_id":"o-7"}`)
	insertRunsOf(f, run)
	rows := make([]*store.Wait, 0, n+1)
	for i := range n {
		rows = append(rows, &store.Wait{ID: fmt.Sprintf("w%04d", i), TenantID: tenantA, RunID: "r1", TaskID: fmt.Sprintf("t%04d", i),
			Step: "paid", Cond: "paid", Mode: "ANY", Kind: store.WaitKindEvent, Key: "payment.confirmed",
			Match: fmt.Sprintf(`order_id="o-%d"`, i), State: store.WaitOpen, CreatedAt: store.TimeMicros(1)})
	}
	rows = append(rows, &store.Wait{ID: "wp", TenantID: tenantA, RunID: "r1", TaskID: "tp", Step: "any", Cond: "any", Mode: "ANY",
		Kind: store.WaitKindEvent, Key: "payment.*", IsPattern: true, State: store.WaitOpen, CreatedAt: store.TimeMicros(1)})
	f.write(func(ctx context.Context, q store.Q) error { return q.WaitInsertMany(ctx, rows) })

	matches := []string{"", `order_id="o-7"`, `amount=42`, `order_id="o-7"`}
	got := read(f, func(ctx context.Context, q store.Q) ([]*store.Wait, error) {
		return q.WaitListCandidates(ctx, tenantA, "payment.confirmed", matches)
	})
	wantEqual(t, "candidates", idsOf(got, func(w *store.Wait) string { return w.ID }), []string{"w0007", "wp"})
	wantEqual(t, "their run's input", got[0].RunInput.Map()["order_id"], any("o-7"))
	wantEqual(t, "another tenant's candidates", len(read(f, func(ctx context.Context, q store.Q) ([]*store.Wait, error) {
		return q.WaitListCandidates(ctx, tenantB, "payment.confirmed", matches)
	})), 0)

	plan := read(f, func(ctx context.Context, q store.Q) (string, error) {
		return q.WaitCandidatesPlan(ctx, tenantA, "payment.confirmed", matches)
	})
	if f.st.Postgres() {
		// Every wait the scan reads is one it returns.
		if strings.Contains(plan, "Rows Removed by") || !strings.Contains(plan, "match = m.v") {
			t.Errorf("the lookup reads waits it does not return, or not by match; plan:\n%s", plan)
		}
		return
	}
	if !strings.Contains(plan, "waits_event_match (tenant_id=? AND key=? AND match=?)") {
		t.Errorf("the lookup does not probe waits_event_match by match; plan:\n%s", plan)
	}
}
