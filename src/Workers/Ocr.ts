/**
 * OcrEngine: one tesseract.js instance per worker thread, created in the background as the thread starts (a
 * broken engine fails requests with a typed error instead of hanging the thread's start) and terminated when
 * the thread closes.
 */
import { Context, Effect, Layer, Scope } from "effect"
import Tesseract from "tesseract.js"
import { canaryImage } from "./CanaryImage.js"
import { measure, readableAsIs, toPng } from "./Image.js"
import { type ImageTooLarge, type ImageUndecodable, InferenceFailed, type OcrResult, type OcrWord, type WorkerSettings } from "./Protocol.js"

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
          cacheMethod: "none",
          // A failed recognition rejects its promise; without a handler tesseract.js also throws the failure from a
          // message listener, which would kill this thread (as an image leptonica cannot read does).
          errorHandler: () => {}
        }),
      catch: failed
    }),
    (worker) => Effect.promise(() => worker.terminate()).pipe(Effect.ignore)
  )

/**
 * Every word with its box, out of tesseract's TSV (level-5 rows: level, page, block, paragraph, line, word,
 * left, top, width, height, confidence, text). Asking for TSV rather than the `blocks` tree costs tesseract's
 * thread about 2% less per page: the tree is built call by call across the wasm boundary and then cloned to
 * this thread, while TSV is one string rendered in C++. Boxes and text are the tree's; confidences keep
 * their decimals.
 */
export const words = (tsv: string | null): Array<OcrWord> =>
  (tsv ?? "").split("\n").flatMap((row) => {
    const field = row.split("\t")
    if (field[0] !== "5" || field.length < 12) return []
    const [x0, y0, width, height] = [6, 7, 8, 9].map((i) => Number(field[i])) as [number, number, number, number]
    return [{ text: field.slice(11).join("\t"), confidence: Number(field[10]), bbox: { x0, y0, x1: x0 + width, y1: y0 + height } }]
  })

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

    // tesseract.js takes a Buffer: a view of the same bytes, which it copies to its own thread.
    const read = (image: Uint8Array) =>
      use((worker) => worker.recognize(Buffer.from(image.buffer, image.byteOffset, image.byteLength), {}, { text: true, tsv: true }))
    const recognize = (image: Uint8Array, page = 0) =>
      Effect.gen(function*() {
        const start = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        const header = yield* measure(image, settings.maxPixels, page)
        const viaPng = Effect.flatMap(toPng(image, settings.maxPixels, page), read)
        // What leptonica refuses to read as it is takes the PNG path, where a broken file gets its typed error.
        const { data } = yield* readableAsIs(image, header) ? Effect.orElse(read(image), () => viaPng) : viaPng
        const end = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        return {
          page,
          pages: header.pages,
          text: data.text,
          confidence: data.confidence,
          words: words(data.tsv),
          width: header.width,
          height: header.height,
          durationMs: end - start
        }
      })

    const warmup = read(canaryImage()).pipe(Effect.asVoid)
    return OcrEngine.of({ recognize, warmup })
  })

export const layer = (settings: WorkerSettings) => Layer.scoped(OcrEngine, make(settings))
