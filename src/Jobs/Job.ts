/**
 * What a job is, as stored and as `GET /v1/jobs/{id}` answers it: its kind with that kind's options (the same
 * options the synchronous route takes, stored with the job and honoured when it runs), its state, the runner
 * that ran it and how many attempts it took.
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Config, Option, Schema } from "effect"
import { FaceModel, OcrOptions as DocumentOptions } from "../Workers/Protocol.js"

export const JobKind = Schema.Literal("ocr", "faces.detect", "faces.embed", "audio.analyze")
export type JobKind = typeof JobKind.Type

export const JobState = Schema.Literal("queued", "running", "done", "failed", "cancelled")
export type JobState = typeof JobState.Type

export const finished = (state: JobState) => state === "done" || state === "failed" || state === "cancelled"

const timeoutMs = Schema.optional(Schema.Int.pipe(Schema.positive()))

/** `POST /v1/ocr`'s options: languages, page segmentation, dpi, text layers, format, and each page's deadline. */
export const OcrOptions = Schema.extend(DocumentOptions, Schema.Struct({ timeoutMs }))

/** `POST /v1/faces/detect` and `/embed`'s options. */
export const FaceOptions = Schema.Struct({ minScore: Schema.Number, model: FaceModel, timeoutMs })

/** `POST /v1/audio/analyze`'s options: Silero's segmenting rules. */
export const AudioOptions = Schema.Struct({
  threshold: Schema.Number,
  minSpeechMs: Schema.Number,
  minSilenceMs: Schema.Number,
  speechPadMs: Schema.Number,
  timeoutMs
})

/** A kind with its options, as the job stores it. */
export const JobRequest = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("ocr"), options: OcrOptions }),
  Schema.Struct({ kind: Schema.Literal("faces.detect", "faces.embed"), options: FaceOptions }),
  Schema.Struct({ kind: Schema.Literal("audio.analyze"), options: AudioOptions })
)
export type JobRequest = typeof JobRequest.Type

/** The typed error a failed job ended with (any `_tag` the synchronous route could answer, or one below). */
export const JobError = Schema.Struct({ _tag: Schema.String, message: Schema.String })
export type JobError = typeof JobError.Type

export const Job = Schema.Struct({
  id: Schema.String,
  kind: JobKind,
  options: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.Number, Schema.String) }),
  state: JobState,
  /** 0..1; multi-page documents advance a page at a time. */
  progress: Schema.Number,
  /** The runner (`host:port`, see INFERD_RUNNER_ADDRESS) running it or that ran it last; null before it starts. */
  runner: Schema.NullOr(Schema.String),
  /** How many times it was started: more than 1 after a runner died under it or a defect was retried. */
  attempts: Schema.Number,
  createdAt: Schema.String,
  updatedAt: Schema.String,
  /** When its last attempt started. */
  startedAt: Schema.optional(Schema.String),
  /** What the synchronous route of the job's kind answers. */
  result: Schema.optional(Schema.Unknown),
  error: Schema.optional(JobError)
}).annotations({ identifier: "Job" })
export type Job = typeof Job.Type

/** A page of `GET /v1/jobs`, newest first; `next` is the cursor of the following page, null on the last. */
export const JobList = Schema.Struct({ jobs: Schema.Array(Job), next: Schema.NullOr(Schema.String) })
export type JobList = typeof JobList.Type

export class JobNotFound extends Schema.TaggedError<JobNotFound>()(
  "JobNotFound",
  { message: Schema.String, id: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/** `DELETE /v1/jobs/{id}` on a job that already ended: there is nothing left to cancel. */
export class JobFinished extends Schema.TaggedError<JobFinished>()(
  "JobFinished",
  { message: Schema.String, id: Schema.String, state: JobState },
  HttpApiSchema.annotations({ status: 409 })
) {}

/** `INFERD_JOB_MAX_ATTEMPTS` (default 3): how often a job (or a page of one) is tried before it fails as PoisonJob. */
export const maxAttempts = Config.integer("INFERD_JOB_MAX_ATTEMPTS").pipe(Config.withDefault(3))

/**
 * A job that never ends: its runner stopped under it, or our code failed on it (a defect, not a typed
 * error), `INFERD_JOB_MAX_ATTEMPTS` times. It fails with this instead of being tried forever.
 */
export class PoisonJob extends Schema.TaggedError<PoisonJob>()("PoisonJob", { message: Schema.String, attempts: Schema.Number }) {}

/**
 * A job found running after the cluster had answered its message: nothing would ever run it again. Our
 * handler never answers with a job still running; the engine can (an entity type not registered in time,
 * a message it could not decode), and the job then fails with this rather than stay running.
 */
export class JobStranded extends Schema.TaggedError<JobStranded>()("JobStranded", { message: Schema.String, runner: Schema.NullOr(Schema.String) }) {}

/** The jobs database cannot be reached now: retry later. */
export class JobsUnavailable extends Schema.TaggedError<JobsUnavailable>()(
  "JobsUnavailable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}

/** A listing's cursor: the last listed job's creation time and id, so a page never shifts when new jobs arrive. */
export const Cursor = Schema.compose(Schema.StringFromBase64Url, Schema.parseJson(Schema.Tuple(Schema.Number, Schema.String)))

/** Whether `cursor` is one a listing gave (a `next`), rather than text that would silently list from the start. */
export const isCursor = (cursor: string) => Option.isSome(Schema.decodeUnknownOption(Cursor)(cursor))
