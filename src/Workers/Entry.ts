/**
 * The worker thread's entry: serves the protocol with engines that live as long as the thread. Settings come
 * through `workerData`, so the thread has them before its first message.
 */
import { Effect, Exit, Layer, ManagedRuntime, Schema } from "effect"
import * as os from "node:os"
import { parentPort, workerData } from "node:worker_threads"
import * as Tracing from "../Telemetry/Tracing.js"
import * as Audio from "./Audio.js"
import * as Faces from "./Faces.js"
import { inject } from "./Fault.js"
import * as Ocr from "./Ocr.js"
import * as Pages from "./Pages.js"
import * as Pdf from "./Pdf.js"
import { type WorkerRequest, WorkerSettings } from "./Protocol.js"
import * as Runner from "./Runner.js"
import * as SearchablePdf from "./SearchablePdf.js"

const settings = Schema.decodeUnknownSync(WorkerSettings)(workerData)

// Inference yields the CPU to the event loop: on Linux a thread's nice value is its own (pid 0 is this
// thread), and the threads it starts (tesseract's, libvips', onnxruntime's) inherit it.
if (settings.niceness > 0) os.setPriority(0, settings.niceness)

const warmup = Effect.gen(function*() {
  const engine = yield* Ocr.OcrEngine
  const start = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
  yield* engine.warmup
  return { durationMs: (yield* Effect.clockWith((clock) => clock.currentTimeMillis)) - start }
})

type Engines = Ocr.OcrEngine | Pages.PageReader | Pdf.PdfRenderer | Faces.FaceEngine | Audio.AudioEngine

// Each span is a child of the caller's: the pool sends the span context with the request.
const handle = (request: WorkerRequest): Effect.Effect<Runner.Answer, never, Engines> => {
  switch (request._tag) {
    case "Ocr":
      return Runner.answer(request, Effect.flatMap(Pages.PageReader, (reader) => reader.read(request.image, request.page, request.options)).pipe(Effect.withSpan("worker.ocr")), request.image)
    case "Inspect":
      return Runner.answer(request, Effect.flatMap(Pages.PageReader, (reader) => reader.pages(request.document)).pipe(Effect.withSpan("worker.inspect")), request.document)
    case "SearchablePdf":
      return Runner.answer(request, SearchablePdf.assemble(request).pipe(Effect.withSpan("worker.searchablePdf")))
    case "FaceDetect": {
      const { image, ...options } = request
      return Runner.answer(request, Effect.flatMap(Faces.FaceEngine, (engine) => engine.detect(image, options)).pipe(Effect.withSpan("worker.faces")), image)
    }
    case "AudioAnalyze":
      return Runner.answer(request, Effect.flatMap(Audio.AudioEngine, (engine) => engine.analyze(request.audio, request.vad)).pipe(Effect.withSpan("worker.audio")), request.audio)
    case "Warmup":
      return Runner.answer(request, warmup)
    case "Echo":
      return Runner.answer(request, Effect.succeed({ n: request.n, bytes: request.data?.byteLength ?? 0 }), request.data)
    case "Fault":
      return Runner.answer(request, inject(request.kind))
  }
}

// Engines are created on first use and released when the thread is asked to close.
const OcrEngines = Pages.layer(settings).pipe(Layer.provideMerge(Layer.mergeAll(Ocr.layer(settings), Pdf.layer(settings))))
const runtime = ManagedRuntime.make(
  Layer.mergeAll(OcrEngines, Faces.layer(settings), Audio.layer(settings)).pipe(Layer.provide(Tracing.layer("inferd-worker")))
)
const port = parentPort
// Not a worker thread: there is no one to serve.
if (port === null) process.exit(2)
runtime.runCallback(runtime.runtimeEffect, {
  onExit: (exit) => {
    if (Exit.isFailure(exit)) return process.exit(1)
    Runner.serve(port, exit.value, handle, () => runtime.runCallback(runtime.disposeEffect, { onExit: () => process.exit(0) }))
  }
})
