/** The jobs endpoints, and `?async=true` on the synchronous ones, which hands them here. */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, ParseResult, Schema, Stream } from "effect"
import type { JobKind, JobRequest } from "../Jobs/Job.js"
import { Jobs } from "../Jobs/Jobs.js"
import { accepted } from "./Accepted.js"
import { Api } from "./Api.js"
import { view } from "./JobView.js"
import { AnalyzeParams } from "./AudioApi.js"
import { DetectParams } from "./FacesApi.js"
import { OcrParams } from "./OcrApi.js"
import * as Media from "./Media.js"
import { MalformedRequest, Upload } from "./Upload.js"

/** The answer of a route that does not run as a job. */
export const asyncNotOffered = (route: string) =>
  new MalformedRequest({ parameter: "async", message: `?async=true is not offered on ${route}: it answers at once (jobs run ocr, faces.detect, faces.embed and audio.analyze)` })

/**
 * A job's result is JSON, kept with the job: the other formats (text, hOCR, TSV, a searchable PDF) are written
 * from a whole reading with the document at hand, which a job does not keep.
 */
export const jsonOnly = (format: string) =>
  format === "json" ? Effect.void : Effect.fail(new MalformedRequest({
    message: `format=${format} is answered synchronously only: a job's result is JSON (drop async, or ask for format=json)`,
    parameter: "format"
  }))

/** Each kind's options, read as its synchronous endpoint reads them (`?async` aside). */
const optionsOf = {
  "ocr": OcrParams.omit("async"),
  "faces.detect": DetectParams.omit("async"),
  "faces.embed": DetectParams.omit("async"),
  "audio.analyze": AnalyzeParams.omit("async")
} as const

const malformed = (kind: JobKind) => (error: ParseResult.ParseError) => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const name = issue?.path.join(".") ?? ""
  return new MalformedRequest({
    message: issue?._tag === "Unexpected" ? `kind ${kind} takes no option "${name}"` : `?${name} ${issue?.message ?? "is invalid"}`,
    parameter: name
  })
}

const requestOf = (kind: JobKind, given: Readonly<Record<string, string | undefined>>): Effect.Effect<JobRequest, MalformedRequest> => {
  const params = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined))
  const decode = <A>(schema: Schema.Schema<A, Readonly<Record<string, string | undefined>>>) =>
    Effect.mapError(Schema.decodeUnknown(schema, { onExcessProperty: "error" })(params), malformed(kind))
  switch (kind) {
    case "ocr":
      return Effect.map(decode(optionsOf.ocr), (options) => ({ kind, options }))
    case "faces.detect":
    case "faces.embed":
      return Effect.map(decode(optionsOf[kind]), (options) => ({ kind, options }))
    case "audio.analyze":
      return Effect.map(decode(optionsOf[kind]), (options) => ({ kind, options }))
  }
}

export const layer = HttpApiBuilder.group(Api, "jobs", (handlers) =>
  Effect.gen(function*() {
    const jobs = yield* Jobs
    const upload = yield* Upload
    return handlers
      .handle("submit", ({ urlParams: { kind, ...params } }) =>
        Effect.gen(function*() {
          const request = yield* requestOf(kind, params)
          if (request.kind === "ocr") yield* jsonOnly(request.options.format)
          const bytes = kind === "audio.analyze" ? yield* upload.one(Media.audio) : yield* upload.one(kind === "ocr" ? Media.document : Media.image)
          const job = yield* jobs.submit(request, bytes)
          return accepted(job.id, job.state)
        }))
      .handle("list", ({ urlParams }) =>
        Effect.flatMap(jobs.list(urlParams), ({ jobs, next }) => Effect.map(Effect.forEach(jobs, view), (shown) => ({ jobs: shown, next }))))
      .handle("get", ({ path }) => Effect.flatMap(jobs.get(path.id), view))
      .handle("cancel", ({ path }) => Effect.flatMap(jobs.cancel(path.id), view))
      .handle("events", ({ path }) =>
        Effect.map(jobs.get(path.id), () =>
          HttpServerResponse.stream(
            jobs.changes(path.id).pipe(
              Stream.map((job) => `event: job\ndata: ${JSON.stringify(job)}\n\n`),
              Stream.encodeText
            ),
            { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } }
          )))
  }))
