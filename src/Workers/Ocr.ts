/**
 * OcrEngine: one tesseract.js instance per worker thread, created in the background as the thread starts (a
 * broken engine fails requests with a typed error instead of hanging the thread's start) and terminated when
 * the thread closes.
 */
import { Context, Effect, Layer, Scope } from "effect"
import Tesseract from "tesseract.js"
import { canaryImage } from "./CanaryImage.js"
import { normalise } from "./Image.js"
import { type ImageTooLarge, type ImageUndecodable, InferenceFailed, type OcrResult, type WorkerSettings } from "./Protocol.js"

export interface OcrEngineService {
  readonly recognize: (image: Uint8Array, page?: number) => Effect.Effect<OcrResult, ImageUndecodable | ImageTooLarge | InferenceFailed>
  /** Creates the engine and reads one small page: the first page after start is 1.4–2x slower. */
  readonly warmup: Effect.Effect<void, InferenceFailed>
}

export class OcrEngine extends Context.Tag("inferd/OcrEngine")<OcrEngine, OcrEngineService>() {}

const failed = (cause: unknown) =>
  new InferenceFailed({ message: `tesseract failed: ${cause instanceof Error ? cause.message : String(cause)}` })

const create = (settings: WorkerSettings) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        Tesseract.createWorker("eng", Tesseract.OEM.LSTM_ONLY, {
          langPath: settings.tesseractLangPath,
          gzip: true,
          // Never write eng.traineddata into the working directory; never reach a CDN.
          cacheMethod: "none"
        }),
      catch: failed
    }),
    (worker) => Effect.promise(() => worker.terminate()).pipe(Effect.ignore)
  )

type Page = Tesseract.Page

const words = (page: Page) =>
  (page.blocks ?? []).flatMap((block) =>
    block.paragraphs.flatMap((paragraph) =>
      paragraph.lines.flatMap((line) =>
        line.words.map((word) => ({
          text: word.text,
          confidence: word.confidence,
          bbox: { x0: word.bbox.x0, y0: word.bbox.y0, x1: word.bbox.x1, y1: word.bbox.y1 }
        }))
      )
    )
  )

export const make = (settings: WorkerSettings) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    // The one door to the tesseract.js Promise API.
    const engine = yield* Effect.cached(create(settings).pipe(Scope.extend(scope)))
    // Every thread is warmed with OCR before it takes traffic: begin now, while the runner starts and the pool
    // sends the warm-up, rather than when it arrives. A failure stays cached for the requests to report.
    yield* Effect.forkScoped(Effect.ignore(engine))
    const use = <A>(f: (worker: Tesseract.Worker) => Promise<A>) =>
      Effect.flatMap(engine, (worker) => Effect.tryPromise({ try: () => f(worker), catch: failed }))

    const recognize = (image: Uint8Array, page = 0) =>
      Effect.gen(function*() {
        const start = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        const normalised = yield* normalise(image, settings.maxPixels, page)
        const { data } = yield* use((worker) => worker.recognize(normalised.png, {}, { text: true, blocks: true }))
        const end = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        return {
          page,
          pages: normalised.pages,
          text: data.text,
          confidence: data.confidence,
          words: words(data),
          width: normalised.width,
          height: normalised.height,
          durationMs: end - start
        }
      })

    const warmup = use((worker) => worker.recognize(Buffer.from(canaryImage()))).pipe(Effect.asVoid)
    return OcrEngine.of({ recognize, warmup })
  })

export const layer = (settings: WorkerSettings) => Layer.scoped(OcrEngine, make(settings))
