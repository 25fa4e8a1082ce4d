package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// rateLimitsCommand is `switchyard ratelimits put|list|get|delete`.
func rateLimitsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "ratelimits", "usage: switchyard ratelimits put NAME --max N --period D|list|get NAME|delete NAME [flags]", []subcommand{
		{"put", rateLimitsPutCommand}, {"list", rateLimitsListCommand}, {"get", rateLimitsGetCommand}, {"delete", rateLimitsDeleteCommand},
	}, args, stdout, stderr)
}

func rateLimitsPutCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("ratelimits put", stderr)
	maxUnits := fs.Int("max", 0, "units that may start per period, for each key (1 to 1000000)")
	period := fs.Duration("period", time.Second, "the sliding window, such as 1s or 1m (1ms to 24h)")
	args, c, err := cf.parse(fs, args, "NAME")
	if err != nil {
		return err
	}
	req := &switchyardv1.PutRateLimitRequest{RateLimit: &switchyardv1.NamedRateLimit{Name: args[0], Max: int32(*maxUnits), Period: durationpb.New(*period)}}
	res, err := message(c.RateLimits().PutRateLimit(ctx, connect.NewRequest(req)))
	return show(cf, stdout, res, err, func(res *switchyardv1.PutRateLimitResponse) error { return printRateLimits(stdout, res.GetRateLimit()) })
}

func rateLimitsListCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("ratelimits list", stderr)
	limit, pageToken := pageFlags(fs, "rate limits")
	_, c, err := cf.parse(fs, args)
	if err != nil {
		return err
	}
	res, err := message(c.RateLimits().ListRateLimits(ctx, connect.NewRequest(&switchyardv1.ListRateLimitsRequest{PageSize: int32(*limit), PageToken: *pageToken})))
	return showPage(cf, stdout, stderr, "rate limits", res, err, func(res *switchyardv1.ListRateLimitsResponse) error {
		return printRateLimits(stdout, res.GetRateLimits()...)
	})
}

func rateLimitsGetCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("ratelimits get", stderr)
	args, c, err := cf.parse(fs, args, "NAME")
	if err != nil {
		return err
	}
	res, err := message(c.RateLimits().GetRateLimit(ctx, connect.NewRequest(&switchyardv1.GetRateLimitRequest{Name: args[0]})))
	return show(cf, stdout, res, err, func(res *switchyardv1.GetRateLimitResponse) error { return printRateLimits(stdout, res.GetRateLimit()) })
}

func rateLimitsDeleteCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("ratelimits delete", stderr)
	args, c, err := cf.parse(fs, args, "NAME")
	if err != nil {
		return err
	}
	res, err := message(c.RateLimits().DeleteRateLimit(ctx, connect.NewRequest(&switchyardv1.DeleteRateLimitRequest{Name: args[0]})))
	return show(cf, stdout, res, err, func(*switchyardv1.DeleteRateLimitResponse) error {
		_, err := fmt.Fprintf(stdout, "deleted rate limit %s\n", args[0])
		return err
	})
}

// printRateLimits writes a table of limits, with the fill of each one's
// keys (the empty key is a static limit's one key, shown as -).
func printRateLimits(w io.Writer, limits ...*switchyardv1.NamedRateLimit) error {
	t := newTable(w, "NAME", "LIMIT", "KEY", "USED", "RESETS")
	for _, l := range limits {
		rate := fmt.Sprintf("%d per %s", l.GetMax(), l.GetPeriod().AsDuration())
		if len(l.GetKeys()) == 0 {
			t.row(l.GetName(), rate, "-", "0", "-")
		}
		for _, k := range l.GetKeys() {
			key := k.GetKey()
			if key == "" {
				key = "-"
			}
			t.row(l.GetName(), rate, key, fmt.Sprintf("%d/%d", k.GetUsed(), l.GetMax()), formatTime(k.GetResetsAt()))
		}
	}
	return t.flush()
}
