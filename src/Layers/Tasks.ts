/**
 * The tasks callers hand to `WorkerPool.submit`, one per protocol request, with the platform's failures
 * already turned into ours.
 */
import { AudioAnalyze, Echo, FaceDetect, Fault, Ocr, type VadOptions } from "../Workers/Protocol.js"
import { settle, type Task } from "./WorkerSlot.js"

/** OCR one image. The bytes are transferred: `image` is detached (empty) here once sent. */
export const ocr = (image: Uint8Array) => ((worker) => settle(worker.executeEffect(new Ocr({ image })))) satisfies Task<unknown, unknown>

/** Detect faces, optionally with embeddings. The bytes are transferred. */
export const detectFaces = (image: Uint8Array, options: Omit<FaceDetect, "_tag" | "image">) =>
  ((worker) => settle(worker.executeEffect(new FaceDetect({ image, ...options })))) satisfies Task<unknown, unknown>

/** Decode and analyse audio (speech segments, levels). The bytes are transferred. */
export const analyzeAudio = (audio: Uint8Array, vad: VadOptions) =>
  ((worker) => settle(worker.executeEffect(new AudioAnalyze({ audio, vad })))) satisfies Task<unknown, unknown>

/** A trivial round trip, for measuring dispatch overhead. */
export const echo = (n: number) => ((worker) => settle(worker.executeEffect(new Echo({ n })))) satisfies Task<unknown, unknown>

/** Makes a worker crash, exit, hang or run out of memory (fault injection; see Protocol's `Fault`). */
export const fault = (kind: Fault["kind"]) => ((worker) => settle(worker.executeEffect(new Fault({ kind })))) satisfies Task<unknown, unknown>
