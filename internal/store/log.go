package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/uptrace/bun/driver/pgdriver"
)

var driverLogOnce sync.Once

// SetDriverLog sends the Postgres driver's own log lines (a dropped listener
// connection, a full notification buffer) to log at warn level, so that they
// take the server's level and format instead of going to stderr raw. The
// driver's logger is global: call this once per process, before [Open]; later
// calls change nothing.
func SetDriverLog(log *slog.Logger) {
	driverLogOnce.Do(func() { pgdriver.Logger = driverLog{log} })
}

type driverLog struct{ log *slog.Logger }

func (d driverLog) Printf(ctx context.Context, format string, v ...any) {
	d.log.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "pgdriver")
}
