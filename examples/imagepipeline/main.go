// Command imagepipeline is a Switchyard worker for a four-task image pipeline:
//
//	        ┌─> resize ─┐
//	fetch ──┤           ├──> publish
//	        └─> tag ────┘
//
// It declares the workflow image-pipeline, which every image.uploaded event
// starts, runs its tasks until SIGINT or SIGTERM, and then shuts down
// gracefully: running tasks may finish and report. The tasks only pretend to
// work; each returns a small output derived from its input and its parents'.
//
// It reads SWITCHYARD_SERVER (default http://127.0.0.1:8080) and
// SWITCHYARD_TOKEN. Try it with a server started by `make run`:
//
//	SWITCHYARD_TOKEN=sy_... go run ./examples/imagepipeline
//	switchyard push image.uploaded --payload '{"url":"https://example.com/cat.png"}'
//	switchyard runs watch RUN_ID
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// pipeline is the workflow this worker declares and runs.
var pipeline = &switchyardv1.WorkflowSpec{
	Name:        "image-pipeline",
	Description: "Fetch an uploaded image, resize and tag it, then publish the result.",
	OnEvents:    []string{"image.uploaded"},
	Tasks: []*switchyardv1.TaskSpec{
		{Name: "fetch", Action: "image.fetch"},
		{Name: "resize", Action: "image.resize", Parents: []string{"fetch"}},
		{Name: "tag", Action: "image.tag", Parents: []string{"fetch"}},
		{Name: "publish", Action: "image.publish", Parents: []string{"resize", "tag"}},
	},
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error("imagepipeline stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	server := os.Getenv("SWITCHYARD_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	c := sdk.NewClient(server, sdk.WithToken(os.Getenv("SWITCHYARD_TOKEN")))
	hostname, _ := os.Hostname()
	w := sdk.NewWorker(c, sdk.WorkerConfig{
		Name:            "imagepipeline@" + hostname,
		Slots:           8,
		Labels:          map[string]string{"example": "imagepipeline"},
		ShutdownTimeout: 20 * time.Second,
		Logger:          log,
	})
	w.Workflow(pipeline)
	p := tasks{log: log}
	w.Handle("image.fetch", p.fetch)
	w.Handle("image.resize", p.resize)
	w.Handle("image.tag", p.tag)
	w.Handle("image.publish", p.publish)
	log.Info("imagepipeline starting", "server", server, "workflow", pipeline.GetName(), "trigger", "image.uploaded")
	return w.Run(ctx)
}

// tasks are the pipeline's TaskFuncs.
type tasks struct {
	log *slog.Logger
}

// fetch "downloads" the image at the event's url.
func (p tasks) fetch(ctx context.Context, t *sdk.Task) (map[string]any, error) {
	url, _ := t.Input["url"].(string)
	if url == "" {
		// No retry can fix the event's payload.
		return nil, sdk.Permanent(errors.New(`the event payload has no "url"`))
	}
	if err := work(ctx, 50*time.Millisecond); err != nil {
		return nil, err
	}
	p.log.Info("fetched image", "run_id", t.RunID, "url", url, "attempt", t.Attempt)
	return map[string]any{"url": url, "bytes": len(url) * 1024}, nil
}

// resize scales the fetched image to fit 1024 pixels.
func (p tasks) resize(ctx context.Context, t *sdk.Task) (map[string]any, error) {
	size, _ := t.ParentOutputs["fetch"]["bytes"].(float64)
	if err := work(ctx, 100*time.Millisecond); err != nil {
		return nil, err
	}
	width := min(1024, int(size)/10)
	p.log.Info("resized image", "run_id", t.RunID, "width", width)
	return map[string]any{"width": width, "height": width * 3 / 4}, nil
}

// tag labels the image from its file name.
func (p tasks) tag(ctx context.Context, t *sdk.Task) (map[string]any, error) {
	url, _ := t.ParentOutputs["fetch"]["url"].(string)
	if err := work(ctx, 80*time.Millisecond); err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(path.Base(url), path.Ext(url))
	tags := []string{"image", strings.TrimPrefix(path.Ext(url), ".")}
	for part := range strings.FieldsFuncSeq(name, func(r rune) bool { return r == '-' || r == '_' }) {
		tags = append(tags, strings.ToLower(part))
	}
	p.log.Info("tagged image", "run_id", t.RunID, "tags", tags)
	return map[string]any{"tags": tags}, nil
}

// publish combines what resize and tag produced.
func (p tasks) publish(ctx context.Context, t *sdk.Task) (map[string]any, error) {
	resized, tagged := t.ParentOutputs["resize"], t.ParentOutputs["tag"]
	if err := work(ctx, 30*time.Millisecond); err != nil {
		return nil, err
	}
	url, _ := t.Input["url"].(string)
	out := map[string]any{
		"source":    url,
		"width":     resized["width"],
		"height":    resized["height"],
		"tags":      tagged["tags"],
		"published": fmt.Sprintf("https://cdn.example.com/%s/%s", t.RunID, path.Base(url)),
	}
	p.log.Info("published image", "run_id", t.RunID, "at", out["published"])
	return out, nil
}

// work stands for real work of duration d, cut short when ctx ends.
func work(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
