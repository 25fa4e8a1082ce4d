package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// pushCommand is `switchyard push KEY --payload JSON ...`.
func pushCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("push", stderr)
	payload := fs.String("payload", "{}", "the event's payload: a JSON object")
	key := fs.String("idempotency-key", "", "makes the push safe to repeat: a repeat returns the original event")
	scope := fs.String("scope", "", "the event's scope, such as a customer or region")
	metadata := fs.String("metadata", "", "string metadata as k=v,k2=v2")
	priority := priorityFlag(fs)
	occurred := fs.String("occurred-at", "", "when the event happened (RFC 3339); now by default")
	args, c, err := cf.parse(fs, args, "KEY")
	if err != nil {
		return err
	}

	body, err := parseObject("payload", *payload)
	if err != nil {
		return err
	}
	opts := []sdk.PushOption{sdk.WithScope(*scope), sdk.WithPriority(int32(*priority))}
	if *key != "" {
		opts = append(opts, sdk.WithIdempotencyKey(*key))
	}
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
			return fmt.Errorf("--occurred-at: %w", err)
		}
		opts = append(opts, sdk.WithOccurredAt(t))
	}

	res, err := c.Push(ctx, args[0], body, opts...)
	return show(cf, stdout, res, err, func(res *switchyardv1.PushEventResponse) error {
		t := newTable(stdout)
		t.row("EVENT", res.GetEvent().GetId())
		t.row("KEY", res.GetEvent().GetKey())
		t.row("CREATED", formatTime(res.GetEvent().GetCreatedAt()))
		t.row("IDEMPOTENCY KEY", res.GetEvent().GetIdempotencyKey())
		t.row("DEDUPLICATED", fmt.Sprint(res.GetDeduplicated()))
		t.row("RUNS", strings.Join(res.GetRunIds(), ","))
		return t.flush()
	})
}

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
