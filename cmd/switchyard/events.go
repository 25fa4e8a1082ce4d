package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// Events are pushed with the top-level `switchyard push`; `switchyard events`
// reads and replays them.

// pushCmd is `switchyard push KEY`.
var pushCmd = newCommand("push KEY", "push an event and print it with the runs it started (-o json: the whole PushEventResponse)", func(fs *flag.FlagSet) action {
	var payload objectFlag
	fs.Var(&payload, "payload", "the event's payload: a JSON object")
	key := fs.String("idempotency-key", "", "makes the push safe to repeat: a repeat returns the original event")
	scope := fs.String("scope", "", "the event's scope, such as a customer or region")
	metadata := fs.String("metadata", "", "string metadata as k=v,k2=v2")
	priority := priorityFlag(fs)
	occurred := fs.String("occurred-at", "", "when the event happened (RFC 3339); now by default")
	return func(x *call) error {
		opts := withKey([]sdk.PushOption{sdk.WithScope(*scope), sdk.WithPriority(int32(*priority))}, *key)
		if *metadata != "" {
			md, err := parsePairs(*metadata)
			if err != nil {
				return fmt.Errorf("--metadata: %w", err)
			}
			opts = append(opts, sdk.WithMetadata(md))
		}
		if *occurred != "" {
			t, err := time.Parse(time.RFC3339Nano, *occurred)
			if err != nil {
				return fmt.Errorf("--occurred-at %q: want an RFC 3339 time such as 2030-01-02T15:04:05Z", *occurred)
			}
			opts = append(opts, sdk.WithOccurredAt(t))
		}
		res, err := x.c.Push(x.ctx, x.args[0], payload.m, opts...)
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.PushEventResponse) error {
			t := newTable(x.stdout)
			eventRows(t, res.GetEvent())
			t.row("DEDUPLICATED", fmt.Sprint(res.GetDeduplicated()))
			t.row("RUNS", strings.Join(res.GetRunIds(), ","))
			return t.flush()
		})
	}
})

// parsePairs parses "k=v,k2=v2".
func parsePairs(s string) (map[string]string, error) {
	m := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want key=value", part)
		}
		m[k] = v
	}
	return m, nil
}

var eventsListCmd = newCommand("events list", "list events, newest first (--key, --scope)", func(fs *flag.FlagSet) action {
	key := fs.String("key", "", "only events with this key")
	scope := fs.String("scope", "", "only events with this scope")
	limit, pageToken := pageFlags(fs, "events")
	return func(x *call) error {
		res, err := x.c.ListEvents(x.ctx, &switchyardv1.ListEventsRequest{Key: *key, Scope: *scope, PageSize: int32(*limit), PageToken: *pageToken})
		return showPage(x.f, x.stdout, x.stderr, "events", res, err, func(res *switchyardv1.ListEventsResponse) error {
			t := newTable(x.stdout, "ID", "KEY", "SCOPE", "RUNS", "CREATED")
			for _, e := range res.GetEvents() {
				t.row(e.GetId(), e.GetKey(), e.GetScope(), strings.Join(e.GetRunIds(), ","), formatTime(e.GetCreatedAt()))
			}
			return t.flush()
		})
	}
})

var eventsGetCmd = newCommand("events get ID", "show an event: its payload, metadata and the runs it started", func(*flag.FlagSet) action {
	return func(x *call) error {
		e, err := x.c.GetEvent(x.ctx, x.args[0])
		return show(x.f, x.stdout, e, err, func(e *switchyardv1.Event) error { return printEvent(x.stdout, e) })
	}
})

// eventsReplayCmd prints the runs the replay started and, when there are any,
// the triggers that matched but started no run.
var eventsReplayCmd = newCommand("events replay ID", "run an event through the current triggers again (--idempotency-key)", func(fs *flag.FlagSet) action {
	key := fs.String("idempotency-key", "", "makes the replay safe to repeat: a repeat prints the original runs")
	return func(x *call) error {
		res, err := x.c.ReplayEvent(x.ctx, x.args[0], withKey([]sdk.ReplayOption(nil), *key)...)
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.ReplayEventResponse) error { return printReplayEvent(x.stdout, res) })
	}
})

// eventRows adds an event's id, key, creation time and idempotency key to a
// two-column table.
func eventRows(t *table, e *switchyardv1.Event) {
	t.row("EVENT", e.GetId())
	t.row("KEY", e.GetKey())
	t.row("CREATED", formatTime(e.GetCreatedAt()))
	t.row("IDEMPOTENCY KEY", e.GetIdempotencyKey())
}

// printEvent prints every field of an event.
func printEvent(w io.Writer, e *switchyardv1.Event) error {
	payload, err := json.Marshal(e.GetPayload().AsMap())
	if err != nil {
		return err
	}
	t := newTable(w)
	eventRows(t, e)
	t.row("SCOPE", e.GetScope())
	t.row("PRIORITY", fmt.Sprint(e.GetPriority()))
	t.row("OCCURRED", formatTime(e.GetOccurredAt()))
	t.row("METADATA", formatMap(e.GetMetadata()))
	t.row("PAYLOAD", string(payload))
	t.row("RUNS", strings.Join(e.GetRunIds(), ","))
	return t.flush()
}

// printReplayEvent prints the runs an event's replay started and the triggers
// that matched but started no run.
func printReplayEvent(stdout io.Writer, res *switchyardv1.ReplayEventResponse) error {
	t := newTable(stdout)
	t.row("RUNS", strings.Join(res.GetRunIds(), ","))
	t.row("DEDUPLICATED", fmt.Sprint(res.GetDeduplicated()))
	if err := t.flush(); err != nil {
		return err
	}
	if len(res.GetSkippedTriggers()) == 0 {
		return nil
	}
	fmt.Fprintln(stdout)
	t = newTable(stdout, "SKIPPED WORKFLOW", "VERSION", "TRIGGER", "REASON")
	for _, s := range res.GetSkippedTriggers() {
		t.row(s.GetWorkflow(), fmt.Sprint(s.GetWorkflowVersion()), s.GetTrigger(), oneLine(s.GetReason()))
	}
	return t.flush()
}
