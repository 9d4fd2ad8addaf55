/**
 * JobPool: the worker pool as jobs use it. Jobs go on the pool's background lane, so HTTP requests go first,
 * and at most as many job tasks as there are workers are handed to the pool at once on a runner, however many
 * jobs and pages its shards hold: the rest wait here, not in the pool's queue, where they would crowd out
 * requests or be refused. A task the pool refuses as Overloaded waits and is tried again, alone. One the pool
 * refuses as ShuttingDown is left unfinished: the runner is stopping, and its message goes to another runner.
 * A task whose worker crashed is tried twice more, then fails with WorkerCrashed. A task that says when it is
 * no longer wanted (its job cancelled or ended) gives its slot up then.
 */
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import type { Task } from "../Pool/Tasks.js"
import { Overloaded, type PoolError, ShuttingDown, WorkerCrashed } from "../Pool/PoolErrors.js"
import { WorkerPool } from "../Pool/WorkerPool.js"

export interface RunOptions<W = never> {
  /** The task's deadline (the job's `timeoutMs` option), capped by INFERD_TASK_TIMEOUT. */
  readonly timeoutMs?: number | undefined
  readonly bytes: number
  /**
   * Fails once the task is no longer wanted. Checked when the task gets a job slot, before it is handed to the
   * pool, and every `wantedEvery` while it runs, which stops it: a task nobody will read gives its worker up.
   */
  readonly wanted?: Effect.Effect<void, W> | undefined
}

/** How often a running task's `wanted` is checked. */
const wantedEvery = Duration.seconds(1)

export interface JobPoolService {
  /**
   * Runs a job once one of this runner's job slots (twice its workers) is free: the rest stay queued, so a
   * runner that dies has started, and counts an attempt for, only the jobs it was really working on.
   */
  readonly admit: <A, E, R>(job: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Runs a task made afresh for each try (inputs are transferred to the worker, so a task runs once). */
  readonly run: <A, E, W = never>(task: () => Task<A, E>, options: RunOptions<W>) => Effect.Effect<A, Exclude<E | PoolError, Overloaded | ShuttingDown> | W>
}

export class JobPool extends Context.Tag("inferd/JobPool")<JobPool, JobPoolService>() {}

const isRefused = (error: unknown): error is Overloaded | ShuttingDown => error instanceof Overloaded || error instanceof ShuttingDown

export const make = Effect.gen(function*() {
  const pool = yield* WorkerPool
  const workers = (yield* pool.stats).size
  const permits = yield* Effect.makeSemaphore(workers)
  const slots = yield* Effect.makeSemaphore(2 * workers)
  const whileWanted = <A, E, W>(submit: Effect.Effect<A, E>, wanted: Effect.Effect<void, W> | undefined) =>
    wanted === undefined
      ? submit
      : Effect.zipRight(wanted, Effect.raceFirst(submit, Effect.forever(Effect.zipRight(Effect.sleep(wantedEvery), wanted))))
  const run = <A, E, W>(task: () => Task<A, E>, options: RunOptions<W>, delayMs = 250): Effect.Effect<A, Exclude<E | PoolError, Overloaded | ShuttingDown> | W> =>
    whileWanted(
      Effect.suspend(() => pool.submit(task(), { priority: "background", timeout: options.timeoutMs, bytes: options.bytes })),
      options.wanted
    ).pipe(
      permits.withPermits(1),
      Effect.catchIf(isRefused, (refused) =>
        refused instanceof ShuttingDown
          ? Effect.never
          : Effect.zipRight(Effect.sleep(delayMs), run(task, options, Math.min(delayMs * 2, 5_000))))
    )
  // A worker that died under a task is replaced; the task gets two more tries before its job fails.
  const crashed = Schedule.recurs(2).pipe(Schedule.whileInput((error: unknown) => error instanceof WorkerCrashed))
  return JobPool.of({ admit: slots.withPermits(1), run: (task, options) => Effect.retry(run(task, options), crashed) })
})

export const layer = Layer.effect(JobPool, make)
