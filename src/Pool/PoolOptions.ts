/**
 * The pool's options, how many workers it runs for the CPUs it has, and where each option is read from.
 */
import { Config, Duration, Effect, Option } from "effect"
import { CpuLimit } from "../Layers/CpuLimit.js"
import type { WorkerSettings as Settings } from "../Workers/Protocol.js"
import * as WorkerSettings from "./WorkerSettings.js"

export interface PoolOptions {
  readonly size: number
  /** Tasks allowed to wait beyond the running ones; past it `submit` fails with Overloaded at once. */
  readonly maxQueue: number
  /** Input bytes all queued and running tasks may hold together; past it `submit` fails with Overloaded (default: no limit). */
  readonly maxBytes?: number
  /** Tasks a worker runs before it is replaced (default 0: never), for leaky native code. */
  readonly maxTasksPerWorker?: number
  readonly taskTimeout: Duration.Duration
  readonly shutdownGrace: Duration.Duration
  readonly startTimeout: Duration.Duration
  /** V8 heap limit of each worker thread: a runaway task ends its thread, not the daemon. */
  readonly workerHeapMb: number
  readonly settings: Settings
}

/**
 * A worker per CPU when the event loop can still take the CPU it needs: the workers run niced, so the
 * kernel lets the loop go first, and no CFS quota binds. Under a quota that the workers alone would use up
 * (the usual container limit), the kernel would stop the whole process, event loop included, for the rest
 * of each period: there, and with workers not niced, one CPU is left to the event loop.
 */
export const sizeFor = (cpu: { readonly cpus: number; readonly quota: number | null }, niceness: number): number => {
  const quotaBinds = cpu.quota !== null && cpu.quota - cpu.cpus < 0.5
  return quotaBinds || niceness === 0 ? Math.max(1, cpu.cpus - 1) : cpu.cpus
}

/** `INFERD_TASK_TIMEOUT`: a task's deadline, queueing included (default 60 s); a document's, all its pages. */
export const taskTimeout = Config.duration("INFERD_TASK_TIMEOUT").pipe(Config.withDefault(Duration.seconds(60)))

/** Configuration, each with its default. */
export const config = Effect.gen(function*() {
  const cpu = yield* CpuLimit
  const workers = yield* Config.option(Config.integer("INFERD_WORKERS").pipe(Config.validate({
    message: "INFERD_WORKERS must be a positive integer",
    validation: (n) => n > 0
  })))
  const niceness = yield* WorkerSettings.niceness
  const size = Option.getOrElse(workers, () => sizeFor(cpu, niceness))
  return {
    size,
    maxQueue: yield* Config.integer("INFERD_MAX_QUEUE").pipe(Config.withDefault(8 * size)),
    maxBytes: yield* Config.integer("INFERD_MAX_QUEUED_BYTES").pipe(Config.withDefault(256 * 1024 * 1024)),
    maxTasksPerWorker: yield* Config.integer("INFERD_WORKER_MAX_TASKS").pipe(Config.withDefault(0)),
    taskTimeout: yield* taskTimeout,
    shutdownGrace: yield* Config.duration("INFERD_SHUTDOWN_GRACE").pipe(Config.withDefault(Duration.seconds(10))),
    startTimeout: yield* Config.duration("INFERD_WORKER_START_TIMEOUT").pipe(Config.withDefault(Duration.seconds(60))),
    workerHeapMb: yield* Config.integer("INFERD_WORKER_MAX_HEAP_MB").pipe(Config.withDefault(1024)),
    settings: yield* WorkerSettings.config({ cpus: cpu.cpus, workers: size })
  } satisfies PoolOptions
})

