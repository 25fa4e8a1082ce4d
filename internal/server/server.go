// Package server assembles Switchyard's one [http.Handler]: every Connect service
// behind the same interceptor chain (tracing, request id and logging, panic recovery,
// authentication and rate limits, validation), the REST routes transcoded onto
// those same handlers by Vanguard, health (gRPC and /healthz, /readyz), server
// reflection, CORS and the web dashboard. It also builds the [http.Server] with
// its limits, timeouts and unencrypted HTTP/2, and runs the whole server: [New]
// opens the store and starts the engine behind that handler, [Server.Serve]
// serves it and [Server.Shutdown] stops it all in order.
package server

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	connectcors "connectrpc.com/cors"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"connectrpc.com/validate"
	"connectrpc.com/vanguard"
	"github.com/rs/cors"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/metrics"
	"github.com/switchyard/switchyard/internal/service"
	"github.com/switchyard/switchyard/internal/store"
)

// MaxRequestBytes bounds a request message after decompression (and a request
// body before it): room for a full bulk push of typical events.
const MaxRequestBytes = 16 << 20

// HandlerConfig wires a [Handler]; [New] fills in the parts it assembles.
type HandlerConfig struct {
	Store  *store.Store
	Engine *engine.Engine
	Auth   *auth.Authenticator
	Logger *slog.Logger
	// CORSOrigins are the browser origins allowed besides the server's own.
	CORSOrigins []string
	// MaxRequestBytes overrides [MaxRequestBytes] when positive.
	MaxRequestBytes int64
	// TracerProvider records a span for every call; nil means the
	// OpenTelemetry global, a no-op unless the process set one.
	TracerProvider trace.TracerProvider
	// Propagator reads the caller's trace context from requests; nil means
	// the OpenTelemetry global, which reads nothing unless the process set one.
	Propagator propagation.TextMapPropagator
	// Health answers the health probes; nil means a [NewHealth] over Store
	// that nobody can turn to shutting down.
	Health *Health
	// Metrics, when set, records every RPC and is served at [MetricsPath] to
	// admin tokens.
	Metrics *metrics.Metrics
	// RateLimits are the rate limits of each role's tokens where a tenant
	// sets none; a role it does not list gets its [auth.DefaultRateLimit].
	RateLimits map[string]auth.Rate
	// Dashboard is the built web dashboard (dashboard.Assets), served without
	// authentication to GET and HEAD requests at / and at every other path that
	// is not the API's, with index.html for the app's own routes; nil serves
	// none. It holds no data: each of its API calls carries the user's token.
	Dashboard fs.FS
}

// Handler returns the server's whole HTTP surface.
func Handler(cfg HandlerConfig) (http.Handler, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	limit := cfg.MaxRequestBytes
	if limit <= 0 {
		limit = MaxRequestBytes
	}
	limiter := auth.NewLimiter(auth.LimiterConfig{Tenants: cfg.Engine, Defaults: cfg.RateLimits})
	cfg.Engine.OnTenantChanged(limiter.Forget)
	opts, err := handlerOptions(cfg, log, limiter, limit)
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	var rest []*vanguard.Service
	var names []string
	mount := func(path string, h http.Handler) {
		mux.Handle(path, h)
		rest = append(rest, vanguard.NewService(path, h,
			vanguard.WithTargetProtocols(vanguard.ProtocolConnect),
			vanguard.WithMaxMessageBufferBytes(uint32(limit)),
			// A query parameter that names no field is refused, as an unknown
			// field in a body is (see markREST for its message).
			vanguard.WithRESTUnmarshalOptions(vanguard.RESTUnmarshalOptions{DiscardUnknownQueryParams: false}),
		))
		names = append(names, strings.Trim(path, "/"))
	}
	events := service.NewEventService(cfg.Engine)
	mount(switchyardv1connect.NewEventServiceHandler(events, opts...))
	mount(switchyardv1connect.NewWebhookServiceHandler(service.NewWebhookService(cfg.Engine), opts...))
	mux.Handle(service.WebhookPath, newCallInterceptor(log, service.Errors{Log: log}).WrapHTTP(service.NewWebhookReceiver(cfg.Engine, limiter, log).Serve))
	mount(switchyardv1connect.NewWorkflowServiceHandler(service.NewWorkflowService(cfg.Engine), opts...))
	mount(switchyardv1connect.NewRunServiceHandler(service.NewRunService(cfg.Engine), opts...))
	mount(switchyardv1connect.NewWorkerServiceHandler(service.NewWorkerService(cfg.Engine), opts...))
	mount(switchyardv1connect.NewAdminServiceHandler(service.NewAdminService(cfg.Engine), opts...))
	mount(switchyardv1connect.NewRateLimitServiceHandler(service.NewRateLimitService(cfg.Engine), opts...))
	mount(switchyardv1connect.NewDurableServiceHandler(service.NewDurableService(cfg.Engine), opts...))

	// Connect, gRPC and gRPC-Web requests go straight to the Connect handlers
	// (so a plain JSON POST needs no Connect-Protocol-Version header); only the
	// REST routes go through the transcoder.
	transcoder, err := vanguard.NewTranscoder(rest, vanguard.WithCodec(newRESTJSONCodec))
	if err != nil {
		return nil, fmt.Errorf("build REST transcoder: %w", err)
	}
	procs := newProcedures(names)
	mux.Handle("/v1/", markREST(log, newRESTParams(procs), restDecompress(limit, restJSON(transcoder))))

	health := cfg.Health
	if health == nil {
		health = NewHealth(cfg.Store, log)
	}
	mountHealth(mux, health, names)
	mountOpenAPI(mux)
	if cfg.Metrics != nil {
		mux.Handle("GET "+MetricsPath, metricsEndpoint(cfg.Auth, limiter, cfg.Metrics))
	}
	reflector := grpcreflect.NewStaticReflector(append(names, grpchealth.HealthV1ServiceName)...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))

	var routes http.Handler = mux
	if cfg.Dashboard != nil {
		routes = withDashboard(mux, cfg.Dashboard)
	}
	routes = rpcRoutes(procs, mux, routes)
	// The body limit sits above the message limit so that an oversize message
	// gets Connect's precise resource_exhausted; this bounds what is read at all.
	return http.MaxBytesHandler(withCORS(routes, cfg.CORSOrigins), limit+(1<<20)), nil
}

// handlerOptions are the options of every Connect handler: the interceptor
// chain, the message limits, compression and codecs.
func handlerOptions(cfg HandlerConfig, log *slog.Logger, limiter *auth.Limiter, limit int64) ([]connect.HandlerOption, error) {
	tracing, err := newTracingInterceptor(cfg.TracerProvider, cfg.Propagator)
	if err != nil {
		return nil, err
	}
	var opts []connect.HandlerOption
	if cfg.Metrics != nil {
		// Outermost (options chain in order), so that it sees the code the
		// client gets.
		opts = append(opts, connect.WithInterceptors(metricsInterceptor{cfg.Metrics}))
	}
	opts = append(opts,
		connect.WithInterceptors(
			restReach{},
			tracing,
			newCallInterceptor(log, service.Errors{Log: log}),
			strictInterceptor{},
			auth.NewInterceptor(cfg.Auth, limiter),
			validate.NewInterceptor(),
			nulInterceptor{},
		),
		connect.WithReadMaxBytes(int(limit)),
		connect.WithSendMaxBytes(MaxResponseBytes),
		connect.WithCompression("gzip", newBoundedGzip(limit), newGzipCompressor),
		// Small messages cost more to compress than to send.
		connect.WithCompressMinBytes(1024),
	)
	for _, o := range jsonCodecOptions() {
		opts = append(opts, o)
	}
	return opts, nil
}

// withCORS answers browsers' preflight requests and adds the CORS headers for
// the server's own origin and origins.
func withCORS(h http.Handler, origins []string) http.Handler {
	return cors.New(cors.Options{
		AllowedOrigins:  origins,
		AllowOriginFunc: noOtherOrigin(origins),
		AllowedMethods:  connectcors.AllowedMethods(),
		AllowedHeaders:  append(connectcors.AllowedHeaders(), "Authorization", service.RequestIDHeader),
		ExposedHeaders:  append(connectcors.ExposedHeaders(), service.RequestIDHeader, "Retry-After"),
		MaxAge:          7200,
	}).Handler(h)
}

// NewHTTPServer returns an http.Server for h with Switchyard's limits and
// timeouts (see [HTTPLimits]; limits may adjust the defaults), speaking
// HTTP/1.1 and HTTP/2, with HTTP/2 also unencrypted (h2c) so gRPC clients need
// no TLS.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger, limits ...HTTPLimits) *http.Server {
	var l HTTPLimits
	if len(limits) > 0 {
		l = limits[0]
	}
	l = l.withDefaults()
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		Protocols:         protocols,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams: l.MaxConcurrentStreams,
			SendPingTimeout:      DefaultPingInterval,
			PingTimeout:          DefaultPingTimeout,
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// restJSON lets the REST routes take JSON bodies sent without a JSON content type
// (curl's -d sends application/x-www-form-urlencoded): they accept nothing else.
func restJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if r.ContentLength != 0 && (ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded")) {
			r.Header.Set("Content-Type", "application/json")
		}
		next.ServeHTTP(w, r)
	})
}

// noOtherOrigin is the CORS origin check for an empty origins list, which
// allows no other origin (rs/cors would read it as every origin); nil, so that
// the list decides, when origins are given.
func noOtherOrigin(origins []string) func(string) bool {
	if len(origins) > 0 {
		return nil
	}
	return func(string) bool { return false }
}
