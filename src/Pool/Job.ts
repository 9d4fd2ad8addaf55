/**
 * One submitted task and the caller waiting for it, as the pool's slots see it. Settling is synchronous and
 * happens once: by the worker's answer, the caller's deadline, a pool error, or the caller leaving. A caller
 * that stops waiting costs no worker: a queued job is skipped, a running one finishes and its answer is
 * dropped; only the server's own deadline (`deadline`) stops a worker. A job costs no fiber and no Deferred of
 * its own: small tasks are dispatched by the tens of thousands a second, and each of those cost more than the
 * dispatch itself.
 */
import type { SerializedWorker } from "@effect/platform/Worker"
import { Cause, Duration, Effect, Exit, Option, type Tracer } from "effect"
import { type PoolError, stoppedMidTask, TaskTimeout, timedOut, WorkerCrashed } from "./PoolErrors.js"
import type { BatchAnswer, BatchItem, TraceContext, WorkerRequest } from "../Workers/Protocol.js"

/** What a job did to its worker: `keep` it serving, or `recycle` it (dead, stuck or abandoned mid-task). */
export type Outcome = "keep" | "recycle"

/** What a caller hands the pool: a name for metrics, and the request its worker runs (see Tasks.ts). */
export interface Task<A, E> {
  readonly kind: string
  /** The request, as a Batch carries it among others. */
  readonly request: BatchItem
  /** A reason the request cannot be sent (its input already transferred), checked before it is. */
  readonly unsendable: () => string | undefined
  /** Sends the request on its own. */
  readonly run: (worker: SerializedWorker<WorkerRequest>) => Effect.Effect<A, E>
  /** This request's result out of its answer in a batch. */
  readonly read: (answer: BatchAnswer) => Exit.Exit<A, E>
}

export interface Job {
  readonly kind: string
  readonly request: BatchItem
  readonly trace: TraceContext | null
  /** When the server's own deadline (`INFERD_TASK_TIMEOUT` from submission) passes: past it the worker is stopped. */
  readonly deadline: number
  /** The server's deadline as a duration, for the TaskTimeout a worker stopped for overrunning it answers. */
  readonly timeoutMs: number
  /** Settled jobs (answered, past their caller's deadline, or left by their caller) are not started. */
  readonly isSettled: () => boolean
  /**
   * Runs the job on its own, until its answer or the server's deadline; `idle` runs just before the caller is
   * answered, so its slot is free by then.
   */
  readonly run: (worker: SerializedWorker<WorkerRequest>, remainingMs: number, idle: () => void) => Effect.Effect<Outcome>
  /** Before it joins a batch: false, having settled the job with a defect, when its input cannot be sent. */
  readonly admit: () => boolean
  /** Settles the job from its item of a batch's answer. */
  readonly resolve: (answer: BatchAnswer) => void
  readonly reject: (error: PoolError) => void
  /** The caller left: the job counts as settled, and nobody is answered; if it runs, its answer is dropped. */
  readonly abandon: () => void
}

export interface JobOptions {
  readonly parent: Option.Option<Tracer.AnySpan>
  readonly deadline: number
  readonly timeoutMs: number
}

/** `answer` receives the job's one settlement, unless the caller left first. */
export const make = <A, E>(task: Task<A, E>, options: JobOptions, answer: (exit: Exit.Exit<A, E | PoolError>) => void): Job => {
  let settled = false
  const settle = (exit: Exit.Exit<A, E | PoolError> | undefined) => {
    if (settled) return
    settled = true
    if (exit !== undefined) answer(exit)
  }

  const run = (worker: SerializedWorker<WorkerRequest>, remainingMs: number, idle: () => void): Effect.Effect<Outcome> => {
    const job = task.run(worker).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(Math.max(0, remainingMs)),
        onTimeout: () => timedOut(options.timeoutMs)
      }),
      Effect.exit,
      Effect.map((result): Outcome => {
        idle()
        settle(result)
        const failure = Exit.isFailure(result) ? Cause.failureOption(result.cause) : Option.none()
        return Option.isSome(failure) && (failure.value instanceof TaskTimeout || failure.value instanceof WorkerCrashed) ? "recycle" : "keep"
      }),
      Effect.onInterrupt(() => Effect.sync(() => settle(Exit.fail(stoppedMidTask()))))
    )
    // Slots run jobs on their own fibers: carry the caller's span over, so the worker's spans join its trace.
    return Option.match(options.parent, { onNone: () => job, onSome: (span) => Effect.withParentSpan(job, span) })
  }

  const admit = () => {
    const problem = task.unsendable()
    if (problem !== undefined) settle(Exit.die(new Error(problem)))
    return problem === undefined
  }

  return {
    kind: task.kind,
    request: task.request,
    trace: Option.match(options.parent, { onNone: () => null, onSome: (span) => [span.traceId, span.spanId, span.sampled] }),
    deadline: options.deadline,
    timeoutMs: options.timeoutMs,
    isSettled: () => settled,
    run,
    admit,
    resolve: (batchAnswer) => settle(task.read(batchAnswer)),
    reject: (error) => settle(Exit.fail(error)),
    abandon: () => settle(undefined)
  }
}
