/**
 * What the pool itself can answer instead of a result. Each carries its HTTP status, so handlers pass them
 * through unchanged and clients get a typed body they can act on.
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { WorkerError } from "@effect/platform/WorkerError"
import { Effect, ParseResult, Schema } from "effect"

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

/** The task did not finish within its deadline; the worker running it was terminated and replaced. */
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

/** The one wording of a deadline passed, wherever the pool notices it (queued, running alone, in a batch). */
export const timedOut = (timeoutMs: number) => new TaskTimeout({ message: `the task did not finish within ${timeoutMs} ms`, timeoutMs })

/** What a running task's caller gets when the pool is stopped under it. */
export const stoppedMidTask = () => new ShuttingDown({ message: "inferd stopped while this task ran" })

export type PoolError = Overloaded | ShuttingDown | TaskTimeout | WorkerCrashed

/**
 * A platform `WorkerError` means the thread died: the caller sees WorkerCrashed. Callers pass failures that
 * are not ParseErrors (`settle` turns those into defects first; decoded failures never are one).
 */
export const ours = <E>(error: E): Exclude<E, WorkerError | ParseResult.ParseError> | WorkerCrashed =>
  error instanceof WorkerError
    ? new WorkerCrashed({ message: `the worker thread died while running the task: ${error.message}` })
    : error as Exclude<E, WorkerError | ParseResult.ParseError>

/**
 * Turns the platform's failures into ours: a dead thread (WorkerError) is WorkerCrashed, and a ParseError
 * means both sides disagree on the protocol, a defect.
 */
export const settle = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, Exclude<E, WorkerError | ParseResult.ParseError> | WorkerCrashed> =>
  Effect.catchAll(effect, (error) => ParseResult.isParseError(error) ? Effect.die(error) : Effect.fail(ours(error)))
