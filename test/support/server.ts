/**
 * The real HTTP API on a random loopback port, over a real worker pool, for tests. Configuration comes from a
 * map (so each test file states the settings it relies on); loops are whatever `loops` registers.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { ConfigProvider, Effect, Layer, Schedule } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as LoopsLayer from "../../src/Fibers/Loops.js"
import { ApiLive, routes, serve } from "../../src/Http/Server.js"
import * as Upload from "../../src/Http/Upload.js"
import * as CpuLimit from "../../src/Layers/CpuLimit.js"
import { JobsLive } from "../../src/Jobs/Jobs.js"
import * as DrainState from "../../src/Layers/DrainState.js"
import * as Gallery from "../../src/Layers/Gallery.js"
import * as Models from "../../src/Layers/Models.js"
import * as Metrics from "../../src/Layers/Metrics.js"
import type * as PoolOptions from "../../src/Pool/PoolOptions.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import { poolOptions } from "./pool.js"
import * as statuses from "./statuses.js"

export { poolOptions }

export interface TestServerOptions {
  readonly pool?: Partial<PoolOptions.PoolOptions>
  readonly upload?: Upload.UploadLimits
  readonly config?: Record<string, string>
  readonly loops?: Layer.Layer<never, never, LoopsLayer.Loops>
  /** Record Prometheus metrics (off by default, as in the pool's own tests). */
  readonly metrics?: boolean
}

export const testServer = (options: TestServerOptions = {}) =>
  serve.pipe(
    Layer.provide(ApiLive),
    Layer.provide(Layer.succeed(Upload.Upload, Upload.make(options.upload ?? { maxBody: 20 * 1024 * 1024, maxParts: 16 }))),
    Layer.provide(options.loops ?? Layer.empty),
    Layer.provide(JobsLive),
    Layer.provide(Gallery.layer),
    Layer.provide(Models.layer),
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provideMerge(LoopsLayer.layer),
    Layer.provideMerge(DrainState.layer),
    Layer.provideMerge(Layer.scoped(WorkerPool.WorkerPool, WorkerPool.make(poolOptions(options.pool)))),
    Layer.provide(CpuLimit.layerTest({ cpus: 2, quota: 2, source: "test" })),
    Layer.provide(options.metrics ? Metrics.layer : Layer.empty),
    Layer.provide(NodeContext.layer),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson({
      INFERD_DATA_DIR: mkdtempSync(join(tmpdir(), "inferd-test-data-")),
      ...options.config
    })))
  )

/**
 * The embedded jobs engine (SQLite in a fresh folder) for a test that builds its server from parts: the task
 * routes take `?async=true`. Needs a WorkerPool.
 */
export const embeddedJobs = JobsLive.pipe(
  Layer.provide(LoopsLayer.layer),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson({ INFERD_DATA_DIR: mkdtempSync(join(tmpdir(), "inferd-test-jobs-")) })))
)

export interface Reply {
  readonly status: number
  readonly body: Record<string, unknown>
  readonly headers: Readonly<Record<string, string>>
}

/** Sends a request to the test server and reads the JSON answer. */
export const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    const text = yield* response.text
    const route = routes.find(request.method, request.url.replace(/^[a-z]+:\/\/[^/]+/, ""))
    statuses.record([{ method: request.method, route: route?.template ?? "unmatched", status: response.status }])
    return { status: response.status, body: text === "" ? {} : JSON.parse(text) as Record<string, unknown>, headers: response.headers } satisfies Reply
  })

export const post = (path: string, body: Uint8Array, contentType: string) =>
  send(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyUint8Array(body, contentType)))

/** Waits until a worker is up and warm. */
export const awaitReady = send(HttpClientRequest.get("/health/ready")).pipe(
  Effect.filterOrFail((r) => r.status === 200, () => "not ready yet"),
  Effect.retry(Schedule.spaced("50 millis")),
  Effect.timeout("60 seconds")
)
