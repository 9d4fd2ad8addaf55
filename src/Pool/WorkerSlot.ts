/**
 * A WorkerPool slot: the worker thread it owns, one after another (start, warm up, serve, replace; back off
 * when one cannot start), and the tasks running there. A thread's life is an Effect; tasks are sent and
 * answered in plain callbacks, since a fiber per task was most of the pool's per-task cost (WorkerThread.ts).
 */
import { Cause, Deferred, Duration, Effect, Exit, Schedule } from "effect"
import type { PoolOptions } from "./PoolOptions.js"
import { crashed, stoppedMidTask, stoppedWithOther, timedOut } from "./PoolErrors.js"
import type { Submission } from "./Submission.js"
import * as Tasks from "./Tasks.js"
import * as WorkerThread from "./WorkerThread.js"

/** What a slot tells its pool. */
export interface SlotEvents {
  /** A task is done on the slot (answered or not): its bytes are free, and the slot may have room again. */
  readonly done: (task: Submission) => void
  /** The slot's worker is up and takes tasks. */
  readonly up: () => void
  /** A task overran the server's deadline: its worker is being stopped. */
  readonly overran: () => void
}

/** What the slots of one pool count together, for the pool's stats. */
export interface SlotCounters {
  restarts: number
  threads: number
  lastStartError: string | null
}

export interface Slot {
  /** Up and taking tasks. */
  readonly ready: () => boolean
  readonly busy: () => boolean
  /** Tasks running here: one, or two pipelined ones. */
  readonly running: () => number
  /** Whether the slot can take `task` now: when idle, or beside one pipelined task when it is one too. */
  readonly accepts: (task: Submission) => boolean
  /** Starts `task`, which the slot just accepted. */
  readonly start: (task: Submission) => void
  /** The server's deadline of `task` passed while it ran here: its worker is stopped and replaced. */
  readonly overrun: (task: Submission) => void
  /** Serves with one thread after another until interrupted. */
  readonly run: Effect.Effect<never>
}

/** 0.5 s, doubling, at most 30 s apart: when a slot tries again to start a worker that failed to. */
export const startBackoff = Schedule.exponential(Duration.millis(500)).pipe(Schedule.union(Schedule.spaced(Duration.seconds(30))))

export const make = (index: number, options: PoolOptions, events: SlotEvents, counters: SlotCounters): Slot => {
  const maxTasks = options.maxTasksPerWorker || Infinity
  const taskTimeoutMs = Duration.toMillis(options.taskTimeout)
  const running = new Set<Submission>()
  // The current worker from its warm-up to the end of its life, and the same while it may be sent tasks.
  let worker: WorkerThread.WorkerThread | undefined
  let taking: WorkerThread.WorkerThread | undefined
  let served = 0
  let retired: Deferred.Deferred<void> | undefined

  const accepts = (task: Submission) => {
    if (taking === undefined) return false
    if (running.size === 0) return true
    if (running.size > 1 || !task.pipelined) return false
    for (const other of running) return other.pipelined
    return false
  }

  const finish = (task: Submission, answer: WorkerThread.Answer | WorkerThread.Ended) => {
    running.delete(task)
    task.state = "done"
    clearTimeout(task.timer)
    if (answer._tag === "Ended") {
      taking = undefined
      task.answer(Exit.fail(crashed(answer.reason)))
    } else {
      task.answer(Exit.succeed(answer))
    }
    if (running.size === 0 && served >= maxTasks && retired !== undefined) Deferred.unsafeDone(retired, Exit.void)
    events.done(task)
  }

  /** A task that could not be sent ends as a defect: the program's mistake, not the input's. */
  const refuse = (task: Submission, defect: unknown) => {
    task.state = "done"
    clearTimeout(task.timer)
    task.answer(Exit.die(defect))
    events.done(task)
  }

  const start = (task: Submission) => {
    const thread = taking
    if (thread === undefined) return refuse(task, new Cause.RuntimeException("a slot was given a task it had not accepted"))
    // A buffer already moved to a thread would be sent as nothing, and the task never answered: Node 20's
    // postMessage does not throw for it.
    const problem = task.unsendable()
    if (problem !== undefined) return refuse(task, new Cause.RuntimeException(problem))
    task.state = "running"
    running.add(task)
    if (++served >= maxTasks) taking = undefined
    try {
      thread.send(task.request, task.transfers, task.trace, (answer) => finish(task, answer))
    } catch (cause) {
      // This runs in a thread's message callback too, where a throw would end the daemon.
      running.delete(task)
      refuse(task, cause)
    }
  }

  const overrun = (task: Submission) => {
    if (!running.has(task)) return
    taking = undefined
    for (const other of running) other.answer(Exit.fail(other === task ? timedOut(taskTimeoutMs) : stoppedWithOther()))
    events.overran()
    worker?.terminate()
  }

  /** Sends one task and waits for its answer, for the warm-up. */
  const call = <A, E>(thread: WorkerThread.WorkerThread, task: Tasks.Task<A, E>) =>
    Effect.flatMap(
      Effect.async<WorkerThread.Answer, WorkerThread.ThreadStartFailed>((resume) =>
        thread.send(task.request, task.transfers, undefined, (answer) =>
          resume(answer._tag === "Ended" ? Effect.fail(new WorkerThread.ThreadStartFailed({ message: `the worker thread ended: ${answer.reason}` })) : Effect.succeed(answer)))
      ),
      task.read
    )

  const startTimeout = (what: string) =>
    Effect.timeoutFail({ duration: options.startTimeout, onTimeout: () => new WorkerThread.ThreadStartFailed({ message: `the worker did not ${what} within ${Duration.format(options.startTimeout)}` }) })

  // One thread's life. Closing its scope closes the thread; one still running tasks (shutdown after the
  // grace period) is terminated, since a graceful close would wait for work that cannot be interrupted.
  const life = Effect.gen(function*() {
    yield* Effect.acquireRelease(Effect.sync(() => counters.threads++), () => Effect.sync(() => counters.threads--))
    const thread = yield* WorkerThread.spawn({ id: index, settings: options.settings, heapMb: options.workerHeapMb, closeTimeoutMs: 5000 }).pipe(startTimeout("start"))
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        taking = undefined
        worker = undefined
        if (running.size === 0) return
        for (const task of running) task.answer(Exit.fail(stoppedMidTask()))
        thread.terminate()
      })
    )
    yield* call(thread, Tasks.warmup()).pipe(startTimeout("warm up"))
    const done = yield* Deferred.make<void>()
    retired = done
    served = 0
    worker = thread
    taking = thread
    counters.lastStartError = null
    events.up()
    yield* Effect.raceFirst(Deferred.await(done), thread.ended)
  }).pipe(Effect.scoped)

  let failures = 0
  const attempt = life.pipe(
    Effect.sandbox,
    Effect.tapError((cause) =>
      Effect.suspend(() => {
        const reason = Cause.pretty(cause).split("\n")[0] ?? "unknown"
        counters.lastStartError = reason
        counters.restarts++
        return Effect.logError(`worker ${index} failed to start (attempt ${++failures}): ${reason}`)
      })
    )
  )
  // The backoff never gives up, so `orDie` is never reached.
  const run = attempt.pipe(
    Effect.retry(startBackoff),
    Effect.orDie,
    Effect.zipRight(Effect.suspend(() => {
      failures = 0
      counters.restarts++
      return Effect.logInfo(`worker ${index} replaced`)
    })),
    Effect.forever,
    Effect.annotateLogs({ slot: index })
  )

  return { ready: () => taking !== undefined, busy: () => running.size > 0, running: () => running.size, accepts, start, overrun, run }
}
