/**
 * The tasks callers hand to `WorkerPool.submit`, one per protocol request, named for metrics, with the
 * platform's failures already turned into ours.
 */
import type { SerializedWorker } from "@effect/platform/Worker"
import { Effect } from "effect"
import { AudioAnalyze, Echo, FaceDetect, type FaceModel, Fault, Ocr, type VadOptions, type WorkerRequest } from "../Workers/Protocol.js"
import { settle, type Task } from "./WorkerSlot.js"

const task = <A, E>(kind: string, run: (worker: SerializedWorker<WorkerRequest>) => Effect.Effect<A, E>) =>
  ({ kind, run: (worker) => settle(run(worker)) }) satisfies Task<unknown, unknown>

/**
 * Transferring detaches a buffer here; sent again, it would never arrive and the task would wait out its
 * deadline. Inputs are never empty (uploads are checked), so an empty one is this program's mistake.
 */
const fresh = (bytes: Uint8Array) =>
  bytes.byteLength > 0 ? Effect.void : Effect.dieMessage("input bytes are empty or were already transferred to a worker: pass a fresh copy")

/** OCR one image (one page of a multi-page one). The bytes are transferred: `image` is detached here once sent. */
export const ocr = (image: Uint8Array, page?: number) =>
  task("ocr", (worker) => Effect.zipRight(fresh(image), worker.executeEffect(new Ocr({ image, page }))))

export interface FaceOptions {
  readonly model: FaceModel
  readonly threshold: number
  readonly embed: boolean
}

/** Detect faces, optionally with embeddings. The bytes are transferred. */
export const detectFaces = (image: Uint8Array, options: FaceOptions) =>
  task(options.embed ? "faces.embed" : "faces.detect", (worker) => Effect.zipRight(fresh(image), worker.executeEffect(new FaceDetect({ image, ...options }))))

/** Decode and analyse audio (speech segments, levels). The bytes are transferred. */
export const analyzeAudio = (audio: Uint8Array, vad: VadOptions) =>
  task("audio.analyze", (worker) => Effect.zipRight(fresh(audio), worker.executeEffect(new AudioAnalyze({ audio, vad }))))

/** A trivial round trip, for measuring dispatch overhead; `data` (transferred) measures moving a payload. */
export const echo = (n: number, data?: Uint8Array) =>
  task("echo", (worker) => Effect.zipRight(data === undefined ? Effect.void : fresh(data), worker.executeEffect(new Echo({ n, data }))))

/** Makes a worker crash, exit, hang or run out of memory (fault injection; see Protocol's `Fault`). */
export const fault = (kind: Fault["kind"]) => task("fault", (worker) => worker.executeEffect(new Fault({ kind })))
