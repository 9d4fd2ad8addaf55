/**
 * The HTTP API: one group per feature. Errors carry their status (HttpApiSchema annotations), so every
 * failure a handler can produce is declared here and answered as a typed JSON body.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { LoopPaused, LoopStatus } from "../Fibers/Loop.js"
import { ClusterStatus } from "../Jobs/Jobs.js"
import { Overloaded, ShuttingDown, TaskTimeout, WorkerCrashed } from "../Pool/PoolErrors.js"
import { PoolStats } from "../Pool/WorkerPool.js"
import * as ApiDocument from "./ApiDocument.js"
import { AudioApi } from "./AudioApi.js"
import { Authorization } from "./Auth.js"
import { InternalError, MethodNotAllowed, NotFound } from "./ErrorBoundary.js"
import { FacesApi, GalleryApi } from "./FacesApi.js"
import { JobsApi } from "./JobsApi.js"
import { KnownOptions } from "./KnownOptions.js"
import { OcrApi } from "./OcrApi.js"
import { MalformedRequest } from "./Upload.js"

/** Not ready to take traffic: no worker up yet, the canary failing, or the daemon draining after SIGTERM. */
export class NotReady extends Schema.TaggedError<NotReady>()(
  "NotReady",
  { message: Schema.String, reasons: Schema.Array(Schema.String) },
  HttpApiSchema.annotations({ status: 503 })
) {}

export class LoopNotFound extends Schema.TaggedError<LoopNotFound>()(
  "LoopNotFound",
  { message: Schema.String, name: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/** A face model file in `INFERD_MODELS_DIR`: `present` (right size and sha256), `missing` or `invalid`. */
export const ModelState = Schema.Struct({
  name: Schema.String,
  file: Schema.String,
  state: Schema.Literal("present", "missing", "invalid"),
  detail: Schema.optional(Schema.String)
}).annotations({ identifier: "ModelState" })

export const Status = Schema.Struct({
  /** `draining` from the moment SIGTERM starts the shutdown. */
  status: Schema.Literal("ok", "draining"),
  message: Schema.String,
  cpu: Schema.Struct({ cpus: Schema.Number, quota: Schema.NullOr(Schema.Number), source: Schema.String }),
  pool: PoolStats,
  loops: Schema.Array(LoopStatus),
  /** Face models (OCR and voice-activity models ship with the package and are always there). */
  models: Schema.Array(ModelState),
  /** The jobs engine: embedded (SQLite) or a runner of a PostgreSQL cluster, its runners and the shards it holds. */
  cluster: ClusterStatus
}).annotations({ identifier: "Status" })

export const Ready = Schema.Struct({ status: Schema.Literal("ready"), workers: Schema.Number, models: Schema.Array(ModelState) }).annotations({ identifier: "Ready" })
export const Live = Schema.Struct({ status: Schema.Literal("live") }).annotations({ identifier: "Live" })

export class SystemApi extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("status", "/status").addSuccess(Status))
  .add(HttpApiEndpoint.get("live", "/health/live").addSuccess(Live))
  .add(HttpApiEndpoint.get("ready", "/health/ready").addSuccess(Ready).addError(NotReady))
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" }))
      .annotate(OpenApi.Summary, "Prometheus metrics")
  )
{}

const LoopName = Schema.Struct({ name: Schema.String })

export class LoopsApi extends HttpApiGroup.make("loops")
  .add(HttpApiEndpoint.get("list", "/v1/loops").addSuccess(Schema.Array(LoopStatus)))
  .add(HttpApiEndpoint.post("run", "/v1/loops/:name/run").setPath(LoopName).addSuccess(LoopStatus).addError(LoopNotFound).addError(LoopPaused))
  .add(HttpApiEndpoint.post("pause", "/v1/loops/:name/pause").setPath(LoopName).addSuccess(LoopStatus).addError(LoopNotFound))
  .add(HttpApiEndpoint.post("resume", "/v1/loops/:name/resume").setPath(LoopName).addSuccess(LoopStatus).addError(LoopNotFound))
{}

/** Fault injection, served only with `INFERD_ENABLE_FAULTS=1` (404 otherwise). */
export class DebugApi extends HttpApiGroup.make("debug")
  .add(
    HttpApiEndpoint.post("fault", "/v1/debug/fault")
      .setPayload(Schema.Struct({ kind: Schema.Literal("crash", "exit", "hang", "oom"), timeoutMs: Schema.optional(Schema.Int.pipe(Schema.positive())) }))
      .addSuccess(Schema.Struct({ kind: Schema.String }))
      .addError(NotFound)
  )
{}

/**
 * Every `/v1` group refuses query options its routes do not take, and, with `INFERD_API_TOKEN` set, requests
 * without the token (the middleware added last runs first). Errors any route can answer are declared once here.
 */
export class Api extends HttpApi.make("inferd")
  .add(SystemApi)
  .add(OcrApi.middleware(KnownOptions).middleware(Authorization))
  .add(FacesApi.middleware(KnownOptions).middleware(Authorization))
  .add(GalleryApi.middleware(KnownOptions).middleware(Authorization))
  .add(AudioApi.middleware(KnownOptions).middleware(Authorization))
  .add(JobsApi.middleware(KnownOptions).middleware(Authorization))
  .add(LoopsApi.middleware(KnownOptions).middleware(Authorization))
  .add(DebugApi.middleware(KnownOptions).middleware(Authorization))
  .addError(MalformedRequest).addError(NotFound).addError(MethodNotAllowed).addError(InternalError)
  .addError(Overloaded).addError(ShuttingDown).addError(TaskTimeout).addError(WorkerCrashed)
  .annotateContext(OpenApi.annotations({
    transform: ApiDocument.transform,
    title: "inferd",
    version: "0.1.0",
    description: "CPU-heavy ML inference (OCR, faces, audio) over HTTP, on a pool of worker threads. Every error is JSON `{_tag, message, ...}`."
  }))
{}

/** What any route of the API may fail with: its own errors plus the API-wide ones. */
export type ApiError = typeof Api extends HttpApi.HttpApi<string, HttpApiGroup.HttpApiGroup.Any, infer E, infer _R> ? E : never
