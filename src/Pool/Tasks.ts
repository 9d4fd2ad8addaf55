/**
 * The tasks callers hand to `WorkerPool.submit`, one per protocol request, named for metrics, with the
 * platform's failures already turned into ours.
 */
import type { SerializedWorker } from "@effect/platform/Worker"
import type { WorkerError } from "@effect/platform/WorkerError"
import { Effect, Either, Exit, type ParseResult, Schema } from "effect"
import { AudioAnalyze, type BatchAnswer, type BatchItem, Echo, FaceDetect, type FaceModel, Fault, Inspect, Ocr, type OcrOptions, SearchablePdf, type VadOptions, type WorkerRequest } from "../Workers/Protocol.js"
import type { Task } from "./Job.js"
import { ours, settle, type WorkerCrashed } from "./PoolErrors.js"

/**
 * Requests are built without the constructor's check: their fields are typed here, and in effect 3.22 the
 * check recompiles its validator on every call when a field transforms (Transferable's bytes do), which
 * took 28 µs for an Echo, ten times the rest of its dispatch.
 */
const unchecked = true

/**
 * Transferring detaches a buffer here; sent again, it would never arrive and the task would wait out its
 * deadline. Inputs are never empty (uploads are checked), so an empty one is this program's mistake.
 */
const fresh = (bytes: Uint8Array) => () =>
  bytes.byteLength > 0 ? undefined : "input bytes are empty or were already transferred to a worker: pass a fresh copy"

/** An item's answer in a batch, decoded with its own request's schemas; a ParseError is a protocol defect. */
const read = <A, SI, E, FI>(request: Schema.WithResult<A, SI, E, FI, never>, answer: BatchAnswer): Exit.Exit<A, Exclude<E, WorkerError | ParseResult.ParseError> | WorkerCrashed> => {
  switch (answer._tag) {
    case "Success":
      return Either.match(Schema.decodeUnknownEither(Schema.successSchema(request))(answer.value), { onLeft: Exit.die, onRight: Exit.succeed })
    case "Failure":
      return Either.match(Schema.decodeUnknownEither(Schema.failureSchema(request))(answer.error), { onLeft: Exit.die, onRight: (error) => Exit.fail(ours(error)) })
    case "Defect":
      return Exit.die(answer.defect)
  }
}

/**
 * `send` is `worker.executeEffect(request)` written where the request's type is known: the platform types
 * the result through a conditional type that a generic request would leave unresolved.
 */
const task = <A, SI, E, FI>(
  kind: string,
  request: BatchItem & Schema.WithResult<A, SI, E, FI, never>,
  send: (worker: SerializedWorker<WorkerRequest>) => Effect.Effect<A, E | WorkerError | ParseResult.ParseError>,
  unsendable: () => string | undefined = () => undefined
): Task<A, Exclude<E, WorkerError | ParseResult.ParseError> | WorkerCrashed> => ({
  kind,
  request,
  unsendable,
  run: (worker) => settle(Effect.suspend(() => {
    const problem = unsendable()
    return problem === undefined ? send(worker) : Effect.dieMessage(problem)
  })),
  read: (answer) => read(request, answer)
})

/**
 * OCR one page (from 1) of an image. Bytes of the caller's own are transferred (`image` is detached here once
 * sent); bytes in a SharedArrayBuffer are shared, so every page of a document can be sent the same bytes.
 */
export const ocr = (image: Uint8Array, page?: number, options?: OcrOptions) => {
  const request = new Ocr({ image, page, options }, unchecked)
  return task("ocr", request, (worker) => worker.executeEffect(request), fresh(image))
}

/** One searchable PDF of a document's pages (`document`: the PDF read, if it was one). */
export const searchablePdf = (document: Uint8Array | undefined, pages: SearchablePdf["pages"]) => {
  const request = new SearchablePdf({ document, pages }, unchecked)
  return task("ocr.pdf", request, (worker) => worker.executeEffect(request))
}

/** How many pages a document has (transferred or shared, as for `ocr`). */
export const inspect = (document: Uint8Array) => {
  const request = new Inspect({ document }, unchecked)
  return task("ocr.inspect", request, (worker) => worker.executeEffect(request), fresh(document))
}

export interface FaceOptions {
  readonly model: FaceModel
  readonly minScore: number
  readonly embed: boolean
}

/** Detect faces, optionally with embeddings. The bytes are transferred. */
export const detectFaces = (image: Uint8Array, options: FaceOptions) => {
  const request = new FaceDetect({ image, ...options }, unchecked)
  return task(options.embed ? "faces.embed" : "faces.detect", request, (worker) => worker.executeEffect(request), fresh(image))
}

/** Decode and analyse audio (speech segments, levels). The bytes are transferred. */
export const analyzeAudio = (audio: Uint8Array, vad: VadOptions) => {
  const request = new AudioAnalyze({ audio, vad }, unchecked)
  return task("audio.analyze", request, (worker) => worker.executeEffect(request), fresh(audio))
}

/** A trivial round trip, for measuring dispatch overhead; `data` (transferred) measures moving a payload. */
export const echo = (n: number, data?: Uint8Array) => {
  const request = new Echo({ n, data }, unchecked)
  return task("echo", request, (worker) => worker.executeEffect(request), data === undefined ? undefined : fresh(data))
}

/** Makes a worker crash, exit, hang or run out of memory (fault injection; see Protocol's `Fault`). */
export const fault = (kind: Fault["kind"]) => {
  const request = new Fault({ kind }, unchecked)
  return task("fault", request, (worker) => worker.executeEffect(request))
}
