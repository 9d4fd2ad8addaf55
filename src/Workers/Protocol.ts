/**
 * The worker protocol: every request that crosses the thread boundary, its result and its failures.
 * Both sides import this file, so a change here is a change on both sides at once.
 */
import { HttpApiSchema } from "@effect/platform"
import * as Transferable from "@effect/platform/Transferable"
import { WorkerError } from "@effect/platform/WorkerError"
import { Schema } from "effect"

/** The image could not be decoded (corrupt, truncated, not an image at all). */
export class ImageUndecodable extends Schema.TaggedError<ImageUndecodable>()(
  "ImageUndecodable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 422 })
) {}

/** The image decodes to more pixels than `INFERD_MAX_PIXELS` allows (decompression bombs land here). */
export class ImageTooLarge extends Schema.TaggedError<ImageTooLarge>()(
  "ImageTooLarge",
  {
    message: Schema.String,
    width: Schema.Number,
    height: Schema.Number,
    maxPixels: Schema.Number
  },
  HttpApiSchema.annotations({ status: 413 })
) {}

/** The inference engine itself failed on an input that decoded fine: our fault, not the client's. */
export class InferenceFailed extends Schema.TaggedError<InferenceFailed>()(
  "InferenceFailed",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 500 })
) {}

export const BoundingBox = Schema.Struct({ x0: Schema.Number, y0: Schema.Number, x1: Schema.Number, y1: Schema.Number })

export const OcrWord = Schema.Struct({ text: Schema.String, confidence: Schema.Number, bbox: BoundingBox })

export const OcrResult = Schema.Struct({
  text: Schema.String,
  confidence: Schema.Number,
  words: Schema.Array(OcrWord),
  width: Schema.Number,
  height: Schema.Number,
  durationMs: Schema.Number
})
export type OcrResult = typeof OcrResult.Type

/**
 * A platform `WorkerError` (the thread died) arrives through the request's failure schema, so each request's
 * failure union carries it; otherwise the caller gets a ParseError instead (see research/effect-platform.md §1).
 */
const ImageFailures = Schema.Union(ImageUndecodable, ImageTooLarge, InferenceFailed, WorkerError)

/** OCR one image. The bytes are transferred to the worker, not copied. */
export class Ocr extends Schema.TaggedRequest<Ocr>()("Ocr", {
  failure: ImageFailures,
  success: OcrResult,
  payload: { image: Transferable.Uint8Array }
}) {}

/** Load the worker's engines and run one small page, so the first real request does not pay the WASM tier-up. */
export class Warmup extends Schema.TaggedRequest<Warmup>()("Warmup", {
  failure: Schema.Union(InferenceFailed, WorkerError),
  success: Schema.Struct({ durationMs: Schema.Number }),
  payload: {}
}) {}

/** A trivial round trip, for measuring dispatch overhead. */
export class Echo extends Schema.TaggedRequest<Echo>()("Echo", {
  failure: WorkerError,
  success: Schema.Struct({ n: Schema.Number }),
  payload: { n: Schema.Number }
}) {}

/**
 * Fault injection (only routed when `INFERD_ENABLE_FAULTS=1`): makes the worker fail the way real workloads
 * do, so tests and checks can drive crash recovery and deadlines through the real pool.
 */
export class Fault extends Schema.TaggedRequest<Fault>()("Fault", {
  failure: WorkerError,
  success: Schema.Struct({ kind: Schema.String }),
  payload: { kind: Schema.Literal("crash", "exit", "hang", "oom") }
}) {}

export const WorkerRequest = Schema.Union(Ocr, Warmup, Echo, Fault)
export type WorkerRequest = typeof WorkerRequest.Type

/** Settings the main thread hands each worker through `workerData` (a respawned thread gets them again). */
export const WorkerSettings = Schema.Struct({
  maxPixels: Schema.Number,
  tesseractLangPath: Schema.String
})
export type WorkerSettings = typeof WorkerSettings.Type
