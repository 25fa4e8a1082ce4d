// Package groupcommit shares one transaction among requests that arrive while others commit.
// It owns the queue of waiting requests, the bound on transactions in flight and abandoning a group its callers left.
package groupcommit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrFull refuses a request while [Bounds.MaxPending] requests wait already.
var ErrFull = errors.New("too many requests are waiting for the database")

// Bounds limit a [Committer].
type Bounds struct {
	MaxSize     int // requests in one transaction
	MaxInFlight int // transactions committing at once
	MaxPending  int // requests waiting; more are refused with ErrFull
}

// Committer commits requests of type T in groups: a request that arrives while
// [Bounds.MaxInFlight] groups commit waits, and joins the next group with
// every request that arrived meanwhile.
type Committer[T any] struct {
	bounds Bounds
	commit func(ctx context.Context, items []T) error

	mu       sync.Mutex
	pending  []*request[T]
	inFlight int
}

// request is one caller's item waiting for its group.
type request[T any] struct {
	ctx  context.Context
	item T
	err  error
	done chan struct{}
}

// New returns a committer that writes each group with commit, which must write
// all of its items in one transaction (or none of them). Its context ends when
// every caller in the group has gone.
func New[T any](b Bounds, commit func(ctx context.Context, items []T) error) *Committer[T] {
	return &Committer[T]{bounds: b, commit: commit}
}

// Do queues item for the next group and waits until the group committed (nil)
// or failed (its error), or until ctx ends (ctx.Err(): the group may still
// commit the item). A full queue is [ErrFull].
func (c *Committer[T]) Do(ctx context.Context, item T) error {
	r := &request[T]{ctx: ctx, item: item, done: make(chan struct{})}
	if !c.add(r) {
		return ErrFull
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// add queues r; false means the queue is full.
func (c *Committer[T]) add(r *request[T]) bool {
	c.mu.Lock()
	if len(c.pending) >= c.bounds.MaxPending {
		c.mu.Unlock()
		return false
	}
	c.pending = append(c.pending, r)
	start := c.inFlight < c.bounds.MaxInFlight
	if start {
		c.inFlight++
	}
	c.mu.Unlock()
	if start {
		go c.commitAll()
	}
	return true
}

// commitAll commits what is pending, group after group, until nothing is.
func (c *Committer[T]) commitAll() {
	for {
		c.mu.Lock()
		if len(c.pending) == 0 {
			c.inFlight--
			c.mu.Unlock()
			return
		}
		n := min(len(c.pending), c.bounds.MaxSize)
		group := c.pending[:n:n]
		c.pending = append([]*request[T](nil), c.pending[n:]...)
		c.mu.Unlock()
		c.commitGroup(group)
	}
}

// commitGroup writes a group in one transaction. The transaction is abandoned
// (rolled back) only when every caller in it has gone (deadline or cancel), so
// that a caller that gave up before anything was written leaves nothing behind.
func (c *Committer[T]) commitGroup(group []*request[T]) {
	var live []*request[T]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	remaining := int32(len(live))
	items := make([]T, len(live))
	for i, r := range live {
		items[i] = r.item
		stop := context.AfterFunc(r.ctx, func() {
			if atomic.AddInt32(&remaining, -1) == 0 {
				cancel()
			}
		})
		defer stop()
	}
	err := c.commit(ctx, items)
	for _, r := range live {
		r.err = err
		close(r.done)
	}
}
