package groupcommit

import (
	"context"
	"errors"
	"testing"
)

// TestQueueIsBounded fills the queue of requests waiting for a group while
// every committer is busy: the next request is refused, not queued.
func TestQueueIsBounded(t *testing.T) {
	t.Parallel()
	const pending = 64
	c := New(Bounds{MaxSize: 8, MaxInFlight: 2, MaxPending: pending}, func(context.Context, []int) error { return nil })
	c.inFlight = c.bounds.MaxInFlight // every committer busy: add starts none
	for i := range pending {
		if !c.add(&request[int]{ctx: context.Background(), item: i}) {
			t.Fatalf("request %d refused below the bound %d", i, pending)
		}
	}
	if err := c.Do(context.Background(), pending); !errors.Is(err, ErrFull) {
		t.Fatalf("request beyond %d waiting: %v, want ErrFull", pending, err)
	}
	if len(c.pending) != pending {
		t.Fatalf("%d requests waiting, want %d", len(c.pending), pending)
	}
}

// TestGroupShares commits requests queued while the committers were busy as
// groups of at most MaxSize, each caller getting its group's answer.
func TestGroupShares(t *testing.T) {
	t.Parallel()
	failed := errors.New("group failed")
	var groups [][]int
	c := New(Bounds{MaxSize: 3, MaxInFlight: 1, MaxPending: 10}, func(_ context.Context, items []int) error {
		groups = append(groups, items)
		if items[0] == 3 {
			return failed
		}
		return nil
	})
	c.inFlight = 1 // hold the queue until all five wait
	reqs := make([]*request[int], 5)
	for i := range reqs {
		reqs[i] = &request[int]{ctx: context.Background(), item: i, done: make(chan struct{})}
		c.add(reqs[i])
	}
	c.commitAll() // the committer the first add would have started
	if len(groups) != 2 || len(groups[0]) != 3 || len(groups[1]) != 2 {
		t.Fatalf("groups %v, want [[0 1 2] [3 4]]", groups)
	}
	for i, r := range reqs {
		want := error(nil)
		if i >= 3 {
			want = failed
		}
		if !errors.Is(r.err, want) {
			t.Errorf("request %d: %v, want %v", i, r.err, want)
		}
	}
	if c.inFlight != 0 {
		t.Errorf("%d committers in flight after the queue emptied, want 0", c.inFlight)
	}
}

// TestLeftCallersSkipped drops from a group the requests whose callers left
// before it committed: they get their context's error and are not written.
func TestLeftCallersSkipped(t *testing.T) {
	t.Parallel()
	var written []int
	c := New(Bounds{MaxSize: 10, MaxInFlight: 1, MaxPending: 10}, func(_ context.Context, items []int) error {
		written = append(written, items...)
		return nil
	})
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	left := &request[int]{ctx: gone, item: 1, done: make(chan struct{})}
	stayed := &request[int]{ctx: context.Background(), item: 2, done: make(chan struct{})}
	c.commitGroup([]*request[int]{left, stayed})
	if len(written) != 1 || written[0] != 2 {
		t.Fatalf("written %v, want [2]", written)
	}
	if !errors.Is(left.err, context.Canceled) || stayed.err != nil {
		t.Fatalf("left: %v, stayed: %v; want context.Canceled and nil", left.err, stayed.err)
	}
}
