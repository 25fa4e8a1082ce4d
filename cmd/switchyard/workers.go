package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// workersCommand is `switchyard workers list`.
func workersCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("usage: switchyard workers list [flags]")
	}
	fs, cf := clientFlagSet("workers list", stderr)
	limit, pageToken := pageFlags(fs, "workers")
	args, c, err := cf.parse(fs, args[1:])
	if err != nil {
		return err
	}
	res, err := c.ListWorkers(ctx, &switchyardv1.ListWorkersRequest{PageSize: int32(*limit), PageToken: *pageToken})
	return showPage(cf, stdout, stderr, "workers", res, err, func(res *switchyardv1.ListWorkersResponse) error {
		t := newTable(stdout, "ID", "NAME", "STATUS", "SLOTS", "ACTIONS", "LABELS", "LAST HEARTBEAT")
		for _, w := range res.GetWorkers() {
			t.row(w.GetId(), w.GetName(), workerStatus(w.GetStatus()), fmt.Sprintf("%d/%d", w.GetSlotsInUse(), w.GetSlots()),
				strings.Join(w.GetActions(), ","), formatMap(w.GetLabels()), formatTime(w.GetLastHeartbeatAt()))
		}
		return t.flush()
	})
}
