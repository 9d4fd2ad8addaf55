/**
 * Async jobs: `POST /v1/jobs?kind=…` takes the same body and options as the synchronous endpoint of that kind
 * and answers 202 with the job's id and `Location` once the job is stored; `GET /v1/jobs` lists jobs newest
 * first (`state`, `limit`, `cursor`); `GET /v1/jobs/{id}` is its state, progress, runner, attempts and result
 * or typed error; `GET /v1/jobs/{id}/events` streams its changes as Server-Sent Events until it ends;
 * `DELETE /v1/jobs/{id}` cancels it. Any daemon of a cluster answers for any job.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { isCursor, JobFinished, JobKind, JobNotFound, JobsUnavailable, JobState } from "../Jobs/Job.js"
import { AudioTooLong, AudioUndecodable, ImageTooLarge, ImageUndecodable } from "../Workers/Protocol.js"
import { Accepted } from "./Accepted.js"
import { JobView, JobViewList } from "./JobView.js"
import * as Media from "./Media.js"
import * as Query from "./Query.js"
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from "./Upload.js"

export { JobNotFound }


const JobId = Schema.Struct({ id: Schema.String })

const option = (description: string) => Schema.optional(Schema.String.annotations({ description }))

/**
 * `kind`, and the options of that kind's synchronous endpoint, read by that endpoint's own rules once the kind
 * is known (JobsHandlers): an option the kind does not take is a 400 naming it.
 */
export const SubmitParams = Schema.Struct({
  kind: Query.literal(JobKind.literals, "what the job does: the synchronous endpoint whose body and options it takes"),
  timeoutMs: option("every kind: the deadline of each task (each page of a document), as on its endpoint"),
  lang: option("ocr: languages joined by +, as on /v1/ocr"),
  psm: option("ocr: page segmentation mode, as on /v1/ocr"),
  dpi: option("ocr: what PDF pages are rendered at, as on /v1/ocr"),
  ocr: option("ocr: auto or force, as on /v1/ocr"),
  format: option("ocr: json only (a job's result is JSON)"),
  threshold: option("audio.analyze: as on /v1/audio/analyze"),
  minScore: option("faces.detect, faces.embed: as on their endpoints"),
  model: option("faces.detect, faces.embed: accurate or fast"),
  minSpeechMs: option("audio.analyze: as on /v1/audio/analyze"),
  minSilenceMs: option("audio.analyze: as on /v1/audio/analyze"),
  speechPadMs: option("audio.analyze: as on /v1/audio/analyze")
})

export const ListParams = Schema.Struct({
  state: Schema.optional(Query.literal(JobState.literals, "only jobs in this state")),
  limit: Schema.optionalWith(Query.integer({ min: 1, max: 1000, example: 100, description: "jobs per page (default 100)" }), { default: () => 100 }),
  cursor: Schema.optional(Schema.String.pipe(Schema.filter(isCursor)).annotations({
    description: "`next` from the previous page",
    message: () => ({ message: "takes the `next` of a previous page", override: true })
  }))
})

export class JobsApi extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.post("submit", "/v1/jobs")
      .setUrlParams(SubmitParams)
      .addSuccess(Accepted)
      .addError(PayloadTooLarge).addError(UnsupportedMediaType).addError(MalformedRequest)
      .addError(ImageUndecodable).addError(ImageTooLarge).addError(AudioUndecodable).addError(AudioTooLong)
      .annotate(OpenApi.Summary, "Start a job: the body and options are what the synchronous endpoint of `kind` takes")
      .annotateContext(Media.uploadBody([Media.document, Media.audio]))
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/jobs").setUrlParams(ListParams).addSuccess(JobViewList)
      .annotate(OpenApi.Summary, "Jobs, newest first, a page at a time")
  )
  .add(HttpApiEndpoint.get("get", "/v1/jobs/:id").setPath(JobId).addSuccess(JobView).addError(JobNotFound))
  .add(
    HttpApiEndpoint.get("events", "/v1/jobs/:id/events").setPath(JobId)
      .addSuccess(HttpApiSchema.Text({ contentType: "text/event-stream" }).annotations({
        description: "Server-Sent Events: each is `event: job` with a `data:` line holding the job as `GET /v1/jobs/{id}` answers it (the `Job` schema); the stream ends with the job",
        examples: ["event: job\ndata: {\"id\":\"0b6f5f42-6c1e-4d8e-9a57-3f1c2d4e5a6b\",\"kind\":\"ocr\",\"state\":\"running\",\"progress\":0.5,…}\n\n"]
      }))
      .addError(JobNotFound)
      .annotate(OpenApi.Summary, "The job's changes as Server-Sent Events (`event: job`), until it ends")
  )
  .add(
    HttpApiEndpoint.del("cancel", "/v1/jobs/:id").setPath(JobId).addSuccess(JobView).addError(JobNotFound).addError(JobFinished)
      .annotate(OpenApi.Summary, "Cancel a job: queued, it never runs; running, it stops")
  )
  .addError(JobsUnavailable)
{}
