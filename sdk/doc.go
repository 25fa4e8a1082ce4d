// Package sdk is the Go client and worker for Switchyard.
//
// A [Client] calls every Switchyard service over gRPC (the default), Connect or
// gRPC-Web, with a bearer token and automatic retries: calls that fail with
// `unavailable` or `resource_exhausted` are retried with exponential backoff and
// full jitter (see [RetryPolicy]). Writes that accept an idempotency key
// ([Client.Push], [Client.PushBulk], [Client.RunWorkflow], [Client.ReplayEvent],
// [Client.ReplayRun]) get one generated before the first attempt when the caller
// gave none ([WithIdempotencyKey] gives one), so a retry never stores anything
// twice.
//
// A [Worker] runs tasks: it declares its workflows, registers the actions it
// handles with [Worker.Handle], holds a Listen stream open, runs each assigned
// attempt in its own goroutine (never more than [WorkerConfig.Slots] at once),
// heartbeats, reports each result, reconnects when the stream breaks and shuts
// down gracefully when the context given to [Worker.Run] ends. A result is kept
// until a server acknowledges it: its report is sent again after any failure
// of the connection or the server (not only `unavailable`), with backoff, until
// the attempt's deadline, and at once when the stream reconnects; the slot is
// free as soon as the [TaskFunc] returns. Errors returned
// by a [TaskFunc] are retried by the server while the task's retry policy allows;
// wrap an error with [Permanent] to fail the task at once.
//
// A task can be durable: through its [Task] it records named steps once
// ([Task.Step], [StepOf]), sleeps ([Task.Sleep], [Task.SleepUntil]), waits
// for events, with a lookback over events already stored
// ([Task.WaitForEvent], [Task.WaitAny], [Task.WaitAll]), and spawns child runs
// once and waits for them ([Task.SpawnChildren], [Task.WaitChildren]). A wait
// that is not over suspends the attempt ([ErrSuspended]): the worker frees
// its slot and reports nothing, and the server assigns the task again, to any
// worker, when the wait is over; it runs from the top and its recorded steps
// are not done again.
//
// Both trace with OpenTelemetry, through the program's global tracer provider
// and propagator unless [WithTracerProvider] and [WithPropagator] name others:
// calls carry the caller's trace context to the server, and each attempt runs
// in a [SpanTaskRun] span, a child of the server's span that assigned it, so
// that one trace follows an event to every task it causes.
//
// Payloads, inputs and outputs are JSON objects: map[string]any values that
// encoding/json can encode. Numbers read back from the server are float64, as
// with encoding/json.
package sdk
