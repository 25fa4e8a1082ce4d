package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// stepClock is a clock that moves only when told.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestHeartbeatsStoredEveryOther: the heartbeats of a worker whose stream the
// server holds are stored once the stored one is half the liveness rule old
// (three intervals: every other heartbeat), and every heartbeat of a worker
// without a stream is stored (it is taken for dead after one and a half).
func TestHeartbeatsStoredEveryOther(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		clock := &stepClock{t: time.Now()}
		cfg := fastEngine
		cfg.Now = clock.now
		srv := servertest.Start(t, eng, servertest.Options{Engine: cfg})
		a := newAPI(srv.URL, grpcProtocol())
		ctx := context.Background()
		streamed := startRawWorkerHeartbeating(t, a, []string{"beat"}, 1, false, nil)
		unstreamed, err := a.workers.RegisterWorker(ctx, connect.NewRequest(&switchyardv1.RegisterWorkerRequest{Name: "unary", Actions: []string{"beat"}}))
		if err != nil {
			t.Fatal(err)
		}
		stored := func(id string) time.Time {
			t.Helper()
			res, err := a.workers.ListWorkers(ctx, connect.NewRequest(&switchyardv1.ListWorkersRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range res.Msg.GetWorkers() {
				if w.GetId() == id {
					return w.GetLastHeartbeatAt().AsTime()
				}
			}
			t.Fatalf("worker %s not listed", id)
			return time.Time{}
		}
		beat := func(id string) time.Time {
			t.Helper()
			if _, err := a.workers.Heartbeat(ctx, connect.NewRequest(&switchyardv1.HeartbeatRequest{WorkerId: id})); err != nil {
				t.Fatal(err)
			}
			return clock.now().Truncate(time.Microsecond)
		}
		connected := stored(streamed.id)
		// fastEngine's heartbeat interval is 1 s: half the rule is 1.5 s.
		clock.advance(time.Second)
		beat(streamed.id)
		unstreamedAt := beat(unstreamed.Msg.GetWorkerId())
		if got := stored(streamed.id); !got.Equal(connected) {
			t.Errorf("after a heartbeat 1s after the stream opened: stored %v, want the stream's opening %v kept", got, connected)
		}
		if got := stored(unstreamed.Msg.GetWorkerId()); !got.Equal(unstreamedAt) {
			t.Errorf("a worker without a stream: stored %v, want its heartbeat %v", got, unstreamedAt)
		}
		clock.advance(time.Second)
		at := beat(streamed.id)
		if got := stored(streamed.id); !got.Equal(at) {
			t.Errorf("after a heartbeat 2s after the stream opened: stored %v, want it %v", got, at)
		}
		// An unknown worker is refused whatever the server remembers.
		if _, err := a.workers.Heartbeat(ctx, connect.NewRequest(&switchyardv1.HeartbeatRequest{WorkerId: "01a237e9-0000-7000-8000-000000000000"})); connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("heartbeat of an unknown worker: %v, want not_found", err)
		}
	})
}
