/**
 * What the pool itself can answer instead of a result. Each carries its HTTP status, so handlers pass them
 * through unchanged and clients get a typed body they can act on.
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Schema } from "effect"

/** The queue is full: try again later (`retryAfterSeconds` is also sent as `Retry-After`). */
export class Overloaded extends Schema.TaggedError<Overloaded>()(
  "Overloaded",
  { message: Schema.String, queued: Schema.Number, maxQueue: Schema.Number, retryAfterSeconds: Schema.Number },
  HttpApiSchema.annotations({ status: 503 })
) {}

/** The daemon is stopping and takes no new work; work that was queued but not started ends here too. */
export class ShuttingDown extends Schema.TaggedError<ShuttingDown>()(
  "ShuttingDown",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}

/**
 * The task did not finish within its deadline (`timeoutMs`): the caller's own, after which a running task
 * still finishes and its answer is dropped, or the server's, past which its worker is terminated and replaced.
 */
export class TaskTimeout extends Schema.TaggedError<TaskTimeout>()(
  "TaskTimeout",
  { message: Schema.String, timeoutMs: Schema.Number },
  HttpApiSchema.annotations({ status: 504 })
) {}

/** The worker thread died while running the task; the pool replaces it. */
export class WorkerCrashed extends Schema.TaggedError<WorkerCrashed>()(
  "WorkerCrashed",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 500 })
) {}

/** The one wording of a deadline passed, wherever the pool notices it (queued or running). */
export const timedOut = (timeoutMs: number) => new TaskTimeout({ message: `the task did not finish within ${timeoutMs} ms`, timeoutMs })

/** What a running task's caller gets when the pool is stopped under it. */
export const stoppedMidTask = () => new ShuttingDown({ message: "inferd stopped while this task ran" })

/** What a task running beside one that overran the server's deadline gets: their worker was stopped. */
export const stoppedWithOther = () =>
  new WorkerCrashed({ message: "the worker was stopped while running this task, because another task on it overran INFERD_TASK_TIMEOUT" })

export type PoolError = Overloaded | ShuttingDown | TaskTimeout | WorkerCrashed

/** What the caller of a task whose worker thread ended under it gets. */
export const crashed = (reason: string) => new WorkerCrashed({ message: `the worker thread died while running the task: ${reason}` })
