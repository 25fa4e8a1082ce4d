package engine

import (
	"context"
	"testing"
)

// TestGroupCommitQueueIsBounded fills the queue of pushes waiting for a group
// while every committer is busy: the next push is refused, not queued.
func TestGroupCommitQueueIsBounded(t *testing.T) {
	t.Parallel()
	var g groupCommit
	g.inFlight = maxGroupsInFlight // every committer busy: add starts none
	for i := range maxGroupPending {
		if !g.add(nil, &pushItem{ctx: context.Background()}) {
			t.Fatalf("push %d refused below the bound %d", i, maxGroupPending)
		}
	}
	if g.add(nil, &pushItem{ctx: context.Background()}) {
		t.Fatalf("push beyond %d waiting was queued", maxGroupPending)
	}
	if len(g.pending) != maxGroupPending {
		t.Fatalf("%d pushes waiting, want %d", len(g.pending), maxGroupPending)
	}
}
