package sdk

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// GetRun returns a run with its tasks.
func (c *Client) GetRun(ctx context.Context, id string) (*switchyardv1.Run, error) {
	res, err := invoke(ctx, c, "get run "+id, c.runs.GetRun, &switchyardv1.GetRunRequest{Id: id})
	return res.GetRun(), err
}

// ListRuns returns one page of runs, newest first, without their tasks; req may
// be nil for the first page without filters.
func (c *Client) ListRuns(ctx context.Context, req *switchyardv1.ListRunsRequest) (*switchyardv1.ListRunsResponse, error) {
	return invoke(ctx, c, "list runs", c.runs.ListRuns, req)
}

// CancelRun cancels a run that has not ended and returns it; an ended run is
// returned unchanged.
func (c *Client) CancelRun(ctx context.Context, id, reason string) (*switchyardv1.Run, error) {
	res, err := invoke(ctx, c, "cancel run "+id, c.runs.CancelRun, &switchyardv1.CancelRunRequest{Id: id, Reason: reason})
	return res.GetRun(), err
}

// RunEnded reports whether status is final: succeeded, failed, cancelled or
// skipped (by a trigger's rate limit).
func RunEnded(status switchyardv1.RunStatus) bool {
	switch status {
	case switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED,
		switchyardv1.RunStatus_RUN_STATUS_FAILED,
		switchyardv1.RunStatus_RUN_STATUS_CANCELLED,
		switchyardv1.RunStatus_RUN_STATUS_SKIPPED:
		return true
	}
	return false
}

// errStreamEnded stands for a watch stream that closed before the run ended
// (the server shut down, say); it is retried like `unavailable`.
var errStreamEnded = connect.NewError(connect.CodeUnavailable, errors.New("the stream ended before the run did"))

// WatchRun calls fn with the run's current state and then with its state after
// every change (keep-alives are skipped) until the run ends, and returns the
// last state. A stream that breaks is reopened under the client's
// [RetryPolicy] (attempts count from the last message received), so after a
// reconnect fn may see a state again. When fn returns an error, WatchRun stops
// and returns that error as it is.
func (c *Client) WatchRun(ctx context.Context, id string, fn func(*switchyardv1.Run) error) (*switchyardv1.Run, error) {
	var last *switchyardv1.Run
	for failures := 0; ; {
		received, err := c.watchOnce(ctx, id, func(r *switchyardv1.Run) error {
			last = r
			return fn(r)
		})
		var fnErr fnError
		switch {
		case errors.As(err, &fnErr):
			return last, fnErr.err
		case err == nil && last != nil && RunEnded(last.GetStatus()):
			return last, nil
		case err == nil:
			err = errStreamEnded
		}
		if received {
			failures = 0
		}
		failures++
		if !transient(ctx, err) || failures >= c.retry.MaxAttempts {
			return last, fmt.Errorf("watch run %s: %w", id, err)
		}
		if serr := sleep(ctx, c.retry.backoff(failures-1, err)); serr != nil {
			return last, fmt.Errorf("watch run %s: %w", id, errors.Join(err, serr))
		}
	}
}

// fnError carries the error of a WatchRun callback out of the stream loop.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// watchOnce opens one WatchRun stream and feeds fn until the run ends, the
// stream ends or fails, or fn fails. It reports whether any state arrived.
func (c *Client) watchOnce(ctx context.Context, id string, fn func(*switchyardv1.Run) error) (bool, error) {
	stream, err := c.runs.WatchRun(ctx, connect.NewRequest(&switchyardv1.WatchRunRequest{Id: id}))
	if err != nil {
		return false, err
	}
	defer stream.Close()
	received := false
	for stream.Receive() {
		msg := stream.Msg()
		if msg.GetKeepalive() || msg.GetRun() == nil {
			continue
		}
		received = true
		if err := fn(msg.GetRun()); err != nil {
			return received, fnError{err}
		}
		if RunEnded(msg.GetRun().GetStatus()) {
			return received, nil
		}
	}
	return received, stream.Err()
}

// ReplayRun starts a new run of a run that ended, with its workflow version,
// input, event, priority and concurrency key, and returns it: the whole run
// ([switchyardv1.ReplayMode_REPLAY_MODE_WHOLE], or the zero mode), or only the
// tasks that did not succeed ([switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED]:
// the others keep their outputs). The new run has trigger RUN_TRIGGER_REPLAY
// and replay_of id. A run that has not ended, or FROM_FAILED of a run that
// succeeded, is `failed_precondition`. The call is retried under the client's
// [RetryPolicy] with one idempotency key for all attempts, so it starts at most
// one run.
func (c *Client) ReplayRun(ctx context.Context, id string, mode switchyardv1.ReplayMode, opts ...ReplayOption) (*switchyardv1.ReplayRunResponse, error) {
	cfg := newReplayConfig(opts)
	req := &switchyardv1.ReplayRunRequest{Id: id, Mode: mode, IdempotencyKey: cfg.idempotencyKey}
	return invoke(ctx, c, "replay run "+id, c.runs.ReplayRun, req)
}
