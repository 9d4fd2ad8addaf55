/**
 * The tasks callers hand to `WorkerPool.submit`, one per protocol request, named for metrics. Each carries its
 * request in the encoded form the thread decodes, the buffers it moves there, and how to read its answer.
 */
import { Effect, Schema } from "effect"
import { AudioAnalyze, Echo, FaceDetect, type FaceModel, Fault, Ocr, type VadOptions, Warmup, type WorkerRequest } from "../Workers/Protocol.js"
import type { Answer } from "./WorkerThread.js"

export interface Task<A, E> {
  readonly kind: string
  /**
   * The request as it crosses to the thread, typed by its class's encoded form. Built here rather than
   * encoded through its class: in effect 3.22 constructing and serializing a request took 60–80 µs per task,
   * more than its whole dispatch.
   */
  readonly request: typeof WorkerRequest.Encoded
  readonly transfers: ReadonlyArray<ArrayBufferLike>
  /**
   * Whether a worker already running one may be sent another. OCR's is: tesseract reads in a thread of its
   * own, so the worker thread can decode and hand over the next page meanwhile. The rest run on the worker
   * thread itself, where a second task would only wait.
   */
  readonly pipelined: boolean
  /** A reason the request cannot be sent (its input already transferred), checked before it is queued. */
  readonly unsendable: () => string | undefined
  /** The result or the typed failure out of the thread's answer; an answer that does not decode is a defect. */
  readonly read: (answer: Answer) => Effect.Effect<A, E>
}

/** How the answers to one kind of request are read, with that request's own schemas. */
const reader = <A, SI, E, FI>(request: { readonly success: Schema.Schema<A, SI>; readonly failure: Schema.Schema<E, FI> }) => {
  const success = Schema.decodeUnknown(request.success)
  const failure = Schema.decodeUnknown(request.failure)
  return (answer: Answer): Effect.Effect<A, E> => {
    switch (answer._tag) {
      case "Success":
        return Effect.orDie(success(answer.value))
      case "Failure":
        return Effect.flatMap(Effect.orDie(failure(answer.error)), Effect.fail)
      case "Defect":
        return Effect.flatMap(Effect.orDie(defect(answer.defect)), Effect.die)
    }
  }
}

const defect = Schema.decodeUnknown(Schema.Defect)

/** The task of a request class: its result and its typed failure. */
type TaskOf<R extends { readonly success: Schema.Schema.All; readonly failure: Schema.Schema.All }> = Task<Schema.Schema.Type<R["success"]>, Schema.Schema.Type<R["failure"]>>

const readOcr = reader(Ocr)
const readFaces = reader(FaceDetect)
const readAudio = reader(AudioAnalyze)
const readWarmup = reader(Warmup)
const readEcho = reader(Echo)
const readFault = reader(Fault)

/**
 * Transferring detaches a buffer here; sent again, it would never arrive. Inputs are never empty (uploads are
 * checked), so an empty one is this program's mistake.
 */
const fresh = (bytes: Uint8Array) => () =>
  bytes.byteLength > 0 ? undefined : "input bytes are empty or were already transferred to a worker: pass a fresh copy"

const always = () => undefined

/** A task whose input is `bytes`, transferred to the worker: `bytes` is detached here once it is sent. */
const carrying = <A, E>(kind: string, request: typeof WorkerRequest.Encoded, bytes: Uint8Array, read: (answer: Answer) => Effect.Effect<A, E>, pipelined = false): Task<A, E> =>
  ({ kind, request, transfers: [bytes.buffer], pipelined, unsendable: fresh(bytes), read })

/** OCR one image (one page of a multi-page one). */
export const ocr = (image: Uint8Array, page?: number): TaskOf<typeof Ocr> => carrying("ocr", { _tag: "Ocr", image, page }, image, readOcr, true)

export interface FaceOptions {
  readonly model: FaceModel
  readonly threshold: number
  readonly embed: boolean
}

/** Detect faces, optionally with embeddings. */
export const detectFaces = (image: Uint8Array, options: FaceOptions): TaskOf<typeof FaceDetect> =>
  carrying(options.embed ? "faces.embed" : "faces.detect", { _tag: "FaceDetect", image, model: options.model, threshold: options.threshold, embed: options.embed }, image, readFaces)

/** Decode and analyse audio (speech segments, levels). */
export const analyzeAudio = (audio: Uint8Array, vad: VadOptions): TaskOf<typeof AudioAnalyze> =>
  carrying("audio.analyze", { _tag: "AudioAnalyze", audio, vad }, audio, readAudio)

/** Creates the worker's OCR engine and reads one small page: a worker takes traffic only after it. */
export const warmup = (): TaskOf<typeof Warmup> => ({
  kind: "warmup",
  request: { _tag: "Warmup" },
  transfers: [],
  pipelined: false,
  unsendable: always,
  read: readWarmup
})

/** A trivial round trip, for measuring dispatch overhead; `data` measures moving a payload. */
export const echo = (n: number, data?: Uint8Array): TaskOf<typeof Echo> =>
  data === undefined
    ? { kind: "echo", request: { _tag: "Echo", n }, transfers: [], pipelined: false, unsendable: always, read: readEcho }
    : carrying("echo", { _tag: "Echo", n, data }, data, readEcho)

/** Makes a worker crash, exit, hang or run out of memory (fault injection; see Protocol's `Fault`). */
export const fault = (kind: Fault["kind"]): TaskOf<typeof Fault> => ({
  kind: "fault",
  request: { _tag: "Fault", kind },
  transfers: [],
  pipelined: false,
  unsendable: always,
  read: readFault
})
