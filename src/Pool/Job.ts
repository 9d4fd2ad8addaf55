/**
 * One submitted task and the caller waiting for it, as the pool's slots see it. Settling is synchronous and
 * happens once: by the worker's answer, the deadline's timer, a pool error, or the caller leaving. A job
 * costs no fiber and no Deferred of its own: small tasks are dispatched by the tens of thousands a second,
 * and each of those cost more than the dispatch itself.
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
  readonly deadline: number
  readonly timeoutMs: number
  /** Settled jobs (answered, timed out, or left by their caller) are skipped; a running one recycles its worker. */
  readonly isSettled: () => boolean
  /** Completes once the job is settled, by anyone: a slot running it alone watches for its caller leaving. */
  readonly settled: Effect.Effect<void>
  /** Runs the job on its own; `idle` runs just before the caller is answered, so its slot is free by then. */
  readonly run: (worker: SerializedWorker<WorkerRequest>, remainingMs: number, idle: () => void) => Effect.Effect<Outcome>
  /** Before it joins a batch: false, having settled the job with a defect, when its input cannot be sent. */
  readonly admit: () => boolean
  /** Settles the job from its item of a batch's answer. */
  readonly resolve: (answer: BatchAnswer) => void
  readonly reject: (error: PoolError) => void
  /** The caller left: the job counts as settled, and nobody is answered. */
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
  const waiters = new Set<() => void>()
  const settle = (exit: Exit.Exit<A, E | PoolError> | undefined) => {
    if (settled) return
    settled = true
    if (exit !== undefined) answer(exit)
    for (const wake of waiters) wake()
  }
  const settledSignal = Effect.async<void>((resume) => {
    if (settled) return resume(Effect.void)
    const wake = () => resume(Effect.void)
    waiters.add(wake)
    return Effect.sync(() => waiters.delete(wake))
  })

  const run = (worker: SerializedWorker<WorkerRequest>, remainingMs: number, idle: () => void): Effect.Effect<Outcome> => {
    const attempt = task.run(worker).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(Math.max(0, remainingMs)),
        onTimeout: () => timedOut(options.timeoutMs)
      }),
      Effect.exit
    )
    const abandoned = Effect.as(settledSignal, "abandoned" as const)
    const job = Effect.raceFirst(attempt, abandoned).pipe(
      Effect.map((result): Outcome => {
        if (result === "abandoned") return "recycle"
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
    settled: settledSignal,
    run,
    admit,
    resolve: (batchAnswer) => settle(task.read(batchAnswer)),
    reject: (error) => settle(Exit.fail(error)),
    abandon: () => settle(undefined)
  }
}
