/**
 * Metrics: one prom-client registry with Node's default metrics (event-loop delay, memory, GC) and ours.
 * Counters and histograms are observed where things happen; gauges of state (pool, loops) are read fresh at
 * each scrape by the /metrics handler.
 */
import { Context, Effect, Layer } from "effect"
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client"

const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

const make = () => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 })
  const registers = [registry]
  return {
    registry,
    httpRequests: new Counter({ name: "inferd_http_requests_total", help: "HTTP requests by route, method and status", labelNames: ["route", "method", "status"], registers }),
    httpDuration: new Histogram({ name: "inferd_http_request_duration_seconds", help: "HTTP request latency", labelNames: ["route", "method", "status"], buckets: seconds, registers }),
    taskDuration: new Histogram({ name: "inferd_task_duration_seconds", help: "Pool task latency from submission to result, by kind and outcome", labelNames: ["kind", "outcome"], buckets: seconds, registers }),
    taskFailures: new Counter({ name: "inferd_task_failures_total", help: "Failed pool tasks by kind and error tag", labelNames: ["kind", "error"], registers }),
    poolWorkers: new Gauge({ name: "inferd_pool_workers", help: "Worker slots by state (size, ready, busy)", labelNames: ["state"], registers }),
    poolQueued: new Gauge({ name: "inferd_pool_queued_tasks", help: "Tasks waiting for a worker", registers }),
    poolRestarts: new Gauge({ name: "inferd_pool_worker_restarts", help: "Workers replaced since start (crashes, deadlines, recycling)", registers }),
    poolTimeouts: new Counter({ name: "inferd_pool_task_timeouts_total", help: "Tasks that overran INFERD_TASK_TIMEOUT (their worker was replaced); a caller's own shorter deadline is not counted", registers }),
    loopRuns: new Gauge({ name: "inferd_loop_runs", help: "Background loop runs since start", labelNames: ["loop"], registers }),
    loopFailures: new Gauge({ name: "inferd_loop_failures", help: "Background loop failed runs since start", labelNames: ["loop"], registers }),
    loopState: new Gauge({ name: "inferd_loop_state", help: "1 for each loop's current state", labelNames: ["loop", "state"], registers }),
    jobs: new Gauge({ name: "inferd_jobs", help: "Jobs in the cluster's store by state (every runner sees the same)", labelNames: ["state"], registers }),
    clusterShards: new Gauge({ name: "inferd_cluster_shards", help: "Shards this runner holds, by runner address", labelNames: ["runner"], registers }),
    clusterRunners: new Gauge({ name: "inferd_cluster_runners", help: "Runners registered in the cluster, by health", labelNames: ["healthy"], registers })
  }
}

export type MetricsService = ReturnType<typeof make>

/** The process's metrics. Optional for the pool: without it, nothing is recorded (tests, benchmarks). */
export class Metrics extends Context.Tag("inferd/Metrics")<Metrics, MetricsService>() {}

export const layer = Layer.sync(Metrics, make)

/** The exposition text, through prom-client's own serializer. */
export const render = (metrics: MetricsService) =>
  Effect.promise(() => metrics.registry.metrics())
