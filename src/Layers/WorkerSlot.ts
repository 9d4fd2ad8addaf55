/**
 * One worker thread's life, as a WorkerPool slot runs it: spawn, warm, serve jobs one at a time, replace the
 * thread when it dies, hangs past a deadline or is abandoned mid-task, and back off when it cannot start.
 */
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Worker from "@effect/platform/Worker"
import type { SerializedWorker } from "@effect/platform/Worker"
import { WorkerError } from "@effect/platform/WorkerError"
import { Cause, Deferred, Duration, Effect, Exit, Layer, Option, ParseResult, Ref } from "effect"
import { Worker as Thread } from "node:worker_threads"
import type { Job, PoolOptions } from "./WorkerPool.js"
import { type PoolError, ShuttingDown, TaskTimeout, WorkerCrashed } from "./PoolErrors.js"
import type { TaskQueue } from "./TaskQueue.js"
import { Warmup, type WorkerRequest } from "../Workers/Protocol.js"

/** What a job did to its worker: `keep` it serving, or `recycle` it (dead, stuck or abandoned mid-task). */
export type Outcome = "keep" | "recycle"

/**
 * The thread's script is the bundle dist/Workers/Entry.js. This module runs from dist/ (tsc's dist/Layers, or a
 * chunk of the bundled CLI) or, under vitest, from src/*.ts, where a thread still needs the build in dist/.
 */
const entryUrl = (): URL => {
  const here = import.meta.url
  if (here.endsWith(".ts")) return new URL("../../dist/Workers/Entry.js", here)
  return new URL("Workers/Entry.js", here.slice(0, here.lastIndexOf("/dist/") + "/dist/".length))
}

/** What a caller hands the pool: a name for metrics, and which request to send through the worker it is lent. */
export interface Task<A, E> {
  readonly kind: string
  readonly run: (worker: SerializedWorker<WorkerRequest>) => Effect.Effect<A, E>
}

/**
 * Turns the platform's failures into ours: a dead thread (WorkerError) is WorkerCrashed, and a ParseError
 * means both sides disagree on the protocol, a defect.
 */
export const settle = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, Exclude<E, WorkerError | ParseResult.ParseError> | WorkerCrashed> =>
  Effect.catchAll(effect, (error): Effect.Effect<never, Exclude<E, WorkerError | ParseResult.ParseError> | WorkerCrashed> => {
    if (error instanceof WorkerError) {
      return Effect.fail(new WorkerCrashed({ message: `the worker thread died while running the task: ${error.message}` }))
    }
    if (ParseResult.isParseError(error)) return Effect.die(error)
    // Neither of the two excluded kinds, as checked just above.
    return Effect.fail(error as Exclude<E, WorkerError | ParseResult.ParseError>)
  })

/** Runs one job on a worker and settles the caller's deferred; says whether the worker can go on. */
export const execute = <A, E>(
  worker: SerializedWorker<WorkerRequest>,
  task: Task<A, E>,
  deferred: Deferred.Deferred<A, E | PoolError>,
  remainingMs: number,
  timeoutMs: number
): Effect.Effect<Outcome> => {
  // Built only when needed: an error captures a stack trace, which costs more than a small task.
  const attempt = task.run(worker).pipe(
    Effect.timeoutFail({
      duration: Duration.millis(Math.max(0, remainingMs)),
      onTimeout: () => new TaskTimeout({ message: `the task did not finish within ${timeoutMs} ms`, timeoutMs })
    }),
    Effect.exit
  )
  const abandoned = Deferred.await(deferred).pipe(Effect.exit, Effect.as("abandoned" as const))
  return Effect.raceFirst(attempt, abandoned).pipe(
    Effect.flatMap((result) => {
      if (result === "abandoned") return Effect.succeed<Outcome>("recycle")
      const failure = Exit.isFailure(result) ? Cause.failureOption(result.cause) : Option.none()
      const broken = Option.isSome(failure) && (failure.value instanceof TaskTimeout || failure.value instanceof WorkerCrashed)
      return Deferred.done(deferred, result).pipe(Effect.as<Outcome>(broken ? "recycle" : "keep"))
    }),
    Effect.onInterrupt(() => Deferred.fail(deferred, new ShuttingDown({ message: "inferd stopped while this task ran" })))
  )
}

interface SlotState {
  ready: boolean
  busy: boolean
}

export interface Slot {
  readonly run: (queue: TaskQueue<Job>) => Effect.Effect<never>
}

/** The slots of one pool, with the thread registry they share. */
export const makeGroup = (options: PoolOptions) =>
  Effect.gen(function*() {
    const threads = new Map<number, Thread>()
    const spawner = yield* buildSpawner(options, threads)
    const states: Array<SlotState> = Array.from({ length: options.size }, () => ({ ready: false, busy: false }))
    const restarts = yield* Ref.make(0)
    const lastStartError = yield* Ref.make<string | null>(null)

    const terminate = (id: number) =>
      Effect.promise(() => threads.get(id)?.terminate() ?? Promise.resolve(0)).pipe(Effect.asVoid)

    const serve = (state: SlotState, worker: SerializedWorker<WorkerRequest>, queue: TaskQueue<Job>) =>
      Effect.gen(function*() {
        const maxTasks = options.maxTasksPerWorker || Infinity
        for (let served = 0; served < maxTasks; served++) {
          const next = yield* queue.take
          if (Option.isNone(next) || (yield* next.value.cancelled)) {
            served--
            continue
          }
          const job = next.value
          const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
          state.busy = true
          // Left set when interrupted mid-task, so the scope's finalizer terminates the thread.
          const outcome = yield* job.run(worker, job.deadline - now)
          state.busy = false
          if (outcome === "recycle") return
        }
      })

    // One thread's life: start, warm, serve. The scope's close stops the thread; a busy or dead one is
    // terminated first, since a graceful close would wait 5 s for a thread that cannot answer.
    const life = (state: SlotState, queue: TaskQueue<Job>) =>
      Effect.gen(function*() {
        const worker = yield* Worker.makeSerialized<WorkerRequest>({}).pipe(
          Effect.provide(spawner),
          Effect.timeoutFail({ duration: options.startTimeout, onTimeout: () => "worker did not start in time" })
        )
        yield* Effect.addFinalizer(() => state.busy ? terminate(worker.id) : Effect.void)
        yield* settle(worker.executeEffect(new Warmup())).pipe(
          Effect.timeoutFail({ duration: options.startTimeout, onTimeout: () => "worker did not warm up in time" })
        )
        state.ready = true
        yield* Ref.set(lastStartError, null)
        yield* serve(state, worker, queue).pipe(Effect.ensuring(Effect.sync(() => { state.ready = false })))
        yield* terminate(worker.id)
      })

    const run = (index: number) => (queue: TaskQueue<Job>): Effect.Effect<never> =>
      Effect.gen(function*() {
        let failures = 0
        while (true) {
          const exit = yield* Effect.scoped(life(states[index]!, queue)).pipe(Effect.exit)
          if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) {
            failures++
            const reason = Cause.pretty(exit.cause).split("\n")[0] ?? "unknown"
            yield* Ref.set(lastStartError, reason)
            const delay = Duration.millis(Math.min(30_000, 500 * 2 ** (failures - 1)))
            yield* Effect.logError(`worker ${index} failed to start (attempt ${failures}): ${reason}; retrying in ${Duration.format(delay)}`)
            yield* Effect.sleep(delay)
          } else {
            failures = 0
            yield* Effect.logInfo(`worker ${index} replaced`)
          }
          yield* Ref.update(restarts, (n) => n + 1)
        }
      }).pipe(Effect.annotateLogs({ slot: index }))

    const stats = Effect.gen(function*() {
      return {
        ready: states.filter((s) => s.ready).length,
        busy: states.filter((s) => s.busy).length,
        restarts: yield* Ref.get(restarts),
        threads: threads.size,
        lastStartError: yield* Ref.get(lastStartError)
      }
    })

    const awaitIdle = Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => states.every((s) => !s.busy) }), Effect.asVoid)

    const terminateAll = Effect.forEach([...threads.keys()], terminate, { concurrency: "unbounded", discard: true })

    return {
      all: states.map((_, index): Slot => ({ run: run(index) })),
      stats,
      awaitIdle,
      terminateAll
    }
  })

/** The platform's spawner, recording each thread so a stuck one can be terminated. */
const buildSpawner = (options: PoolOptions, threads: Map<number, Thread>) =>
  Layer.build(NodeWorker.layer((id) => {
    const thread = new Thread(entryUrl(), {
      workerData: options.settings,
      resourceLimits: { maxOldGenerationSizeMb: options.workerHeapMb }
    })
    threads.set(id, thread)
    thread.once("exit", () => threads.delete(id))
    return thread
  }))
