/**
 * The answer of a task route asked `?async=true`, and of `POST /v1/jobs`: 202 with the job's id, its state and
 * where to follow it, also in `Location`.
 */
import { HttpApiSchema, HttpServerResponse } from "@effect/platform"
import { Schema } from "effect"

export const Accepted = Schema.Struct({
  id: Schema.String,
  state: Schema.Literal("queued", "running", "done", "failed", "cancelled"),
  location: Schema.String.annotations({ description: "`/v1/jobs/{id}`, also in the `Location` header" })
}).annotations({
  ...HttpApiSchema.annotations({ status: 202 }),
  identifier: "Accepted",
  description: "The job was stored and will run: follow it at `location`",
  examples: [{ id: "0b6f5f42-6c1e-4d8e-9a57-3f1c2d4e5a6b", state: "queued", location: "/v1/jobs/0b6f5f42-6c1e-4d8e-9a57-3f1c2d4e5a6b" }]
})

/** A job's 202. */
export const accepted = (id: string, state: typeof Accepted.Type["state"]) =>
  HttpServerResponse.unsafeJson({ id, state, location: `/v1/jobs/${id}` }, { status: 202, headers: { location: `/v1/jobs/${id}` } })
