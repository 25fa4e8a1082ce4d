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
	fs := newFlagSet("workflows list", stderr)
	var cf clientFlags
	cf.register(fs)
	limit := fs.Int("limit", 0, "at most this many workflows (the server's default is 50, its maximum 500)")
	pageToken := fs.String("page-token", "", "the next page token a previous call printed")
	args, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if err := wantArgs(fs, args); err != nil {
		return err
	}
	c, err := cf.client()
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
