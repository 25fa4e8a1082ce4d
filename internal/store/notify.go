package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// Notifications wake other server processes sharing a Postgres database: a
// [Notifier] sends signals (short strings that tell receivers to re-read some
// state) in batched NOTIFY statements, and every process receives them through
// its own Notifier's listener. On SQLite there is only one process, so the
// Notifier does nothing and in-process signals suffice.

// notifyChannel names the Postgres channel of one database and schema, so tests
// that share a database in different schemas do not hear each other.
func notifyChannel(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	schema := ""
	if err == nil {
		schema = u.Query().Get("search_path")
	}
	if schema == "" {
		return "switchyard"
	}
	sum := sha256.Sum256([]byte(schema))
	return "switchyard_" + hex.EncodeToString(sum[:6])
}

// Notify sends each payload to every process listening on this database, when
// the transaction commits, in one statement. Run on its own (by [Store.Read]),
// the statement is its own transaction, which commits without waiting for a
// flush to disk: a notifying transaction takes a transaction id and writes a
// commit record, and notifications are hints that a database crash may lose
// anyway.
func (q Q) Notify(ctx context.Context, payloads ...string) error {
	if !q.postgres() || len(payloads) == 0 {
		return nil
	}
	calls := make([]string, 0, len(payloads)+1)
	args := make([]any, 0, 2*len(payloads))
	if ctx.Value(autocommitKey{}) != nil {
		calls = append(calls, "set_config('synchronous_commit', 'off', true)")
	}
	for _, p := range payloads {
		calls = append(calls, "pg_notify(?, ?)")
		args = append(args, q.channel, p)
	}
	if _, err := q.db.ExecContext(ctx, "SELECT "+strings.Join(calls, ", "), args...); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// listenPing is how long the LISTEN connection may stay silent before the
// listener sends itself a notification to prove the connection still works. A
// notification from anyone proves it as well, so a busy server never pings and
// an idle one pings once per listenPing.
const listenPing = time.Minute

// Listen calls fn with each notification payload until ctx ends. It returns at
// once on SQLite, and with an error when the connection fails or does not
// hear its own ping within listenPing.
func (s *Store) Listen(ctx context.Context, fn func(payload string)) error {
	if !s.postgres {
		return nil
	}
	ln := pgdriver.NewListener(s.db)
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	if err := ln.Listen(ctx, s.channel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	pinged := false
	for {
		_, payload, err := ln.ReceiveTimeout(ctx, listenPing)
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			pinged = false
			if payload != "" { // "" is a ping
				fn(payload)
			}
			continue
		case !errors.As(err, &ne) || !ne.Timeout():
			return fmt.Errorf("listen: %w", err)
		case pinged:
			return errors.New("listen: the connection did not receive its own ping")
		}
		s.transactions.Add(1)
		if _, err := s.db.ExecContext(ctx, "SELECT pg_notify(?, '')", s.channel); err != nil && ctx.Err() == nil {
			return fmt.Errorf("listen: ping: %w", err)
		}
		pinged = true
	}
}

// Notification bounds.
const (
	// maxNotifyPayload stays below Postgres's 8000-byte notification payload
	// limit; a longer signal cannot be sent and is dropped.
	maxNotifyPayload = 7000
	// maxNotifyBatch bounds the signals one statement sends.
	maxNotifyBatch = 1000
	// notifyQueue bounds the signals waiting to be sent; more are dropped.
	notifyQueue = 10_000
)

// signalSeparator separates the signals that share a notification payload.
const signalSeparator = "\n"

// Notifier carries signals between the server processes sharing a Postgres database.
// It owns the NOTIFY batching and payload limit and the LISTEN connection; on SQLite it does nothing.
//
// Postgres serialises the commits of notifying transactions, so the signals of
// a write are sent after it committed, outside it: concurrent writes' signals
// share one statement, deduplicated. Receivers treat signals as hints and
// re-read state, so a signal lost in a crash or a full queue costs only a
// delay until their next poll.
type Notifier struct {
	store   *Store
	log     *slog.Logger
	receive func(signal string)
	in      chan string
}

// NewNotifier returns a notifier over s that calls receive with each signal
// another process sent. Call [Notifier.Run] to send and receive.
func (s *Store) NewNotifier(log *slog.Logger, receive func(signal string)) *Notifier {
	return &Notifier{store: s, log: log, receive: receive, in: make(chan string, notifyQueue)}
}

// Send queues signals for the other processes without waiting. A signal must
// not contain a newline; one longer than the payload limit is dropped, and so
// is any signal that finds the queue full.
func (n *Notifier) Send(signals ...string) {
	if !n.store.postgres {
		return
	}
	for _, s := range signals {
		if len(s) > maxNotifyPayload || strings.Contains(s, signalSeparator) {
			n.log.Warn("signal not sent to other servers: too long or has a newline", "bytes", len(s))
			continue
		}
		select {
		case n.in <- s:
		default:
			// The queue is full: the other processes' polls will catch up.
		}
	}
}

// Run sends queued signals and receives those of other processes until ctx
// ends; it returns at once on SQLite.
func (n *Notifier) Run(ctx context.Context) {
	if !n.store.postgres {
		return
	}
	go n.listen(ctx)
	for {
		var first string
		select {
		case <-ctx.Done():
			return
		case first = <-n.in:
		}
		err := n.store.Read(ctx, func(ctx context.Context, q Q) error { return q.Notify(ctx, n.payloads(first)...) })
		if err != nil && ctx.Err() == nil {
			n.log.WarnContext(ctx, "notify other servers", "error", err.Error())
		}
	}
}

// payloads takes first and whatever else is queued, deduplicated, and packs
// them into payloads under the size limit.
func (n *Notifier) payloads(first string) []string {
	seen := map[string]bool{first: true}
	batch := []string{first}
drain:
	for len(batch) < maxNotifyBatch {
		select {
		case s := <-n.in:
			if !seen[s] {
				seen[s] = true
				batch = append(batch, s)
			}
		default:
			break drain
		}
	}
	var payloads []string
	var cur strings.Builder
	for _, s := range batch {
		if cur.Len() > 0 && cur.Len()+len(signalSeparator)+len(s) > maxNotifyPayload {
			payloads = append(payloads, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteString(signalSeparator)
		}
		cur.WriteString(s)
	}
	return append(payloads, cur.String())
}

// listen hands each signal other processes send to receive until ctx ends,
// listening again a second after the connection fails.
func (n *Notifier) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := n.store.Listen(ctx, func(payload string) {
			for s := range strings.SplitSeq(payload, signalSeparator) {
				n.receive(s)
			}
		})
		if err == nil || ctx.Err() != nil {
			return
		}
		n.log.WarnContext(ctx, "notification listener failed; retrying", "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
