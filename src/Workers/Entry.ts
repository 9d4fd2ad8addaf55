/**
 * The worker thread's entry: serves the protocol with engines that live as long as the thread. Settings come
 * through `workerData`, so the thread has them before its first message.
 */
// Subpath imports: the packages' barrels load the HTTP stack too, which a worker thread never uses and
// which would slow every worker's start.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import { Effect, Layer, Schema } from "effect"
import * as os from "node:os"
import { workerData } from "node:worker_threads"
import * as Audio from "./Audio.js"
import * as Faces from "./Faces.js"
import * as Tracing from "../Telemetry/Tracing.js"
import { inject } from "./Fault.js"
import * as Ocr from "./Ocr.js"
import { type AudioAnalyze, type Echo, type FaceDetect, type Ocr as OcrRequest, WorkerRequest, WorkerSettings } from "./Protocol.js"

const settings = Schema.decodeUnknownSync(WorkerSettings)(workerData)

// Inference yields the CPU to the event loop: on Linux a thread's nice value is its own (pid 0 is this
// thread), and the threads it starts (tesseract's, libvips', onnxruntime's) inherit it.
if (settings.niceness > 0) os.setPriority(0, settings.niceness)

// Each span is a child of the caller's: the pool sends the span context with the request.
const ocr = (request: OcrRequest) =>
  Effect.flatMap(Ocr.OcrEngine, (engine) => engine.recognize(request.image, request.page)).pipe(Effect.withSpan("worker.ocr"))
const faces = ({ image, ...options }: FaceDetect) =>
  Effect.flatMap(Faces.FaceEngine, (engine) => engine.detect(image, options)).pipe(Effect.withSpan("worker.faces"))
const audio = (request: AudioAnalyze) =>
  Effect.flatMap(Audio.AudioEngine, (engine) => engine.analyze(request.audio, request.vad)).pipe(Effect.withSpan("worker.audio"))
const warmup = Effect.gen(function*() {
  const engine = yield* Ocr.OcrEngine
  const start = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
  yield* engine.warmup
  return { durationMs: (yield* Effect.clockWith((clock) => clock.currentTimeMillis)) - start }
})
const echo = (request: Echo) => Effect.succeed({ n: request.n, bytes: request.data?.byteLength ?? 0 })

const Handlers = WorkerRunner.layerSerialized(WorkerRequest, {
  Ocr: ocr,
  FaceDetect: faces,
  AudioAnalyze: audio,
  Warmup: () => warmup,
  Echo: echo,
  Fault: (request) => inject(request.kind)
})

const Engines = Layer.mergeAll(Ocr.layer(settings), Faces.layer(settings), Audio.layer(settings))

WorkerRunner.launch(
  Handlers.pipe(Layer.provide(Engines), Layer.provide(NodeWorkerRunner.layer), Layer.provide(Tracing.layer("inferd-worker")))
).pipe(
  NodeRuntime.runMain({ disablePrettyLogger: true, disableErrorReporting: false })
)
