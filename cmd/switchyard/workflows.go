package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// workflowsCommand is `switchyard workflows list`.
func workflowsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("usage: switchyard workflows list [flags]")
	}
	fs, cf := clientFlagSet("workflows list", stderr)
	limit, pageToken := pageFlags(fs, "workflows")
	args, c, err := cf.parse(fs, args[1:])
	if err != nil {
		return err
	}
	res, err := c.ListWorkflows(ctx, &switchyardv1.ListWorkflowsRequest{PageSize: int32(*limit), PageToken: *pageToken})
	if err != nil {
		return explain(err)
	}
	if cf.json() {
		return printJSON(stdout, res)
	}
	t := newTable(stdout, "NAME", "VERSION", "TASKS", "ON EVENTS", "CREATED")
	for _, w := range res.GetWorkflows() {
		t.row(w.GetSpec().GetName(), fmt.Sprint(w.GetVersion()), fmt.Sprint(len(w.GetSpec().GetTasks())),
			strings.Join(w.GetSpec().GetOnEvents(), ","), formatTime(w.GetCreatedAt()))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if res.GetNextPageToken() != "" {
		fmt.Fprintf(stderr, "more workflows: --page-token %s\n", res.GetNextPageToken())
	}
	return nil
}
