/**
 * WorkerPool: a fixed set of worker threads, each owned by a slot (WorkerSlot.ts), fed from one TaskQueue.
 * A slot starts and warms its thread, replaces it when it dies or a task overruns the server's deadline
 * (terminating it, since CPU-bound work cannot be interrupted from outside), and backs off when it cannot
 * start. Not the platform's Worker pool: its construction waits forever on a worker that never starts, and
 * its shutdown closes workers one after another, up to 5 s each.
 *
 * Per task, the pool runs plain code (queue, dispatch, answer): a caller's fiber waits in one `Effect.async`
 * and nothing else is forked, which took sequential dispatch from 276 µs at p50 and 4 ms at p99 to the
 * figures in the README (bench/dispatch.mjs).
 */
import { Cause, Clock, Context, Deferred, Duration, Effect, Exit, Fiber, FiberId, FiberSet, Layer, Option, Predicate, Schema, Tracer } from "effect"
import { Metrics } from "../Layers/Metrics.js"
import { Overloaded, type PoolError, ShuttingDown, timedOut } from "./PoolErrors.js"
import * as PoolOptions from "./PoolOptions.js"
import * as Submission from "./Submission.js"
import type { Task } from "./Tasks.js"
import * as TaskQueue from "./TaskQueue.js"
import * as WorkerSlot from "./WorkerSlot.js"
import type { Answer } from "./WorkerThread.js"

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

/** The pool as `/status` shows it: the pool's `stats` and the HTTP API share this one schema. */
export const PoolStats = Schema.Struct({
  /** Worker slots, and of them: up and taking tasks; running at least one task. */
  size: Schema.Number,
  ready: Schema.Number,
  busy: Schema.Number,
  /** Tasks on workers (a worker reading an OCR page may already hold the next), and tasks waiting. */
  running: Schema.Number,
  queued: Schema.Number,
  /** Workers replaced since start (crashes, overruns, recycling, failed starts), threads alive now. */
  restarts: Schema.Number,
  threads: Schema.Number,
  lastStartError: Schema.NullOr(Schema.String)
}).annotations({ identifier: "PoolStatus" })
export type PoolStats = typeof PoolStats.Type

export interface WorkerPoolService {
  /** Queues a task (see Tasks.ts) and waits for its result, its typed failure or a pool error. */
  readonly submit: <A, E>(task: Task<A, E>, options?: SubmitOptions) => Effect.Effect<A, E | PoolError>
  readonly stats: Effect.Effect<PoolStats>
  /** Stops taking tasks, lets running ones finish within the grace period, then stops every thread. */
  readonly drain: Effect.Effect<void>
}

export class WorkerPool extends Context.Tag("inferd/WorkerPool")<WorkerPool, WorkerPoolService>() {}

export const make = (options: PoolOptions.PoolOptions) =>
  Effect.gen(function*() {
    const metrics = yield* Effect.serviceOption(Metrics)
    const queue = TaskQueue.make<Submission.Submission>()
    const counters: WorkerSlot.SlotCounters = { restarts: 0, threads: 0, lastStartError: null }
    const taskTimeoutMs = Duration.toMillis(options.taskTimeout)
    const maxBytes = options.maxBytes ?? Infinity
    let draining = false
    let heldBytes = 0
    // Completed by the last task to end while `drain` waits.
    let idle: Deferred.Deferred<void> | undefined

    const slots: ReadonlyArray<WorkerSlot.Slot> = Array.from({ length: options.size }, (_, index) =>
      WorkerSlot.make(index, options, {
        done: (task) => {
          heldBytes -= task.bytes
          dispatch()
          signalIdle()
        },
        up: () => dispatch(),
        overran: () => Option.map(metrics, (m) => m.poolTimeouts.inc())
      }, counters))

    /** An idle slot that takes `task`, else one that takes it beside its running one. */
    const slotFor = (task: Submission.Submission) => {
      let beside: WorkerSlot.Slot | undefined
      for (const slot of slots) {
        if (!slot.accepts(task)) continue
        if (!slot.busy()) return slot
        beside ??= slot
      }
      return beside
    }

    // Not re-entered: a task refused at once ends inside `start`, whose `done` would dispatch again.
    let dispatching = false
    const dispatch = () => {
      if (dispatching) return
      dispatching = true
      for (let next = queue.peek(); next !== undefined; next = queue.peek()) {
        const slot = slotFor(next)
        if (slot === undefined) break
        queue.take()
        slot.start(next)
      }
      dispatching = false
    }

    /** A task that never ran leaves the queue: it holds no bytes and fires no timer any more. */
    const dequeue = (task: Submission.Submission) => {
      queue.remove(task)
      task.state = "done"
      clearTimeout(task.timer)
      heldBytes -= task.bytes
      signalIdle()
    }

    /** Tells a waiting `drain` once nothing is queued or running. */
    const signalIdle = () => {
      if (idle !== undefined && queue.size() === 0 && !slots.some((slot) => slot.busy())) Deferred.unsafeDone(idle, Exit.void)
    }

    // The caller's deadline answers the caller; a task still running goes on until the server's deadline,
    // `taskTimeoutMs` from submission, and is stopped only past that.
    const callerDeadline = (task: Submission.Submission, callerMs: number) => () => {
      if (task.state === "queued") dequeue(task)
      task.answer(Exit.fail(timedOut(callerMs)))
      if (task.state !== "running") return
      const overrun = () => slots.forEach((slot) => slot.overrun(task))
      if (callerMs >= taskTimeoutMs) return overrun()
      task.timer = setTimeout(overrun, taskTimeoutMs - callerMs)
    }

    const callerMsOf = (submitOptions?: SubmitOptions) =>
      Math.min(taskTimeoutMs, submitOptions?.timeout === undefined ? Infinity : Duration.toMillis(submitOptions.timeout))

    const overloaded = (message: string) =>
      new Overloaded({ message, queued: queue.size(), maxQueue: options.maxQueue, retryAfterSeconds: 1 })

    // Not `Effect.currentSpan`: outside a span it fails with an exception whose stack trace costs more than
    // dispatching a small task.
    const enqueue = <A, E>(task: Task<A, E>, submitOptions?: SubmitOptions) =>
      Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (parent) =>
        Effect.async<Answer, PoolError>((resume) => {
          if (draining) return resume(Effect.fail(new ShuttingDown({ message: "inferd is shutting down and takes no new tasks" })))
          const problem = task.unsendable()
          if (problem !== undefined) return resume(Effect.dieMessage(problem))
          const bytes = submitOptions?.bytes ?? 0
          if (heldBytes + bytes > maxBytes && heldBytes > 0) {
            return resume(Effect.fail(overloaded(`queued inputs are over the memory budget of ${maxBytes} bytes (INFERD_MAX_QUEUED_BYTES); retry later`)))
          }
          const trace = Option.match(parent, { onNone: () => undefined, onSome: (span) => [span.traceId, span.spanId, span.sampled] as const })
          const submission = Submission.make(task, { trace, bytes }, resume)
          if (!queue.offer(submission, submitOptions?.priority ?? "interactive", options.maxQueue)) {
            return resume(Effect.fail(overloaded(`the task queue is full (${options.maxQueue} waiting); retry later`)))
          }
          heldBytes += bytes
          const callerMs = callerMsOf(submitOptions)
          submission.timer = setTimeout(callerDeadline(submission, callerMs), callerMs)
          dispatch()
          // A caller that leaves (client disconnect) is answered no more: a queued task never runs, a running
          // one finishes on its worker.
          return Effect.sync(() => {
            if (submission.state === "queued") dequeue(submission)
            submission.forget()
          })
        }))

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
          })
      })

    const submit = <A, E>(task: Task<A, E>, submitOptions?: SubmitOptions): Effect.Effect<A, E | PoolError> => {
      const run = Effect.flatMap(enqueue(task, submitOptions), task.read)
      return Option.isNone(metrics) ? run : Effect.flatMap(Clock.currentTimeMillis, (startMs) => Effect.onExit(run, observe(task.kind, startMs)))
    }

    const stats = Effect.sync((): PoolStats => ({
      size: options.size,
      ready: slots.filter((slot) => slot.ready()).length,
      busy: slots.filter((slot) => slot.busy()).length,
      running: slots.reduce((sum, slot) => sum + slot.running(), 0),
      queued: queue.size(),
      restarts: counters.restarts,
      threads: counters.threads,
      lastStartError: counters.lastStartError
    }))

    // Slot fibers live in the layer's scope; `drain` stops them all at once, each terminating a busy thread.
    const fibers = yield* FiberSet.make<never>()
    for (const slot of slots) yield* FiberSet.run(fibers, slot.run)

    // Tasks already accepted, queued ones included, run on within the grace period: their callers are still
    // waiting (a load balancer stops sending new work once readiness turns 503, not before). What is left at
    // its end is refused or stopped.
    const drain = Effect.gen(function*() {
      if (draining) return
      draining = true
      const signal = Deferred.unsafeMake<void>(FiberId.none)
      if (queue.size() > 0 || slots.some((slot) => slot.busy())) idle = signal
      else Deferred.unsafeDone(signal, Exit.void)
      // Finalizers run uninterruptibly, where a timeout could not cut the wait short.
      const finished = yield* Deferred.await(signal).pipe(Effect.interruptible, Effect.timeout(options.shutdownGrace), Effect.option)
      for (const task of queue.clear()) {
        dequeue(task)
        task.answer(Exit.fail(new ShuttingDown({ message: "inferd stopped before this task started (INFERD_SHUTDOWN_GRACE ran out)" })))
      }
      if (Option.isNone(finished)) yield* Effect.logWarning("shutdown grace period over: stopping busy workers")
      yield* Fiber.interruptAll(fibers)
      yield* Effect.logInfo("worker pool stopped")
    })

    yield* Effect.addFinalizer(() => drain)
    yield* Effect.logInfo(`worker pool starting ${options.size} workers`)
    return WorkerPool.of({ submit, stats, drain })
  })

export const layer = Layer.scoped(WorkerPool, Effect.flatMap(PoolOptions.config, make))
