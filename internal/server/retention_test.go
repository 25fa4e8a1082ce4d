package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// retentionClock is an engine clock that tests move: real time plus an offset or,
// frozen, a time that changes only when told.
type retentionClock struct {
	frozen bool
	ns     atomic.Int64 // the offset, or the frozen time (Unix ns)
}

func frozenRetentionClock(at time.Time) *retentionClock {
	c := &retentionClock{frozen: true}
	c.ns.Store(at.UnixNano())
	return c
}

func (c *retentionClock) Now() time.Time {
	if c.frozen {
		return time.Unix(0, c.ns.Load())
	}
	return time.Now().Add(time.Duration(c.ns.Load()))
}

func (c *retentionClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// prunedCounts sums the counts of a server's "pruned" log lines.
func prunedCounts(t *testing.T, logs *servertest.LogSink) map[string]int64 {
	t.Helper()
	sum := map[string]int64{}
	for _, line := range logs.Lines(t, "pruned") {
		for _, k := range []string{"events", "runs", "tasks", "replays"} {
			n, _ := line[k].(float64)
			sum[k] += int64(n)
		}
	}
	return sum
}

func retentionEngine(clock *retentionClock) engine.Config {
	cfg := fastEngine
	cfg.Now = clock.Now
	cfg.Retention = time.Hour
	cfg.RetentionInterval = 20 * time.Millisecond
	return cfg
}

// TestRetentionPrunesHistory runs a server with a one-hour retention and moves
// its clock two hours on: ended runs and the events no run refers to any more
// disappear, with the replay records, and their idempotency keys can be used
// again; an old run that has not ended stays, and so does its event.
func TestRetentionPrunesHistory(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		clock := &retentionClock{}
		var logs servertest.LogSink
		srv := servertest.Start(t, eng, servertest.Options{Engine: retentionEngine(clock), Logger: logs.Logger(slog.LevelInfo)})
		a := newAPI(srv.URL, grpcProtocol())
		ctx := context.Background()
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "kept", OnEvents: []string{"ret.go"}, Tasks: []*switchyardv1.TaskSpec{task("only", "ret.nobody")}})
		push := func(key, idem string, n int) *switchyardv1.PushEventResponse {
			t.Helper()
			res, err := a.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{
				Key: key, IdempotencyKey: idem, Payload: mustStruct(map[string]any{"n": n}),
			}))
			if err != nil {
				t.Fatalf("push %s: %v", idem, err)
			}
			return res.Msg
		}
		active := push("ret.go", "k-active", 1) // its run never ends: no worker
		ended := push("ret.go", "k-ended", 2)
		bare := push("ret.none", "k-bare", 3) // starts no run
		if len(active.GetRunIds()) != 1 || len(ended.GetRunIds()) != 1 || len(bare.GetRunIds()) != 0 {
			t.Fatalf("runs started: %v, %v, %v; want one, one, none", active.GetRunIds(), ended.GetRunIds(), bare.GetRunIds())
		}
		if _, err := a.runs.CancelRun(ctx, connect.NewRequest(&switchyardv1.CancelRunRequest{Id: ended.GetRunIds()[0]})); err != nil {
			t.Fatal(err)
		}
		replay, err := a.events.ReplayEvent(ctx, connect.NewRequest(&switchyardv1.ReplayEventRequest{Id: active.GetEvent().GetId(), IdempotencyKey: "k-replay"}))
		if err != nil || len(replay.Msg.GetRunIds()) != 1 {
			t.Fatalf("replay: %v, %v", replay, err)
		}
		// Nothing is old enough yet.
		time.Sleep(200 * time.Millisecond)
		if got := prunedCounts(t, &logs); len(got) != 0 {
			t.Fatalf("pruned %v before anything was old", got)
		}

		clock.Advance(2 * time.Hour)
		recent := push("ret.none", "k-recent", 4)
		gone := func(err error) bool { return connect.CodeOf(err) == connect.CodeNotFound }
		deadline := time.Now().Add(15 * time.Second)
		for {
			_, errBare := a.events.GetEvent(ctx, connect.NewRequest(&switchyardv1.GetEventRequest{Id: bare.GetEvent().GetId()}))
			_, errEnded := a.events.GetEvent(ctx, connect.NewRequest(&switchyardv1.GetEventRequest{Id: ended.GetEvent().GetId()}))
			if gone(errBare) && gone(errEnded) && prunedCounts(t, &logs)["replays"] == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("old events not pruned: %v, %v", errBare, errEnded)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := a.runs.GetRun(ctx, connect.NewRequest(&switchyardv1.GetRunRequest{Id: ended.GetRunIds()[0]})); !gone(err) {
			t.Fatalf("ended run: %v, want not_found", err)
		}
		for _, id := range []string{active.GetRunIds()[0], replay.Msg.GetRunIds()[0]} {
			if r := getRun(t, a, id); r.GetStatus() == switchyardv1.RunStatus_RUN_STATUS_CANCELLED || len(r.GetTasks()) != 1 {
				t.Fatalf("active run %s: %v, want it whole and not ended", id, r)
			}
		}
		for _, id := range []string{active.GetEvent().GetId(), recent.GetEvent().GetId()} {
			if _, err := a.events.GetEvent(ctx, connect.NewRequest(&switchyardv1.GetEventRequest{Id: id})); err != nil {
				t.Fatalf("event %s: %v, want it kept", id, err)
			}
		}
		want := map[string]int64{"events": 2, "runs": 1, "tasks": 1, "replays": 1}
		if got := prunedCounts(t, &logs); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("logged pruned %v, want %v", got, want)
		}

		// The dedupe window of pruned events is over; the kept event's is not.
		if again := push("ret.none", "k-bare", 3); again.GetDeduplicated() || again.GetEvent().GetId() == bare.GetEvent().GetId() {
			t.Fatalf("k-bare again: %v, want a new event", again)
		}
		if other := push("ret.go", "k-ended", 99); other.GetDeduplicated() || len(other.GetRunIds()) != 1 {
			t.Fatalf("k-ended with another payload: %v, want a new event and run", other)
		}
		if same := push("ret.go", "k-active", 1); !same.GetDeduplicated() || same.GetEvent().GetId() != active.GetEvent().GetId() {
			t.Fatalf("k-active again: %v, want the original event, deduplicated", same)
		}
		replay2, err := a.events.ReplayEvent(ctx, connect.NewRequest(&switchyardv1.ReplayEventRequest{Id: recent.GetEvent().GetId(), IdempotencyKey: "k-replay"}))
		if err != nil || replay2.Msg.GetDeduplicated() {
			t.Fatalf("k-replay for another event after its record was pruned: %v, %v; want a new replay", replay2, err)
		}
	})
}

// TestRetentionDisabled keeps everything when the retention is negative.
func TestRetentionDisabled(t *testing.T) {
	t.Parallel()
	clock := &retentionClock{}
	cfg := retentionEngine(clock)
	cfg.Retention = -1
	var logs servertest.LogSink
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{Engine: cfg, Logger: logs.Logger(slog.LevelInfo)})
	a := newAPI(srv.URL, grpcProtocol())
	res, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "ret.none"}))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(100 * 365 * 24 * time.Hour)
	time.Sleep(300 * time.Millisecond)
	if _, err := a.events.GetEvent(context.Background(), connect.NewRequest(&switchyardv1.GetEventRequest{Id: res.Msg.GetEvent().GetId()})); err != nil {
		t.Fatalf("event with retention off: %v, want it kept", err)
	}
	if got := prunedCounts(t, &logs); len(got) != 0 {
		t.Fatalf("pruned %v with retention off", got)
	}
}

// TestRetentionOneServerAtATime runs two servers on one Postgres: only the
// holder of the lease prunes, in batches; when it stops, the other takes over.
// Their shared clock is frozen, so that the lease expires only when the test
// moves it.
func TestRetentionOneServerAtATime(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t)
	url := storetest.NewSchema(t)
	clock := frozenRetentionClock(time.Now())
	cfg := retentionEngine(clock)
	cfg.RetentionBatch = 100
	var logsA, logsB servertest.LogSink
	srvA := servertest.Start(t, pg, servertest.Options{Store: store.Config{DatabaseURL: url}, Engine: cfg, Logger: logsA.Logger(slog.LevelInfo)})
	srvB := servertest.Start(t, pg, servertest.Options{Store: store.Config{DatabaseURL: url}, Engine: cfg, Logger: logsB.Logger(slog.LevelInfo)})
	st := srvA.Store

	old := store.TimeOf(clock.Now().Add(-2 * time.Hour))
	payload, err := store.ObjectOf(nil)
	if err != nil {
		t.Fatal(err)
	}
	insertOld := func(prefix string, n int) {
		t.Helper()
		var events []*store.Event
		for i := range n {
			events = append(events, &store.Event{
				ID: fmt.Sprintf("%s-%04d", prefix, i), TenantID: store.DefaultTenant, Key: "old", Payload: payload, Metadata: store.JSONOf(map[string]string{}),
				OccurredAt: old, CreatedAt: old, Skipped: store.SkippedTriggers{},
			})
		}
		err := st.Write(context.Background(), func(ctx context.Context, q store.Q) error {
			_, err := q.EventInsertMany(ctx, events)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitEmpty := func() {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			n, err := st.DB().NewSelect().Table("events").Count(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d old events left", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// prunedEvents waits until the servers' logs (written after each pass)
	// account for want events, and returns the count of each.
	prunedEvents := func(want int64, logs ...*servertest.LogSink) []int64 {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			var counts []int64
			var sum int64
			for _, l := range logs {
				counts = append(counts, prunedCounts(t, l)["events"])
				sum += counts[len(counts)-1]
			}
			if sum >= want || time.Now().After(deadline) {
				return counts
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	insertOld("first", 1000)
	waitEmpty()
	counts := prunedEvents(1000, &logsA, &logsB)
	a, b := counts[0], counts[1]
	if a+b != 1000 || (a != 0 && b != 0) {
		t.Fatalf("events pruned by A %d, by B %d; want 1000 by one of them", a, b)
	}
	holder, holderLogs, other, otherLogs := srvA, &logsA, srvB, &logsB
	if b != 0 {
		holder, holderLogs, other, otherLogs = srvB, &logsB, srvA, &logsA
	}
	var lease *store.Lease
	if err := other.Store.Read(context.Background(), func(ctx context.Context, q store.Q) (err error) {
		lease, err = q.LeaseGet(ctx, "retention")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !lease.ExpiresAt.After(clock.Now()) {
		t.Fatalf("lease %+v expired at %s", lease, clock.Now())
	}

	// The holder stops; once its lease has expired the other server prunes.
	holder.Stop()
	st = other.Store
	clock.Advance(time.Second)
	insertOld("second", 250)
	waitEmpty()
	if got := prunedEvents(250, otherLogs)[0]; got != 250 {
		t.Fatalf("the other server pruned %d events, want 250", got)
	}
	if got := prunedCounts(t, holderLogs)["events"]; got != 1000 {
		t.Fatalf("the stopped server pruned %d events in all, want 1000", got)
	}
}
