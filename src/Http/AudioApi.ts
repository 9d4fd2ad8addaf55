/**
 * The audio group: `POST /v1/audio/analyze` takes an audio file (raw body or multipart `file`) and answers its
 * speech segments and levels. Silero's segmenting rules are query parameters with Silero's defaults.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { JobsUnavailable } from "../Jobs/Job.js"
import { Overloaded, ShuttingDown, TaskTimeout, WorkerCrashed } from "../Layers/PoolErrors.js"
import { AudioAnalysis, AudioTooLong, AudioUndecodable, InferenceFailed, ModelUnavailable } from "../Workers/Protocol.js"
import * as Media from "./Media.js"
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from "./Upload.js"

const param = (fallback: number, min: number, max: number, integer: boolean) =>
  Schema.optionalWith(
    (integer ? Schema.NumberFromString.pipe(Schema.int()) : Schema.NumberFromString).pipe(Schema.between(min, max)),
    { default: () => fallback }
  )

/**
 * The query: `threshold` (speech probability that starts a segment, default 0.5, 0.01–0.99), `minSpeechMs`
 * (shorter segments are dropped, default 250, 0–60000), `minSilenceMs` (silence that ends a segment, default
 * 100, 0–10000), `speechPadMs` (added to each side, default 30, 0–2000), and `timeoutMs` (the task's deadline,
 * capped by `INFERD_TASK_TIMEOUT`), `async=true` for a job. Out of range is a 400.
 */
export const AnalyzeParams = Schema.Struct({
  threshold: param(0.5, 0.01, 0.99, false),
  minSpeechMs: param(250, 0, 60_000, true),
  minSilenceMs: param(100, 0, 10_000, true),
  speechPadMs: param(30, 0, 2_000, true),
  timeoutMs: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.positive())),
  /** `?async=true`: answer 202 with a job (see /v1/jobs) instead of the result. */
  async: Schema.optional(Schema.BooleanFromString)
})

/** Speech detection and levels; the errors are every failure of an upload run on the pool. */
export class AudioApi extends HttpApiGroup.make("audio")
  .add(
    HttpApiEndpoint.post("analyze", "/v1/audio/analyze").setUrlParams(AnalyzeParams).addSuccess(AudioAnalysis)
      .annotateContext(Media.uploadBody(Media.audio))
      .annotate(OpenApi.Summary, "Find the speech in an audio file, and its levels")
  )
  .addError(PayloadTooLarge).addError(UnsupportedMediaType).addError(MalformedRequest)
  .addError(AudioUndecodable).addError(AudioTooLong).addError(InferenceFailed).addError(ModelUnavailable)
  .addError(Overloaded).addError(ShuttingDown).addError(TaskTimeout).addError(WorkerCrashed).addError(JobsUnavailable)
{}
