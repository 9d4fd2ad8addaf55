/**
 * Async jobs: `POST /v1/jobs?kind=…` takes the same body and options as the synchronous endpoint of that kind
 * and answers 202 with the job's id and `Location` once the job is stored; `GET /v1/jobs` lists jobs newest
 * first (`state`, `limit`, `cursor`); `GET /v1/jobs/{id}` is its state, progress, runner, attempts and result
 * or typed error; `GET /v1/jobs/{id}/events` streams its changes as Server-Sent Events until it ends;
 * `DELETE /v1/jobs/{id}` cancels it. Any daemon of a cluster answers for any job.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Job, JobFinished, JobKind, JobList, JobNotFound, JobsUnavailable, JobState } from "../Jobs/Job.js"
import { AudioTooLong, AudioUndecodable, ImageTooLarge, ImageUndecodable } from "../Workers/Protocol.js"
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from "./Upload.js"

export { JobNotFound }

export const Accepted = Schema.Struct({ id: Schema.String, state: Schema.String, location: Schema.String }).annotations(
  HttpApiSchema.annotations({ status: 202 })
)

const JobId = Schema.Struct({ id: Schema.String })

/** `kind`, and the options of that kind's synchronous endpoint (checked against it). */
export const SubmitParams = Schema.Struct({ kind: JobKind }, Schema.Record({ key: Schema.String, value: Schema.String }))

export const ListParams = Schema.Struct({
  state: Schema.optional(JobState),
  /** Jobs per page, 1–1000 (default 100). */
  limit: Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)), { default: () => 100 }),
  /** `next` from the previous page. */
  cursor: Schema.optional(Schema.String)
})

export class JobsApi extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.post("submit", "/v1/jobs")
      .setUrlParams(SubmitParams)
      .addSuccess(Accepted)
      .addError(PayloadTooLarge).addError(UnsupportedMediaType).addError(MalformedRequest)
      .addError(ImageUndecodable).addError(ImageTooLarge).addError(AudioUndecodable).addError(AudioTooLong)
      .annotate(OpenApi.Summary, "Start a job: the body and options are what the synchronous endpoint of `kind` takes")
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/jobs").setUrlParams(ListParams).addSuccess(JobList)
      .annotate(OpenApi.Summary, "Jobs, newest first, a page at a time")
  )
  .add(HttpApiEndpoint.get("get", "/v1/jobs/:id").setPath(JobId).addSuccess(Job).addError(JobNotFound))
  .add(
    HttpApiEndpoint.get("events", "/v1/jobs/:id/events").setPath(JobId)
      .addSuccess(HttpApiSchema.Text({ contentType: "text/event-stream" }))
      .addError(JobNotFound)
      .annotate(OpenApi.Summary, "The job's changes as Server-Sent Events (`event: job`), until it ends")
  )
  .add(
    HttpApiEndpoint.del("cancel", "/v1/jobs/:id").setPath(JobId).addSuccess(Job).addError(JobNotFound).addError(JobFinished)
      .annotate(OpenApi.Summary, "Cancel a job: queued, it never runs; running, it stops")
  )
  .addError(JobsUnavailable)
{}
