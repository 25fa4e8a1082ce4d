/**
 * The Switchyard TypeScript SDK.
 *
 * - {@link SwitchyardClient}: push events, run and watch workflows, admin,
 *   over any Connect transport (Connect, gRPC, gRPC-Web), retried as the Go
 *   SDK retries.
 * - {@link Worker}: runs the tasks of the actions it handles (Node, or any
 *   runtime with a streaming transport).
 * - A task's durable methods (`task.step`, `task.sleep`, `task.waitForEvent`,
 *   `task.spawnChildren`, ...): steps recorded once, waits that free the slot.
 * - `@switchyard/sdk/node`: `createNodeTransport` for Node.
 * - `@switchyard/sdk/gen/<file>_pb`: the generated messages and services.
 *
 * @packageDocumentation
 */
export * from "./client.js";
export * from "./errors.js";
export * from "./retry.js";
export * from "./worker.js";
export * from "./durable.js";
/** The generated run types the client's methods return (a run's task is `RunTask`). */
export { RunStatus, TaskStatus, ReplayMode, type Run, type Task as RunTask } from "./gen/switchyard/v1/run_pb.js";
/** The generated workflow types a worker declares. */
export type { WorkflowSpec, TaskSpec } from "./gen/switchyard/v1/workflow_pb.js";
