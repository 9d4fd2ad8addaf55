/**
 * A job as the API shows it: a union discriminated by `kind`, whose `options` and `result` are that kind's
 * (the synchronous route's options and answer) and whose `error` is one of the typed errors a job can end
 * with. A generated client narrows `job.kind === "ocr"` to an OCR result. Stored jobs are read through it, so
 * a record the API could not describe is a bug of ours, never a body that contradicts the document.
 */
import { Effect, Schema } from "effect"
import { AudioOptions, FaceOptions, type Job, JobState, OcrOptions, PoisonJob } from "../Jobs/Job.js"
import { OcrResult, TooManyPages } from "../Layers/OcrDocument.js"
import { TaskTimeout, WorkerCrashed } from "../Pool/PoolErrors.js"
import {
  AudioAnalysis, AudioTooLong, AudioUndecodable, DocumentUnreadable, ImageTooLarge, ImageUndecodable, InferenceFailed, ModelUnavailable
} from "../Workers/Protocol.js"
import { Detection, Embedding } from "./FacesApi.js"

/** An error without a schema of its own here: its `_tag` and `message` still say what happened. */
const OtherError = Schema.Struct({ _tag: Schema.String, message: Schema.String }).annotations({ identifier: "OtherJobError" })

/** What a job can end with: its task's own errors, the pool's, the engine's, or (last) any other tag. */
export const JobFailure = Schema.Union(
  ImageUndecodable, ImageTooLarge, DocumentUnreadable, TooManyPages, InferenceFailed, ModelUnavailable,
  AudioUndecodable, AudioTooLong, TaskTimeout, WorkerCrashed, PoisonJob, OtherError
).annotations({ identifier: "JobFailure" })

const common = {
  id: Schema.String,
  state: JobState,
  progress: Schema.Number.annotations({ description: "0..1; a document advances a page at a time" }),
  runner: Schema.NullOr(Schema.String).annotations({ description: "the runner (`host:port`) running it or that ran it last; null before it starts" }),
  attempts: Schema.Number.annotations({ description: "how often it was started: more than 1 after a runner died under it" }),
  createdAt: Schema.String,
  updatedAt: Schema.String,
  startedAt: Schema.optional(Schema.String),
  error: Schema.optional(JobFailure)
}

const of = <K extends string, O, OI, R, RI>(kind: K, options: Schema.Schema<O, OI>, result: Schema.Schema<R, RI>, identifier: string) =>
  Schema.Struct({ ...common, kind: Schema.Literal(kind), options, result: Schema.optional(result) }).annotations({ identifier })

export const JobView = Schema.Union(
  of("ocr", OcrOptions, OcrResult, "OcrJob"),
  of("faces.detect", FaceOptions, Detection, "FaceDetectionJob"),
  of("faces.embed", FaceOptions, Embedding, "FaceEmbeddingJob"),
  of("audio.analyze", AudioOptions, AudioAnalysis, "AudioJob")
).annotations({ identifier: "Job" })
export type JobView = typeof JobView.Type

/** A page of `GET /v1/jobs`, newest first; `next` is the cursor of the following page, null on the last. */
export const JobViewList = Schema.Struct({ jobs: Schema.Array(JobView), next: Schema.NullOr(Schema.String) }).annotations({ identifier: "JobList" })

const decode = Schema.decodeUnknown(JobView)

/** A stored job as the API shows it. */
export const view = (job: Job) => Effect.orDie(decode(job))
