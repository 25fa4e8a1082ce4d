package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// rpcBuckets spans a cached read (sub-millisecond) to a slow bulk push.
var rpcBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

type rpcMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newRPCMetrics(reg prometheus.Registerer) *rpcMetrics {
	m := &rpcMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "rpc_requests_total",
			Help:      "RPCs handled, by procedure, protocol (connect, grpc, grpcweb, rest) and Connect code (ok on success).",
		}, []string{"procedure", "protocol", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "rpc_duration_seconds",
			Help:      "Time to handle an RPC (for server streams, the stream's lifetime), by procedure and protocol.",
			Buckets:   rpcBuckets,
		}, []string{"procedure", "protocol"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// ObserveRPC records one handled call: its procedure (such as
// "/switchyard.v1.EventService/PushEvent"), protocol, Connect code ("ok" on
// success) and how long it took.
func (m *Metrics) ObserveRPC(procedure, protocol, code string, took time.Duration) {
	m.rpc.requests.WithLabelValues(procedure, protocol, code).Inc()
	m.rpc.duration.WithLabelValues(procedure, protocol).Observe(took.Seconds())
}
