package engine

import (
	"context"
	"slices"

	"github.com/switchyard/switchyard/internal/store"
)

// A GROUP_ROUND_ROBIN workflow has one concurrency group for all its runs
// (the group's key is empty; a run's own key is never empty): at most its
// MaxRuns runs are active at once, whatever their keys. A new run starts when
// there is room and nothing waits; otherwise it waits. When room frees, the
// waiting runs' keys take turns in key order, starting after the key admitted
// last (kept on the group's lock row), each key's oldest run first. So a key
// with 10,000 waiting runs gets one start per round, like a key with 10.

// roundRobinGroup is the key of a round-robin workflow's group.
const roundRobinGroup = ""

// roundRobinOrder orders waiting runs by turns: one run of each key per round,
// keys in order from the one after last, oldest first within a key.
func roundRobinOrder(waiting []*store.Run, last string) []*store.Run {
	byKey := map[string][]*store.Run{}
	var keys []string
	for _, r := range waiting {
		if byKey[r.ConcurrencyKey] == nil {
			keys = append(keys, r.ConcurrencyKey)
		}
		byKey[r.ConcurrencyKey] = append(byKey[r.ConcurrencyKey], r)
	}
	slices.Sort(keys)
	start, _ := slices.BinarySearch(keys, last)
	if start < len(keys) && keys[start] == last {
		start++
	}
	keys = append(keys[start:], keys[:start]...)
	out := make([]*store.Run, 0, len(waiting))
	for round := 0; len(out) < len(waiting); round++ {
		for _, k := range keys {
			if round < len(byKey[k]) {
				out = append(out, byKey[k][round])
			}
		}
	}
	return out
}

// admitRoundRobin starts waiting runs of a locked round-robin group while it
// has room, taking keys in turn, and records the key admitted last.
func (a *runAdmitter) admitRoundRobin(ctx context.Context, q store.Q, sig *signals, k store.ConcurrencyGroup, g *gate, waiting []*store.Run) error {
	last, err := q.ConcurrencyLastKey(ctx, k)
	if err != nil {
		return err
	}
	now, admitted := a.now(), ""
	for _, w := range roundRobinOrder(waiting, last) {
		if err := a.admitStored(ctx, q, sig, g, w, store.RunWaiting, now); err != nil {
			return err
		}
		if w.Status == store.RunWaiting {
			break // no room left
		}
		admitted = w.ConcurrencyKey
	}
	if admitted == "" {
		return nil
	}
	return q.ConcurrencySetLastKey(ctx, k, admitted)
}

// admittedInTurn records, for a round-robin group, the key of the last of
// the new runs that started at once: the next turn goes to the key after it.
func admittedInTurn(ctx context.Context, q store.Q, k store.ConcurrencyGroup, plans []*plannedRun) error {
	if k.Key != roundRobinGroup {
		return nil
	}
	last := ""
	for _, p := range plans {
		if p.run.Status == store.RunActive {
			last = p.run.ConcurrencyKey
		}
	}
	if last == "" {
		return nil
	}
	return q.ConcurrencySetLastKey(ctx, k, last)
}
