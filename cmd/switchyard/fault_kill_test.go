package main

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// TestFaultServerKills runs two `switchyard serve` processes on one Postgres
// schema, an SDK worker connected to each, and producers pushing through both
// with unique idempotency keys and the SDK's retries, while one of the servers
// is killed with SIGKILL twelve times and started again on its port. Every
// acknowledged push is stored once, and every run it started SUCCEEDED within
// a minute of the load's end: no task waited for its five-minute lease, though
// workers lost their server, their stream and their reports in flight.
func TestFaultServerKills(t *testing.T) {
	t.Parallel()
	storetest.Postgres(t)
	databaseURL := storetest.NewSchema(t)
	bin := buildBinary(t)
	token := engine.NewTokenSecret()
	victim := startServerProcess(t, bin, "--database-url", databaseURL, "--admin-token", token)
	steady := startServerProcess(t, bin, "--database-url", databaseURL, "--admin-token", token)
	clientOf := func(url string) *sdk.Client {
		return sdk.NewClient(url, sdk.WithToken(token), sdk.WithRetry(faultRetry))
	}
	toVictim, toSteady := clientOf(victim.URL), clientOf(steady.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	spec := twoTasks("killed", "killed.tick")
	if _, err := toSteady.PutWorkflow(ctx, spec); err != nil {
		t.Fatalf("put workflow: %v", err)
	}
	var ran executions
	workerLogs := &servertest.LogSink{}
	startWorkers(t, "killed", workerLogs, 16, ran.handler(20*time.Millisecond), []string{"killed.first", "killed.second"}, toVictim, toSteady)

	// About 100 pushes a second, half through each server.
	l := startLoad(ctx, "killed.tick", 50, toVictim, toSteady)
	const kills = 12
	var downtimes, restarts []time.Duration
	for range kills {
		// Each round waits for 40 more acknowledged pushes, then half a second
		// to a second, so that each kill lands on two working servers under load.
		l.waitAcknowledged(t, l.acknowledged()+40)
		time.Sleep(time.Duration(500+rand.IntN(500)) * time.Millisecond)
		killed := time.Now()
		victim.kill()
		time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		restarts = append(restarts, victim.restart())
		downtimes = append(downtimes, time.Since(killed))
	}
	l.waitAcknowledged(t, l.acknowledged()+40)
	l.finish()

	o := l.check(t, toSteady, spec.GetName(), time.Minute)
	t.Logf("figures: kills=%d downtime max=%s restart max=%s %s repeats=%d %s push_failures=%v",
		kills, maxDuration(downtimes).Round(time.Millisecond), maxDuration(restarts).Round(time.Millisecond),
		o, ran.repeats(), reportFigures(t, workerLogs), l.failures())
}
