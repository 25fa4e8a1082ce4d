package server_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/migrations"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// probeState is what the three probes say at one moment.
type probeState struct {
	grpc        grpchealth.Status
	live, ready int
	readyBody   string
}

func probe(t *testing.T, url string) probeState {
	t.Helper()
	var s probeState
	var err error
	if s.grpc, err = servertest.GRPCHealth(url, ""); err != nil {
		t.Fatalf("grpc health: %v", err)
	}
	if s.live, _, err = servertest.Probe(url, server.LivePath); err != nil {
		t.Fatalf("%s: %v", server.LivePath, err)
	}
	if s.ready, s.readyBody, err = servertest.Probe(url, server.ReadyPath); err != nil {
		t.Fatalf("%s: %v", server.ReadyPath, err)
	}
	return s
}

func (s probeState) serving() bool {
	return s.grpc == grpchealth.StatusServing && s.live == http.StatusOK && s.ready == http.StatusOK
}

// notReady: alive, but neither gRPC health nor readiness lets calls in.
func (s probeState) notReady() bool {
	return s.grpc == grpchealth.StatusNotServing && s.live == http.StatusOK && s.ready == http.StatusServiceUnavailable
}

// TestHealthProbes: a running server is SERVING, alive and ready, for the
// whole server and for each service, without a token; an unknown service is
// not_found. Once shutdown begins it is NOT_SERVING and not ready, but alive.
func TestHealthProbes(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		s := servertest.Start(t, eng, servertest.Options{})
		if got := probe(t, s.URL); !got.serving() || got.readyBody != "ready" {
			t.Fatalf("running server: %+v; want SERVING, 200, 200 ready", got)
		}
		for _, svc := range []string{"switchyard.v1.EventService", "switchyard.v1.WorkerService"} {
			if st, err := servertest.GRPCHealth(s.URL, svc); err != nil || st != grpchealth.StatusServing {
				t.Errorf("health of %s: %v, %v; want SERVING", svc, st, err)
			}
		}
		if _, err := servertest.GRPCHealth(s.URL, "no.such.Service"); connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("health of an unknown service: %v; want not_found", err)
		}

		s.Health.BeginShutdown()
		got := probe(t, s.URL)
		if !got.notReady() || got.readyBody != "not ready: shutting down" {
			t.Fatalf("after shutdown began: %+v; want NOT_SERVING, 200, 503 not ready: shutting down", got)
		}
	})
}

// TestReadyNeedsMigrations: a database missing a migration this build embeds
// is not ready.
func TestReadyNeedsMigrations(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		s := servertest.Start(t, eng, servertest.Options{})
		all := migrations.Migrations.Sorted()
		if _, err := s.Store.DB().NewDelete().Table("bun_migrations").Where("name = ?", all[len(all)-1].Name).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := probe(t, s.URL)
		if !got.notReady() || got.readyBody != "not ready: 1 database migrations not applied" {
			t.Fatalf("with a migration missing: %+v; want NOT_SERVING, 200, 503 for the migration", got)
		}
	})
}

// TestHealthFollowsPostgres puts a TCP proxy between a server and Postgres and
// cuts it: within seconds the server is NOT_SERVING and not ready (but alive),
// and once the proxy is back it is SERVING again and its pool serves calls.
func TestHealthFollowsPostgres(t *testing.T) {
	t.Parallel()
	eng := storetest.Postgres(t)
	base, err := url.Parse(os.Getenv(storetest.DatabaseURLEnv))
	if err != nil {
		t.Fatal(err)
	}
	target := base.Host
	if base.Port() == "" {
		target = net.JoinHostPort(base.Hostname(), "5432")
	}
	proxy := servertest.NewProxy(t, target)
	dbURL, err := url.Parse(storetest.NewSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	dbURL.Host = proxy.Addr
	logs := &servertest.LogSink{}
	s := servertest.Start(t, eng, servertest.Options{
		Store:  store.Config{DatabaseURL: dbURL.String(), AcquireTimeout: time.Second},
		Engine: fastEngine,
		Logger: logs.Logger(slog.LevelInfo),
	})
	a := newAPI(s.URL, grpcProtocol())
	push := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := a.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "health.check"}))
		return err
	}

	if got := probe(t, s.URL); !got.serving() {
		t.Fatalf("with Postgres reachable: %+v; want SERVING, 200, 200", got)
	}
	if err := push(); err != nil {
		t.Fatalf("push with Postgres reachable: %v", err)
	}

	proxy.Cut()
	var got probeState
	waitFor(t, "NOT_SERVING with Postgres unreachable", 10*time.Second, func() bool {
		got = probe(t, s.URL)
		return got.notReady()
	})
	if got.readyBody != "not ready: database unreachable" {
		t.Errorf("%s with Postgres unreachable: %q", server.ReadyPath, got.readyBody)
	}
	if err := push(); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("push with Postgres unreachable: %v; want unavailable\n%s", err, logs.String())
	}
	if lines := logs.Lines(t, "not ready"); len(lines) != 1 || lines[0]["level"] != "WARN" || lines[0]["reason"] != "database unreachable" || lines[0]["error"] == nil {
		t.Errorf("not ready logged as %v; want one warning with the reason and the error", lines)
	}

	proxy.Restore(t)
	waitFor(t, "SERVING with Postgres back", 10*time.Second, func() bool {
		return probe(t, s.URL).serving()
	})
	if lines := logs.Lines(t, "ready again"); len(lines) != 1 {
		t.Errorf("ready again logged %d times; want once", len(lines))
	}
	// The pool replaced the connections the cut broke: every call succeeds.
	for i := range 2 * s.MaxConns {
		if err := push(); err != nil {
			t.Fatalf("push %d with Postgres back: %v", i, err)
		}
	}
}
