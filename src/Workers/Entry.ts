/**
 * The worker thread's entry: serves the protocol with engines that live as long as the thread. Settings come
 * through `workerData`, which a thread respawned by the platform receives again (an initial message would not).
 */
// Subpath imports: the packages' barrels load the HTTP stack too, which a worker thread never uses and
// which would slow every worker's start.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import { Cause, Duration, Effect, Either, Layer, type ParseResult, Schema, Tracer } from "effect"
import * as os from "node:os"
import { workerData } from "node:worker_threads"
import * as Audio from "./Audio.js"
import * as Faces from "./Faces.js"
import * as Tracing from "../Telemetry/Tracing.js"
import { inject } from "./Fault.js"
import * as Ocr from "./Ocr.js"
import * as Pages from "./Pages.js"
import * as Pdf from "./Pdf.js"
import * as SearchablePdf from "./SearchablePdf.js"
import { type AudioAnalyze, type Batch, type BatchAnswer, type BatchItem, type Echo, type FaceDetect, type Inspect as InspectRequest, type Ocr as OcrRequest, type SearchablePdf as SearchablePdfRequest, WorkerRequest, WorkerSettings } from "./Protocol.js"

const settings = Schema.decodeUnknownSync(WorkerSettings)(workerData)

// Inference yields the CPU to the event loop: on Linux a thread's nice value is its own (pid 0 is this
// thread), and the threads it starts (tesseract's, libvips', onnxruntime's) inherit it.
if (settings.niceness > 0) os.setPriority(0, settings.niceness)

// Each span is a child of the caller's: the platform sends the span context with the request.
const ocr = (request: OcrRequest) =>
  Effect.flatMap(Pages.PageReader, (reader) => reader.read(request.image, request.page, request.options)).pipe(Effect.withSpan("worker.ocr"))
const inspect = (request: InspectRequest) =>
  Effect.flatMap(Pages.PageReader, (reader) => reader.pages(request.document)).pipe(Effect.withSpan("worker.inspect"))
const searchablePdf = (request: SearchablePdfRequest) => SearchablePdf.assemble(request).pipe(Effect.withSpan("worker.searchablePdf"))
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

type Engines = Ocr.OcrEngine | Pages.PageReader | Pdf.PdfRenderer | Faces.FaceEngine | Audio.AudioEngine

/** One item of a batch, its answer encoded by its own request's schemas (see Protocol's BatchAnswer). */
const item = (request: BatchItem): Effect.Effect<BatchAnswer, never, Engines> => {
  switch (request._tag) {
    case "Ocr": return answer(request, ocr(request))
    case "Inspect": return answer(request, inspect(request))
    case "SearchablePdf": return answer(request, searchablePdf(request))
    case "FaceDetect": return answer(request, faces(request))
    case "AudioAnalyze": return answer(request, audio(request))
    case "Warmup": return answer(request, warmup)
    case "Echo": return answer(request, echo(request))
    case "Fault": return answer(request, inject(request.kind))
  }
}

const answer = <A, SI, E, FI, R>(request: Schema.WithResult<A, SI, E, FI, never>, effect: Effect.Effect<A, E, R>): Effect.Effect<BatchAnswer, never, R> =>
  Effect.matchCauseEffect(effect, {
    onSuccess: (value): Effect.Effect<BatchAnswer, ParseResult.ParseError> =>
      Effect.map(Schema.serializeSuccess(request, value), (value) => ({ _tag: "Success", value })),
    onFailure: (cause): Effect.Effect<BatchAnswer, ParseResult.ParseError> =>
      Either.match(Cause.failureOrCause(cause), {
        onLeft: (error) => Effect.map(Schema.serializeFailure(request, error), (error) => ({ _tag: "Failure", error })),
        onRight: (cause) => Effect.succeed({ _tag: "Defect", defect: Cause.squash(cause) })
      })
  }).pipe(Effect.orDie)

const batch = ({ items, traces }: Batch) =>
  Effect.forEach(items, (request, i) => {
    const trace = traces[i]
    return trace ? Effect.withParentSpan(item(request), Tracer.externalSpan({ traceId: trace[0], spanId: trace[1], sampled: trace[2] })) : item(request)
  }).pipe(Effect.timed, Effect.map(([elapsed, answers]) => ({ answers, elapsedMs: Duration.toMillis(elapsed) })))

const Handlers = WorkerRunner.layerSerialized(WorkerRequest, {
  Ocr: ocr,
  Inspect: inspect,
  SearchablePdf: searchablePdf,
  FaceDetect: faces,
  AudioAnalyze: audio,
  Warmup: () => warmup,
  Echo: echo,
  Fault: (request) => inject(request.kind),
  Batch: batch
})

const OcrEngines = Pages.layer(settings).pipe(Layer.provideMerge(Layer.mergeAll(Ocr.layer(settings), Pdf.layer(settings))))
const Engines = Layer.mergeAll(OcrEngines, Faces.layer(settings), Audio.layer(settings))

WorkerRunner.launch(
  Handlers.pipe(Layer.provide(Engines), Layer.provide(NodeWorkerRunner.layer), Layer.provide(Tracing.layer("inferd-worker")))
).pipe(
  NodeRuntime.runMain({ disablePrettyLogger: true, disableErrorReporting: false })
)
