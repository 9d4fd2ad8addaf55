/**
 * Async jobs: `POST /v1/jobs?kind=…` takes the same body as the synchronous endpoint of that kind and answers
 * 202 with the job's id and `Location`; `GET /v1/jobs/{id}` is its state, progress and result or typed error;
 * `GET /v1/jobs/{id}/events` streams its changes as Server-Sent Events until it ends.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Job, JobKind } from "../Layers/JobStore.js"
import { AudioUndecodable, ImageUndecodable } from "../Workers/Protocol.js"
import * as Query from "./Query.js"
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from "./Upload.js"

export class JobNotFound extends Schema.TaggedError<JobNotFound>()(
  "JobNotFound",
  { message: Schema.String, id: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

export const Accepted = Schema.Struct({ id: Schema.String, state: Schema.String, location: Schema.String }).annotations(
  HttpApiSchema.annotations({ status: 202 })
)

const JobId = Schema.Struct({ id: Schema.String })

export class JobsApi extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.post("submit", "/v1/jobs")
      .setUrlParams(Schema.Struct({ kind: Query.literal(JobKind.literals, "what the job does: the synchronous endpoint whose body it takes") }))
      .addSuccess(Accepted)
      .addError(PayloadTooLarge).addError(UnsupportedMediaType).addError(MalformedRequest)
      .addError(ImageUndecodable).addError(AudioUndecodable)
      .annotate(OpenApi.Summary, "Start a job: the body is what the synchronous endpoint of `kind` takes")
  )
  .add(HttpApiEndpoint.get("get", "/v1/jobs/:id").setPath(JobId).addSuccess(Job).addError(JobNotFound))
  .add(
    HttpApiEndpoint.get("events", "/v1/jobs/:id/events").setPath(JobId)
      .addSuccess(HttpApiSchema.Text({ contentType: "text/event-stream" }))
      .addError(JobNotFound)
      .annotate(OpenApi.Summary, "The job's changes as Server-Sent Events (`event: job`), until it is done or failed")
  )
{}
