package engine

import (
	"context"
	"log/slog"
	"time"
)

// service is a part of the engine that works in the background: [Engine.Start]
// runs each in its own goroutine, and Run returns when ctx ends.
type service interface {
	Run(ctx context.Context)
}

// periodic is a service that runs a job every interval, and whenever its
// wake-up channel receives, until ctx ends. A failed job is logged and runs
// again at the next tick.
type periodic struct {
	name     string
	interval time.Duration
	wake     <-chan struct{} // nil: ticks only
	job      func(ctx context.Context) error
	log      *slog.Logger
}

// every returns a periodic service logging to the engine's logger.
func (e *Engine) every(name string, interval time.Duration, wake <-chan struct{}, job func(ctx context.Context) error) periodic {
	return periodic{name: name, interval: interval, wake: wake, job: job, log: e.log}
}

// Run runs the job on every tick and wake-up until ctx ends.
func (p periodic) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.wake:
		}
		if err := p.job(ctx); err != nil && ctx.Err() == nil {
			p.log.WarnContext(ctx, p.name, "error", err.Error())
		}
	}
}
