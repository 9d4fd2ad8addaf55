/** /status and the health probes. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { Loops } from "../Fibers/Loops.js"
import { type ClusterStatus, Jobs } from "../Jobs/Jobs.js"
import { CpuLimit } from "../Layers/CpuLimit.js"
import { DrainState } from "../Layers/DrainState.js"
import { type PoolStats, WorkerPool } from "../Pool/WorkerPool.js"
import type { LoopStatus } from "../Fibers/Loop.js"
import { Metrics, type MetricsService, render } from "../Layers/Metrics.js"
import { Models } from "../Layers/Models.js"
import { modelsDir } from "../Layers/SharedConfig.js"
import { Api, NotReady } from "./Api.js"

type JobCounts = Readonly<Partial<Record<string, number>>>

/** Gauges of state are read at scrape time, so they are never stale. */
const refreshGauges = (metrics: MetricsService, pool: PoolStats, loops: ReadonlyArray<LoopStatus>, jobs: JobCounts, cluster: ClusterStatus) =>
  Effect.sync(() => {
    for (const [state, n] of Object.entries(jobs)) metrics.jobs.set({ state }, n ?? 0)
    metrics.clusterShards.reset()
    metrics.clusterShards.set({ runner: cluster.runner }, cluster.shards)
    for (const healthy of [true, false]) metrics.clusterRunners.set({ healthy: String(healthy) }, cluster.runners.filter((r) => r.healthy === healthy).length)
    for (const state of ["size", "ready", "busy"] as const) metrics.poolWorkers.set({ state }, pool[state])
    metrics.poolQueued.set(pool.queued)
    metrics.poolRestarts.set(pool.restarts)
    metrics.loopState.reset()
    for (const loop of loops) {
      metrics.loopRuns.set({ loop: loop.name }, loop.runs)
      metrics.loopFailures.set({ loop: loop.name }, loop.failures)
      metrics.loopState.set({ loop: loop.name, state: loop.state }, 1)
    }
  })

export const layer = HttpApiBuilder.group(Api, "system", (handlers) =>
  Effect.gen(function*() {
    const cpu = yield* CpuLimit
    const pool = yield* WorkerPool
    const loops = yield* Loops
    const jobs = yield* Jobs
    const metrics = yield* Effect.serviceOption(Metrics)
    const drain = yield* DrainState
    const registry = yield* Models
    const dir = yield* modelsDir
    const models = Effect.map(registry.status(dir), (all) => all.map(({ name, file, state, detail }) => ({ name, file, state, ...(detail === undefined ? {} : { detail }) })))

    const readiness = Effect.gen(function*() {
      const stats = yield* pool.stats
      const reasons: Array<string> = []
      if (yield* drain.draining) reasons.push("draining: the daemon is shutting down")
      if (stats.ready === 0) {
        reasons.push(stats.lastStartError === null ? "no worker has started yet" : `no worker is up: ${stats.lastStartError}`)
      }
      const canary = yield* Effect.flatMap(loops.get("canary"), Option.match({ onNone: () => Effect.succeedNone, onSome: (loop) => Effect.asSome(loop.status) }))
      if (Option.isSome(canary) && canary.value.consecutiveFailures > 0) {
        reasons.push(`the OCR canary is failing: ${canary.value.lastError ?? "unknown error"}`)
      }
      reasons.push(...yield* jobs.unready)
      return { stats, reasons }
    })

    return handlers
      .handle("status", () =>
        Effect.gen(function*() {
          const draining = yield* drain.draining
          return {
            status: draining ? "draining" as const : "ok" as const,
            message: draining ? "Shutting down: finishing the tasks in flight, taking no new ones" : "Server is running with background tasks",
            cpu: { cpus: cpu.cpus, quota: cpu.quota, source: cpu.source },
            pool: yield* pool.stats,
            loops: yield* loops.list,
            models: yield* models,
            cluster: yield* jobs.cluster
          }
        }))
      .handle("live", () => Effect.succeed({ status: "live" as const }))
      .handle("metrics", () =>
        Effect.gen(function*() {
          if (Option.isNone(metrics)) return "# metrics are off in this configuration\n"
          const counts = yield* jobs.counts.pipe(Effect.orElseSucceed(() => ({})))
          yield* refreshGauges(metrics.value, yield* pool.stats, yield* loops.list, counts, yield* jobs.cluster)
          return yield* render(metrics.value)
        }))
      .handle("ready", () =>
        Effect.flatMap(readiness, ({ reasons, stats }) =>
          reasons.length === 0
            ? Effect.map(models, (models) => ({ status: "ready" as const, workers: stats.ready, models }))
            : Effect.fail(new NotReady({ message: `not ready: ${reasons.join("; ")}`, reasons }))))
  }))
