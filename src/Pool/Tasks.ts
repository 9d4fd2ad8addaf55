/**
 * The tasks callers hand to `WorkerPool.submit`, one per protocol request, named for metrics. Each carries its
 * request in the encoded form the thread decodes, the buffers it moves there, and how to read its answer.
 */
import { Effect, Schema } from "effect"
import {
  AudioAnalyze,
  Echo,
  FaceDetect,
  type FaceModel,
  Fault,
  Inspect,
  Ocr,
  type OcrOptions,
  SearchablePdf,
  transfersOf,
  type VadOptions,
  Warmup,
  type WorkerRequest
} from "../Workers/Protocol.js"
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
const readInspect = reader(Inspect)
const readSearchablePdf = reader(SearchablePdf)
const readFaces = reader(FaceDetect)
const readAudio = reader(AudioAnalyze)
const readWarmup = reader(Warmup)
const readEcho = reader(Echo)
const readFault = reader(Fault)

/**
 * Moving detaches a buffer here; sent again, it would arrive empty. Inputs are never empty (uploads are
 * checked), so an empty one is this program's mistake.
 */
const fresh = (bytes: Uint8Array) => () =>
  bytes.byteLength > 0 ? undefined : "input bytes are empty or were already transferred to a worker: pass a fresh copy"

const always = () => undefined

/** A task whose input is `bytes`, moved to the worker or copied as Protocol's `transfersOf` says. */
const carrying = <A, E>(kind: string, request: typeof WorkerRequest.Encoded, bytes: Uint8Array, read: (answer: Answer) => Effect.Effect<A, E>, pipelined = false): Task<A, E> =>
  ({ kind, request, transfers: transfersOf(bytes), pipelined, unsendable: fresh(bytes), read })

/**
 * OCR one page (from 1) of an image or document. Bytes of the caller's own are moved (`image` is detached here
 * once sent); bytes in a SharedArrayBuffer are shared, so every page of a document can be sent the same bytes.
 */
export const ocr = (image: Uint8Array, page?: number, options?: OcrOptions): TaskOf<typeof Ocr> =>
  carrying("ocr", { _tag: "Ocr", image, page, options }, image, readOcr, true)

/** One searchable PDF of a document's pages (`document`: the PDF read, if it was one). */
export const searchablePdf = (document: Uint8Array | undefined, pages: SearchablePdf["pages"]): TaskOf<typeof SearchablePdf> => ({
  kind: "ocr.pdf",
  request: { _tag: "SearchablePdf", document, pages },
  transfers: [document, ...pages.map((page) => page.pdf)].flatMap((bytes) => bytes === undefined ? [] : transfersOf(bytes)),
  pipelined: false,
  unsendable: always,
  read: readSearchablePdf
})

/** How many pages a document has (moved or shared, as for `ocr`). */
export const inspect = (document: Uint8Array): TaskOf<typeof Inspect> => carrying("ocr.inspect", { _tag: "Inspect", document }, document, readInspect)

export interface FaceOptions {
  readonly model: FaceModel
  readonly minScore: number
  readonly embed: boolean
}

/** Detect faces, optionally with embeddings. */
export const detectFaces = (image: Uint8Array, options: FaceOptions): TaskOf<typeof FaceDetect> =>
  carrying(options.embed ? "faces.embed" : "faces.detect", { _tag: "FaceDetect", image, model: options.model, minScore: options.minScore, embed: options.embed }, image, readFaces)

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
