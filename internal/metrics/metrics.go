// Package metrics holds Switchyard's Prometheus metrics: what the API served
// (recorded by the server's interceptor through [Metrics.ObserveRPC]), what the
// engine did (told through [Metrics.Observer], an [engine.Observer]), and, read
// at each scrape, the queues and the workers (from the engine, given to
// [Metrics.CollectStats]) and the database connection pool. Each [Metrics] has
// its own registry, with the Go runtime and process collectors, and
// [Metrics.Handler] serves it in the Prometheus exposition format.
//
// Label values are bounded: procedures, protocols, codes, workflow names,
// actions, trigger kinds and statuses, never ids.
package metrics

import (
	"database/sql"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchyard/switchyard/internal/engine"
)

// namespace prefixes every Switchyard metric.
const namespace = "switchyard"

// Config wires [New].
type Config struct {
	// Pool, when set, is the database connection pool whose statistics are
	// exported.
	Pool *sql.DB
	// Transactions, when set, counts the database transactions the server
	// ran; it is exported as switchyard_db_transactions_total.
	Transactions func() int64
	// Statements, when set, counts the statements the server sent to the
	// database; it is exported as switchyard_db_statements_total.
	Statements func() int64
	// Logger receives failures to read the queue and worker gauges; nil
	// discards them.
	Logger *slog.Logger
	// StatsTimeout bounds the queries of one scrape; zero means 2s.
	StatsTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Metrics is one server's collectors and the registry that holds them.
type Metrics struct {
	cfg      Config
	registry *prometheus.Registry
	rpc      *rpcMetrics
	engine   *engineObserver
	handler  http.Handler
}

// New returns the metrics of one server, registered on a registry of their own
// (not the global default), so that servers in one process do not collide.
func New(cfg Config) *Metrics {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StatsTimeout <= 0 {
		cfg.StatsTimeout = 2 * time.Second
	}
	reg := prometheus.NewRegistry()
	m := &Metrics{
		cfg:      cfg,
		registry: reg,
		rpc:      newRPCMetrics(reg),
		engine:   newEngineObserver(reg),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if cfg.Pool != nil {
		reg.MustRegister(collectors.NewDBStatsCollector(cfg.Pool, "switchyard"))
	}
	if cfg.Transactions != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: namespace, Name: "db_transactions_total",
			Help: "Database transactions the server ran (a statement outside a transaction counts as one): with nothing to do, its rate is the server's idle cost.",
		}, func() float64 { return float64(cfg.Transactions()) }))
	}
	if cfg.Statements != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: namespace, Name: "db_statements_total",
			Help: "Statements the server sent to the database (BEGIN and COMMIT included; a script of several writes sent at once counts as one).",
		}, func() float64 { return float64(cfg.Statements()) }))
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		// A collector that fails leaves out its own metrics, not the others.
		ErrorHandling: promhttp.ContinueOnError,
		// Scrapes are rare and small; a slow store must not pile them up.
		MaxRequestsInFlight: 4,
		Timeout:             cfg.StatsTimeout + 3*time.Second,
	})
	return m
}

// CollectStats reads the queue and worker gauges from s at each scrape. The
// engine is built with [Metrics.Observer], so it comes after the metrics; call
// this once, when it is there.
func (m *Metrics) CollectStats(s Stats) {
	m.registry.MustRegister(newStatsCollector(s, m.cfg.Logger, m.cfg.StatsTimeout, m.cfg.Now))
}

// Registry is the registry the metrics are registered on, for more collectors
// and for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Observer is the engine observer that feeds the engine metrics.
func (m *Metrics) Observer() engine.Observer { return m.engine }

// Handler serves the metrics in the Prometheus exposition format. It does not
// authenticate: mount it behind authentication or on a private listener.
func (m *Metrics) Handler() http.Handler { return m.handler }
