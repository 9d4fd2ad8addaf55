/** The jobs endpoints, and `?async=true` on the synchronous ones, which hands them here. */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Stream } from "effect"
import { Jobs } from "../Fibers/Jobs.js"
import type { JobKind } from "../Layers/JobStore.js"
import { Api } from "./Api.js"
import { JobNotFound } from "./JobsApi.js"
import * as Media from "./Media.js"
import { Upload } from "./Upload.js"

const contentTypeOf = (kind: JobKind, bytes: Uint8Array) =>
  (kind === "audio.analyze" ? Media.audio : Media.image).sniff(bytes).pipe(Option.getOrElse(() => "application/octet-stream"))

/** A job's 202: its id, state and where to follow it. */
export const accepted = (id: string, state: string) =>
  HttpServerResponse.unsafeJson({ id, state, location: `/v1/jobs/${id}` }, { status: 202, headers: { location: `/v1/jobs/${id}` } })

export const layer = HttpApiBuilder.group(Api, "jobs", (handlers) =>
  Effect.gen(function*() {
    const jobs = yield* Jobs
    const upload = yield* Upload
    const found = (id: string) =>
      Effect.flatMap(jobs.get(id), Option.match({
        onNone: () => Effect.fail(new JobNotFound({ message: `no job ${id} (unknown, or expired after INFERD_JOB_TTL)`, id })),
        onSome: Effect.succeed
      }))
    return handlers
      .handle("submit", ({ urlParams }) =>
        Effect.gen(function*() {
          const bytes = urlParams.kind === "audio.analyze" ? yield* upload.one(Media.audio) : yield* upload.one(Media.image)
          const job = yield* jobs.submit(urlParams.kind, bytes, contentTypeOf(urlParams.kind, bytes))
          return accepted(job.id, job.state)
        }))
      .handle("get", ({ path }) => found(path.id))
      .handle("events", ({ path }) =>
        Effect.map(found(path.id), () =>
          HttpServerResponse.stream(
            jobs.changes(path.id).pipe(
              Stream.map((job) => `event: job\ndata: ${JSON.stringify(job)}\n\n`),
              Stream.encodeText
            ),
            { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } }
          )))
  }))
