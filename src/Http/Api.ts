/**
 * The HTTP API: one group per feature. Errors carry their status (HttpApiSchema annotations), so every
 * failure a handler can produce is declared here and answered as a typed JSON body.
 */
import { HttpApi, HttpApiEndpoint, HttpApiError, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { LoopStatus } from "../Fibers/Loop.js"
import { Overloaded, ShuttingDown, TaskTimeout, WorkerCrashed } from "../Pool/PoolErrors.js"
import { PoolStats } from "../Pool/WorkerPool.js"
import { ImageTooLarge, ImageUndecodable, InferenceFailed, OcrResult } from "../Workers/Protocol.js"
import { AudioApi } from "./AudioApi.js"
import { FacesApi, GalleryApi } from "./FacesApi.js"
import { JobsApi } from "./JobsApi.js"
import * as Media from "./Media.js"
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from "./Upload.js"

/** Not ready to take traffic: no worker up yet, or the canary failing. */
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
})

export const Status = Schema.Struct({
  status: Schema.Literal("ok"),
  message: Schema.String,
  cpu: Schema.Struct({ cpus: Schema.Number, quota: Schema.NullOr(Schema.Number), source: Schema.String }),
  pool: PoolStats,
  loops: Schema.Array(LoopStatus),
  /** Face models (OCR and voice-activity models ship with the package and are always there). */
  models: Schema.Array(ModelState)
})

export const Ready = Schema.Struct({ status: Schema.Literal("ready"), workers: Schema.Number, models: Schema.Array(ModelState) })
export const Live = Schema.Struct({ status: Schema.Literal("live") })

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

/** `?timeoutMs=`: the task's deadline, capped by `INFERD_TASK_TIMEOUT`. */
export const TaskParams = Schema.Struct({
  timeoutMs: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.positive())),
  /** `?async=true`: answer 202 with a job (see /v1/jobs) instead of waiting for the result. */
  async: Schema.optional(Schema.BooleanFromString)
})

/** OCR; the group's errors are what any endpoint that runs an upload on the pool can answer. */
export class OcrApi extends HttpApiGroup.make("ocr")
  .add(
    HttpApiEndpoint.post("ocr", "/v1/ocr").setUrlParams(TaskParams).addSuccess(OcrResult)
      .annotateContext(Media.uploadBody(Media.image))
      .annotate(OpenApi.Summary, "Read the text in an image")
  )
  .addError(PayloadTooLarge).addError(UnsupportedMediaType).addError(MalformedRequest)
  .addError(ImageUndecodable).addError(ImageTooLarge).addError(InferenceFailed)
  .addError(Overloaded).addError(ShuttingDown).addError(TaskTimeout).addError(WorkerCrashed)
{}

const LoopName = Schema.Struct({ name: Schema.String })

export class LoopsApi extends HttpApiGroup.make("loops")
  .add(HttpApiEndpoint.get("list", "/v1/loops").addSuccess(Schema.Array(LoopStatus)))
  .add(HttpApiEndpoint.post("run", "/v1/loops/:name/run").setPath(LoopName).addSuccess(LoopStatus).addError(LoopNotFound))
  .add(HttpApiEndpoint.post("pause", "/v1/loops/:name/pause").setPath(LoopName).addSuccess(LoopStatus).addError(LoopNotFound))
  .add(HttpApiEndpoint.post("resume", "/v1/loops/:name/resume").setPath(LoopName).addSuccess(LoopStatus).addError(LoopNotFound))
{}

/** Fault injection, served only with `INFERD_ENABLE_FAULTS=1` (404 otherwise). */
export class DebugApi extends HttpApiGroup.make("debug")
  .add(
    HttpApiEndpoint.post("fault", "/v1/debug/fault")
      .setPayload(Schema.Struct({ kind: Schema.Literal("crash", "exit", "hang", "oom"), timeoutMs: Schema.optional(Schema.Int.pipe(Schema.positive())) }))
      .addSuccess(Schema.Struct({ kind: Schema.String }))
      .addError(HttpApiError.NotFound)
  )
  .addError(Overloaded).addError(ShuttingDown).addError(TaskTimeout).addError(WorkerCrashed)
{}

export class Api extends HttpApi.make("inferd").add(SystemApi).add(OcrApi).add(FacesApi).add(GalleryApi).add(AudioApi).add(JobsApi).add(LoopsApi).add(DebugApi)
  .annotateContext(OpenApi.annotations({
    title: "inferd",
    version: "0.1.0",
    description: "CPU-heavy ML inference (OCR, faces, audio) over HTTP, on a pool of worker threads. Every error is JSON `{_tag, message, ...}`."
  }))
{}
