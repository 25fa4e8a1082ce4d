package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

var rateLimitsPutCmd = newCommand("ratelimits put NAME", "declare or change a rate limit that tasks consume from (--max N --period 1s)", func(fs *flag.FlagSet) action {
	maxUnits := fs.Int("max", 0, "units that may start per period, for each key (1 to 1000000)")
	period := fs.Duration("period", time.Second, "the sliding window, such as 1s or 1m (1ms to 24h)")
	return func(x *call) error {
		req := &switchyardv1.PutRateLimitRequest{RateLimit: &switchyardv1.NamedRateLimit{Name: x.args[0], Max: int32(*maxUnits), Period: durationpb.New(*period)}}
		res, err := message(x.c.RateLimits().PutRateLimit(x.ctx, connect.NewRequest(req)))
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.PutRateLimitResponse) error {
			return printRateLimits(x.stdout, res.GetRateLimit())
		})
	}
})

var rateLimitsListCmd = newCommand("ratelimits list", "list rate limits with the fill of their keys", func(fs *flag.FlagSet) action {
	limit, pageToken := pageFlags(fs, "rate limits")
	return func(x *call) error {
		req := &switchyardv1.ListRateLimitsRequest{PageSize: int32(*limit), PageToken: *pageToken}
		res, err := message(x.c.RateLimits().ListRateLimits(x.ctx, connect.NewRequest(req)))
		return showPage(x.f, x.stdout, x.stderr, "rate limits", res, err, func(res *switchyardv1.ListRateLimitsResponse) error {
			return printRateLimits(x.stdout, res.GetRateLimits()...)
		})
	}
})

var rateLimitsGetCmd = newCommand("ratelimits get NAME", "show a rate limit and the fill of its keys", func(*flag.FlagSet) action {
	return func(x *call) error {
		res, err := message(x.c.RateLimits().GetRateLimit(x.ctx, connect.NewRequest(&switchyardv1.GetRateLimitRequest{Name: x.args[0]})))
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.GetRateLimitResponse) error {
			return printRateLimits(x.stdout, res.GetRateLimit())
		})
	}
})

var rateLimitsDeleteCmd = newCommand("ratelimits delete NAME", "remove a rate limit: the tasks that name it are no longer held back by it", func(*flag.FlagSet) action {
	return func(x *call) error {
		res, err := message(x.c.RateLimits().DeleteRateLimit(x.ctx, connect.NewRequest(&switchyardv1.DeleteRateLimitRequest{Name: x.args[0]})))
		return show(x.f, x.stdout, res, err, func(*switchyardv1.DeleteRateLimitResponse) error {
			_, err := fmt.Fprintf(x.stdout, "deleted rate limit %s\n", x.args[0])
			return err
		})
	}
})

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
