/**
 * One worker thread's life, as a WorkerPool slot runs it: spawn, warm, serve jobs one at a time (short ones
 * in batches), replace the thread when it dies, hangs past a deadline or is abandoned mid-task, and back off
 * when it cannot start.
 */
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Worker from "@effect/platform/Worker"
import type { SerializedWorker } from "@effect/platform/Worker"
import { Cause, Clock, Duration, Effect, Exit, Layer, Ref } from "effect"
import { Worker as Thread } from "node:worker_threads"
import type { Job, Outcome } from "./Job.js"
import type { PoolOptions } from "./PoolOptions.js"
import { settle, stoppedMidTask, timedOut, WorkerCrashed } from "./PoolErrors.js"
import type { TaskQueue } from "./TaskQueue.js"
import type { Batching } from "./Batching.js"
import { relay } from "./WorkerStderr.js"
import { Batch, Warmup, type WorkerRequest } from "../Workers/Protocol.js"

/**
 * The thread's script is the bundle dist/Workers/Entry.js. This module runs from dist/ (tsc's dist/Layers, or a
 * chunk of the bundled CLI) or, under vitest, from src/*.ts, where a thread still needs the build in dist/.
 */
const entryUrl = (): URL => {
  const here = import.meta.url
  if (here.endsWith(".ts")) return new URL("../../dist/Workers/Entry.js", here)
  return new URL("Workers/Entry.js", here.slice(0, here.lastIndexOf("/dist/") + "/dist/".length))
}

/**
 * Runs jobs as one Batch message. Their deadline is the earliest of the server's deadlines; past it, or if the
 * thread dies, every job fails alike and the worker is recycled. A caller that left, or whose own deadline
 * passed, just misses its answer. The items were built unchecked, like every request (see Tasks.ts), and the
 * Batch is too. `idle` runs just before callers are answered.
 */
export const executeBatch = (
  worker: SerializedWorker<WorkerRequest>,
  jobs: ReadonlyArray<Job>,
  remainingMs: number,
  batching: Batching,
  idle: () => void
): Effect.Effect<Outcome> =>
  settle(worker.executeEffect(new Batch({ items: jobs.map((job) => job.request), traces: jobs.map((job) => job.trace) }, true))).pipe(
    Effect.timeoutFail({ duration: Duration.millis(Math.max(0, remainingMs)), onTimeout: () => "timeout" as const }),
    Effect.match({
      onFailure: (error): Outcome => {
        idle()
        for (const job of jobs) {
          job.reject(error === "timeout" ? timedOut(job.timeoutMs) : error)
        }
        return "recycle"
      },
      onSuccess: ({ answers, elapsedMs }): Outcome => {
        idle()
        batching.record(jobs.map((job) => job.kind), elapsedMs)
        jobs.forEach((job, i) => answers[i] === undefined ? job.reject(missing) : job.resolve(answers[i]))
        return "keep"
      }
    }),
    Effect.onInterrupt(() => Effect.sync(() => jobs.forEach((job) => job.reject(stoppedMidTask()))))
  )

const missing = new WorkerCrashed({ message: "the worker answered a batch without this task's result" })

interface SlotState {
  ready: boolean
  busy: boolean
}

export interface Slot {
  readonly run: (queue: TaskQueue<Job>) => Effect.Effect<never>
}

/** The slots of one pool, with the thread registry they share. */
export const makeGroup = (options: PoolOptions, batching: Batching) =>
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
        let served = 0
        const more = (taken: ReadonlyArray<Job>, next: Job) => served + taken.length < maxTasks && batching.more(taken, next)
        while (served < maxTasks) {
          // Settled jobs (their caller left or gave up) are not started. Only long tasks go alone; the rest go
          // as a batch, even of one. `admit` settles those whose input cannot be sent.
          const taken = (yield* queue.take(more)).filter((job) => !job.isSettled())
          const alone = taken.length === 1 && batching.alone(taken[0]!.kind)
          const jobs = alone ? taken : taken.filter((job) => job.admit())
          if (jobs.length === 0) continue
          const start = yield* Clock.currentTimeNanos
          const deadline = Math.min(...jobs.map((job) => job.deadline))
          state.busy = true
          // Left set when interrupted mid-task, so the scope's finalizer terminates the thread.
          const remainingMs = deadline - Number(start / 1_000_000n)
          // Callers are answered once the slot is free again, so a /status right after an answer shows it idle.
          const idle = () => { state.busy = false }
          const outcome = alone ? yield* jobs[0]!.run(worker, remainingMs, idle) : yield* executeBatch(worker, jobs, remainingMs, batching, idle)
          state.busy = false
          served += jobs.length
          if (alone) batching.record([jobs[0]!.kind], Number((yield* Clock.currentTimeNanos) - start) / 1e6)
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

/** The platform's spawner, recording each thread so a stuck one can be terminated; its stderr goes to the log. */
const buildSpawner = (options: PoolOptions, threads: Map<number, Thread>) =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) =>
    Layer.build(NodeWorker.layer((id) => {
      const thread = new Thread(entryUrl(), {
        workerData: options.settings,
        resourceLimits: { maxOldGenerationSizeMb: options.workerHeapMb },
        stderr: true
      })
      relay(thread, id, runtime)
      threads.set(id, thread)
      thread.once("exit", () => threads.delete(id))
      return thread
    })))
