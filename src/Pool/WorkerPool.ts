/**
 * WorkerPool: a fixed set of worker threads (the platform's serialized Worker on worker_threads), fed from one
 * TaskQueue by one dispatcher fiber per slot. Each slot owns its thread: it starts and warms it, replaces it
 * when it dies or overruns a deadline (terminating it, since CPU-bound work cannot be interrupted from outside),
 * and backs off when it cannot start. Built on `Worker.makeSerialized` per slot rather than the platform's
 * Pool, whose construction hangs on a worker that never starts and whose shutdown is sequential
 * (research/effect-platform.md §1, §4).
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Fiber, Layer, Option, Predicate, Tracer } from "effect"
import { Metrics } from "../Layers/Metrics.js"
import { Overloaded, type PoolError, ShuttingDown, timedOut } from "./PoolErrors.js"
import * as Batching from "./Batching.js"
import * as Job from "./Job.js"
import * as TaskQueue from "./TaskQueue.js"
import * as PoolOptions from "./PoolOptions.js"
import * as WorkerSlot from "./WorkerSlot.js"

export interface SubmitOptions {
  /** HTTP requests are `interactive` (the default) and go ahead of `background` loop work. */
  readonly priority?: TaskQueue.Priority
  /**
   * The caller's deadline from submission, queueing included, capped by the pool's `taskTimeout`. Past it the
   * caller gets TaskTimeout; a task already running finishes on its worker, whose answer is dropped. Only a
   * task that overruns `taskTimeout` itself has its worker stopped and replaced.
   */
  readonly timeout?: Duration.DurationInput
  /** Bytes of input this task holds until it ends; they count against `maxBytes`. */
  readonly bytes?: number
}

export interface PoolStats {
  readonly size: number
  readonly ready: number
  readonly busy: number
  readonly queued: number
  readonly restarts: number
  readonly threads: number
  readonly lastStartError: string | null
}

export interface WorkerPoolService {
  /** Queues a task (see Tasks.ts) and waits for its result, its typed failure or a pool error. */
  readonly submit: <A, E>(task: Job.Task<A, E>, options?: SubmitOptions) => Effect.Effect<A, E | PoolError>
  readonly stats: Effect.Effect<PoolStats>
  /** Stops taking tasks, lets running ones finish within the grace period, then stops every thread. */
  readonly drain: Effect.Effect<void>
}

export class WorkerPool extends Context.Tag("inferd/WorkerPool")<WorkerPool, WorkerPoolService>() {}

export const make = (options: PoolOptions.PoolOptions) =>
  Effect.gen(function*() {
    const queue = yield* TaskQueue.make<Job.Job>()
    // Plain state: submit settles a job without forking or waiting, and all of it runs on the one JS thread.
    let draining = false
    let heldBytes = 0
    const metrics = yield* Effect.serviceOption(Metrics)
    const batching = Batching.make()
    const slots = yield* WorkerSlot.makeGroup(options, {
      ...batching,
      record: (kinds, elapsedMs) => {
        batching.record(kinds, elapsedMs)
        Option.map(metrics, (m) => m.poolMessageTasks.observe(kinds.length))
      }
    })
    const fibers = yield* Effect.forEach(slots.all, (slot) => Effect.forkDaemon(slot.run(queue)))

    /** Latency and outcome of every task, by kind: `ok`, or the tag of the error it ended with. */
    const observe = (kind: string, startMs: number) => (exit: Exit.Exit<unknown, unknown>) =>
      Option.match(metrics, {
        onNone: () => Effect.void,
        onSome: (m) =>
          Effect.map(Clock.currentTimeMillis, (endMs) => {
            const failure = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
            const outcome = exit._tag === "Success" ? "ok" : Predicate.hasProperty(failure, "_tag") ? String(failure._tag) : "defect"
            m.taskDuration.observe({ kind, outcome }, (endMs - startMs) / 1000)
            if (outcome !== "ok") m.taskFailures.inc({ kind, error: outcome })
            if (outcome === "TaskTimeout") m.poolTimeouts.inc()
          })
      })

    const taskTimeoutMs = Duration.toMillis(options.taskTimeout)
    const callerTimeoutMs = (submitOptions?: SubmitOptions) =>
      Math.min(taskTimeoutMs, submitOptions?.timeout === undefined ? Infinity : Duration.toMillis(submitOptions.timeout))

    const submit = <A, E>(task: Job.Task<A, E>, submitOptions?: SubmitOptions) =>
      Effect.flatMap(Clock.currentTimeMillis, (startMs) => Effect.onExit(enqueue(task, startMs, submitOptions), observe(task.kind, startMs)))

    // Not `Effect.currentSpan`: outside a span it fails with an exception whose stack trace costs more than
    // dispatching a small task.
    const enqueue = <A, E>(task: Job.Task<A, E>, now: number, submitOptions?: SubmitOptions) =>
      Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (parent) =>
        Effect.async<A, E | PoolError>((resume) => {
          if (draining) return resume(Effect.fail(new ShuttingDown({ message: "inferd is shutting down and takes no new tasks" })))
          const bytes = submitOptions?.bytes ?? 0
          if (heldBytes + bytes > (options.maxBytes ?? Infinity) && heldBytes > 0) {
            return resume(Effect.fail(overloaded(`queued inputs are over the memory budget of ${options.maxBytes} bytes (INFERD_MAX_QUEUED_BYTES); retry later`)))
          }
          const callerMs = callerTimeoutMs(submitOptions)
          // The caller's deadline is a plain timer that answers it, rather than a timeout around the wait,
          // which would fork two fibers per task. A queued job it settles never runs; a running one finishes
          // and its answer is dropped: a client's own short deadline must not cost a worker. Only the
          // server's deadline, which the slot enforces, stops a worker.
          const timer = setTimeout(() => {
            queue.unsafeRemove(job)
            job.reject(timedOut(callerMs))
          }, callerMs)
          const release = () => {
            clearTimeout(timer)
            heldBytes -= bytes
          }
          const job = Job.make(task, { parent, deadline: now + taskTimeoutMs, timeoutMs: taskTimeoutMs }, (exit) => {
            release()
            resume(exit)
          })
          heldBytes += bytes
          if (!queue.unsafeOffer(job, submitOptions?.priority ?? "interactive", options.maxQueue)) {
            job.abandon()
            release()
            return resume(Effect.fail(overloaded(`the task queue is full (${options.maxQueue} waiting); retry later`)))
          }
          // A caller that leaves (client disconnect) cancels the job: queued, it never runs; running, it
          // finishes on its worker and nobody is answered.
          return Effect.sync(() => {
            if (job.isSettled()) return
            release()
            queue.unsafeRemove(job)
            job.abandon()
          })
        }))

    const overloaded = (message: string) =>
      new Overloaded({ message, queued: queue.unsafeSize(), maxQueue: options.maxQueue, retryAfterSeconds: 1 })

    const stats = Effect.gen(function*() {
      const slotStats = yield* slots.stats
      return { ...slotStats, size: options.size, queued: yield* queue.size }
    })

    // Tasks already accepted, queued ones included, run on within the grace period: their callers are still
    // waiting (a load balancer stops sending new work once readiness turns 503, not before). What is left at
    // its end is refused or stopped.
    const queueEmpty = Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => queue.unsafeSize() === 0 }))

    const drain = Effect.gen(function*() {
      if (draining) return
      draining = true
      // Finalizers run uninterruptibly, where a timeout could not cut the wait short.
      const idle = yield* Effect.zipRight(queueEmpty, slots.awaitIdle).pipe(Effect.interruptible, Effect.timeout(options.shutdownGrace), Effect.option)
      const waiting = yield* queue.clear
      for (const job of waiting) job.reject(new ShuttingDown({ message: "inferd stopped before this task started (INFERD_SHUTDOWN_GRACE ran out)" }))
      if (Option.isNone(idle)) yield* Effect.logWarning("shutdown grace period over: stopping busy workers")
      yield* Fiber.interruptAll(fibers)
      yield* slots.terminateAll
      yield* Effect.logInfo("worker pool stopped")
    })

    yield* Effect.addFinalizer(() => drain)
    yield* Effect.logInfo(`worker pool starting ${options.size} workers`)
    return WorkerPool.of({ submit, stats, drain })
  })

export const layer = Layer.scoped(WorkerPool, Effect.flatMap(PoolOptions.config, make))
