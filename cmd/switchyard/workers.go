package main

import (
	"flag"
	"fmt"
	"strings"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

var workersListCmd = newCommand("workers list", "list workers: their actions, free slots and last heartbeat", func(fs *flag.FlagSet) action {
	limit, pageToken := pageFlags(fs, "workers")
	return func(x *call) error {
		res, err := x.c.ListWorkers(x.ctx, &switchyardv1.ListWorkersRequest{PageSize: int32(*limit), PageToken: *pageToken})
		return showPage(x.f, x.stdout, x.stderr, "workers", res, err, func(res *switchyardv1.ListWorkersResponse) error {
			t := newTable(x.stdout, "ID", "NAME", "STATUS", "SLOTS", "ACTIONS", "LABELS", "LAST HEARTBEAT")
			for _, w := range res.GetWorkers() {
				t.row(w.GetId(), w.GetName(), workerStatus(w.GetStatus()), fmt.Sprintf("%d/%d", w.GetSlotsInUse(), w.GetSlots()),
					strings.Join(w.GetActions(), ","), formatMap(w.GetLabels()), formatTime(w.GetLastHeartbeatAt()))
			}
			return t.flush()
		})
	}
})
