/**
 * The audio group: `POST /v1/audio/analyze` takes an audio file (raw body or multipart `file`) and answers its
 * speech segments and levels. Silero's segmenting rules are query parameters with Silero's defaults.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { JobsUnavailable } from "../Jobs/Job.js"
import { Overloaded, ShuttingDown, TaskTimeout, WorkerCrashed } from "../Pool/PoolErrors.js"
import { AudioAnalysis, AudioTooLong, AudioUndecodable, InferenceFailed, ModelUnavailable } from "../Workers/Protocol.js"
import { Accepted } from "./Accepted.js"
import * as Media from "./Media.js"
import * as Query from "./Query.js"
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from "./Upload.js"

const param = (fallback: number, min: number, max: number, integer: boolean, description: string) =>
  Schema.optionalWith(
    (integer ? Query.integer : Query.number)({ min, max, example: fallback, description: `${description} (default ${fallback})` }),
    { default: () => fallback }
  )

/**
 * The query: `threshold` (speech probability that starts a segment, default 0.5, 0.01–0.99), `minSpeechMs`
 * (shorter segments are dropped, default 250, 0–60000), `minSilenceMs` (silence that ends a segment, default
 * 100, 0–10000), `speechPadMs` (added to each side, default 30, 0–2000), and `timeoutMs` (the task's deadline,
 * capped by `INFERD_TASK_TIMEOUT`), `async=true` for a job. Out of range is a 400.
 */
export const AnalyzeParams = Schema.Struct({
  threshold: param(0.5, 0.01, 0.99, false, "speech probability that starts a segment"),
  minSpeechMs: param(250, 0, 60_000, true, "shorter speech segments are dropped"),
  minSilenceMs: param(100, 0, 10_000, true, "silence that ends a segment"),
  speechPadMs: param(30, 0, 2_000, true, "milliseconds added to each side of a segment"),
  timeoutMs: Schema.optional(Query.timeoutMs),
  async: Schema.optional(Query.async)
})

/** Speech detection and levels; the errors are every failure of an upload run on the pool. */
export class AudioApi extends HttpApiGroup.make("audio")
  .add(
    HttpApiEndpoint.post("analyze", "/v1/audio/analyze").setUrlParams(AnalyzeParams).addSuccess(AudioAnalysis).addSuccess(Accepted)
      .annotateContext(Media.uploadBody([Media.audio]))
      .annotate(OpenApi.Summary, "Find the speech in an audio file, and its levels")
  )
  .addError(PayloadTooLarge).addError(UnsupportedMediaType).addError(MalformedRequest)
  .addError(AudioUndecodable).addError(AudioTooLong).addError(InferenceFailed).addError(ModelUnavailable)
  .addError(Overloaded).addError(ShuttingDown).addError(TaskTimeout).addError(WorkerCrashed).addError(JobsUnavailable)
{}
