package server

import (
	"cmp"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"connectrpc.com/connect"
)

// Limits on messages and connections. A request message is bounded after
// decompression as well as on the wire, so a small compressed body that inflates
// far beyond the limit (a zip bomb) is refused after at most the limit has been
// inflated, with the same resource_exhausted on every protocol.

// MaxResponseBytes bounds a response message: room for the largest task
// assignment (an input and 64 parent outputs of at most 512 KiB each) and for
// list pages, which stop early at the engine's page budget.
const MaxResponseBytes = 64 << 20

// Connection limits of [NewHTTPServer]. There is no read or write timeout for
// a whole request: a Listen or WatchRun stream lasts as long as it is needed.
const (
	// DefaultReadHeaderTimeout bounds how long a client may take to send a
	// request's headers (HTTP/1.1, and the first bytes of an h2c connection).
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout closes a keep-alive connection (HTTP/1.1) or an
	// HTTP/2 connection without open streams after this long.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultMaxConcurrentStreams bounds the open streams of one HTTP/2
	// connection; a client past it waits for a stream to end.
	DefaultMaxConcurrentStreams = 250
	// DefaultPingInterval is how long an HTTP/2 connection may be silent before
	// the server pings it; a peer that does not answer within PingTimeout is
	// disconnected, so dead clients do not hold streams open.
	DefaultPingInterval = time.Minute
	// DefaultPingTimeout is how long the server waits for a ping's answer.
	DefaultPingTimeout = 20 * time.Second
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 64 << 10
)

// HTTPLimits adjusts the connection limits of [NewHTTPServer]; a zero field
// keeps its default.
type HTTPLimits struct {
	// ReadHeaderTimeout overrides [DefaultReadHeaderTimeout].
	ReadHeaderTimeout time.Duration
	// IdleTimeout overrides [DefaultIdleTimeout].
	IdleTimeout time.Duration
	// MaxConcurrentStreams overrides [DefaultMaxConcurrentStreams].
	MaxConcurrentStreams int
}

// withDefaults fills in the zero (or negative) fields.
func (l HTTPLimits) withDefaults() HTTPLimits {
	l.ReadHeaderTimeout = cmp.Or(max(l.ReadHeaderTimeout, 0), DefaultReadHeaderTimeout)
	l.IdleTimeout = cmp.Or(max(l.IdleTimeout, 0), DefaultIdleTimeout)
	l.MaxConcurrentStreams = cmp.Or(max(l.MaxConcurrentStreams, 0), DefaultMaxConcurrentStreams)
	return l
}

// inflatedTooLarge is the error of a compressed request message that inflates
// beyond limit bytes.
func inflatedTooLarge(limit int64) error {
	return connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("message is larger than %d bytes after decompression", limit))
}

// boundedGzip is a gzip decompressor that fails once it has inflated more than
// limit bytes, instead of inflating the rest. Connect's own decompressor inflates
// an oversize message to its end to report its size.
type boundedGzip struct {
	gz    gzip.Reader
	limit int64
	n     int64
	ok    bool // gz was reset onto a valid gzip stream
	err   error
}

// newBoundedGzip returns a decompressor factory for messages of at most limit
// bytes.
func newBoundedGzip(limit int64) func() connect.Decompressor {
	return func() connect.Decompressor { return &boundedGzip{limit: limit} }
}

func (d *boundedGzip) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if !d.ok {
		return 0, errors.New("gzip: decompressor was not reset")
	}
	n, err := d.gz.Read(p)
	d.n += int64(n)
	if d.n > d.limit {
		d.err = inflatedTooLarge(d.limit)
		return n, d.err
	}
	return n, err
}

func (d *boundedGzip) Close() error {
	if !d.ok {
		return nil
	}
	return d.gz.Close()
}

func (d *boundedGzip) Reset(r io.Reader) error {
	d.n, d.err, d.ok = 0, nil, false
	if err := d.gz.Reset(r); err != nil {
		return err
	}
	d.ok = true
	return nil
}

// newGzipCompressor is Connect's gzip compressor.
func newGzipCompressor() connect.Compressor { return gzip.NewWriter(io.Discard) }

// restDecompress inflates gzip request bodies of the REST routes itself, within
// limit, and hands the transcoder plain bodies: the transcoder would inflate a
// body completely before measuring it. Other encodings are left to the
// transcoder, which refuses them.
func restDecompress(limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Encoding") != "gzip" || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		r.Header.Del("Content-Encoding")
		r.Header.Del("Content-Length")
		r.ContentLength = -1
		r.Body = &restGzipBody{src: r.Body, d: &boundedGzip{limit: limit}}
		next.ServeHTTP(w, r)
	})
}

// restGzipBody inflates a request body on first read.
type restGzipBody struct {
	src     io.ReadCloser
	d       *boundedGzip
	started bool
}

func (b *restGzipBody) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		if err := b.d.Reset(b.src); err != nil {
			b.d.err = connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("body is not valid gzip: %w", err))
			return 0, b.d.err
		}
	}
	n, err := b.d.Read(p)
	var ce *connect.Error
	var tooBig *http.MaxBytesError
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.As(err, &ce):
	case errors.As(err, &tooBig):
		err = connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("body is larger than %d bytes", tooBig.Limit))
	default:
		err = connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("body is not valid gzip: %w", err))
	}
	return n, err
}

func (b *restGzipBody) Close() error { return b.src.Close() }
