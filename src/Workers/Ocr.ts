/**
 * OcrEngine: the worker's tesseract.js instances, one per language set it has been asked for, the least
 * recently used terminated past `maxEngines` (a six-language instance holds about 140 MB). English is created
 * as the thread starts, in the background (a broken engine fails requests with a typed error instead of
 * hanging the thread's start). Every instance is terminated when the thread closes.
 */
import { Context, Effect, ExecutionStrategy, Exit, Layer, Scope } from "effect"
import { mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import Tesseract from "tesseract.js"
import { canaryImage } from "./CanaryImage.js"
import { InferenceFailed, type OcrWord, type WorkerSettings } from "./Protocol.js"

/** What one tesseract call is asked for, beyond text and words. */
export interface Recognition {
  readonly lang: string
  readonly psm: number | undefined
  /** The image's resolution, for tesseract's PDF page size; tesseract's own guess when absent. */
  readonly dpi: number | undefined
  readonly hocr: boolean
  /** tesseract's PDF of the page: with the image, or (`textOnly`) the invisible text alone. */
  readonly pdf: "page" | "textOnly" | undefined
}

export interface Recognized {
  readonly text: string
  readonly confidence: number
  readonly words: ReadonlyArray<OcrWord>
  readonly tsv: string
  readonly hocr: string | undefined
  readonly pdf: Uint8Array | undefined
}

export interface OcrEngineService {
  readonly recognize: (image: Uint8Array, recognition: Recognition) => Effect.Effect<Recognized, InferenceFailed>
  /** Creates the English engine and reads one small page: the first page after start is 1.4–2x slower. */
  readonly warmup: Effect.Effect<void, InferenceFailed>
}

export class OcrEngine extends Context.Tag("inferd/OcrEngine")<OcrEngine, OcrEngineService>() {}

const failed = (cause: unknown) =>
  new InferenceFailed({ message: `tesseract failed: ${cause instanceof Error ? cause.message : String(cause)}` })

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

/**
 * tesseract.js reads every language of an instance from one folder: this thread's own, of links to the
 * installed packages' files, removed when the thread closes.
 */
const languageFolder = (languages: Readonly<Record<string, string>>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(path.join(tmpdir(), "inferd-tessdata-"))
      for (const [code, file] of Object.entries(languages)) symlinkSync(file, path.join(dir, `${code}.traineddata.gz`))
      return dir
    }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

const create = (lang: string, langPath: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        Tesseract.createWorker(lang.split("+"), Tesseract.OEM.LSTM_ONLY, {
          langPath,
          gzip: true,
          // Never write traineddata into the working directory; never reach a CDN.
          cacheMethod: "none",
          // A failed recognition rejects its promise; without a handler tesseract.js also throws the failure from a
          // message listener, which would kill this thread (as an image leptonica cannot read does).
          errorHandler: () => {}
        }),
      catch: failed
    }),
    (worker) => Effect.promise(() => worker.terminate()).pipe(Effect.ignore)
  )

export const make = (settings: WorkerSettings) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const langPath = yield* languageFolder(settings.languages)
    // Language set → its engine, in order of last use (a Map keeps insertion order).
    const engines = new Map<string, { readonly engine: Effect.Effect<Tesseract.Worker, InferenceFailed>; readonly scope: Scope.CloseableScope }>()

    const engineFor = (lang: string) =>
      Effect.gen(function*() {
        const known = engines.get(lang)
        if (known !== undefined) {
          engines.delete(lang)
          engines.set(lang, known)
          return known.engine
        }
        const missing = lang.split("+").filter((code) => settings.languages[code] === undefined)
        if (missing.length > 0) return yield* new InferenceFailed({ message: `language ${missing.join(", ")} is not installed in this worker` })
        const own = yield* Scope.fork(scope, ExecutionStrategy.sequential)
        const engine = yield* Effect.cached(create(lang, langPath).pipe(Scope.extend(own)))
        engines.set(lang, { engine, scope: own })
        for (const [old, entry] of engines) {
          if (engines.size <= settings.maxEngines) break
          engines.delete(old)
          yield* Scope.close(entry.scope, Exit.void)
        }
        return engine
      })

    // The one door to the tesseract.js Promise API.
    const use = <A>(lang: string, f: (worker: Tesseract.Worker) => Promise<A>) =>
      Effect.flatMap(Effect.flatten(engineFor(lang)), (worker) => Effect.tryPromise({ try: () => f(worker), catch: failed }))

    // Every thread is warmed with OCR before it takes traffic: begin now, while the runner starts and the pool
    // sends the warm-up, rather than when it arrives. A failure stays cached for the requests to report.
    yield* Effect.forkScoped(Effect.ignore(Effect.flatten(engineFor("eng"))))

    const recognize = (image: Uint8Array, recognition: Recognition) =>
      use(recognition.lang, (worker) =>
        // tesseract.js takes a Buffer: a view of the same bytes, which it copies to its own thread. Its options
        // hold for this call only.
        worker.recognize(
          Buffer.from(image.buffer, image.byteOffset, image.byteLength),
          {
            ...(recognition.psm === undefined ? {} : { tessedit_pageseg_mode: String(recognition.psm) as Tesseract.PSM }),
            ...(recognition.dpi === undefined ? {} : { user_defined_dpi: String(recognition.dpi) }),
            ...(recognition.pdf === undefined ? {} : { pdfTitle: "inferd", pdfTextOnly: recognition.pdf === "textOnly" })
          },
          { text: true, tsv: true, hocr: recognition.hocr, pdf: recognition.pdf !== undefined }
        )
      ).pipe(Effect.map(({ data }): Recognized => ({
        text: data.text,
        confidence: data.confidence,
        words: words(data.tsv),
        tsv: data.tsv ?? "",
        hocr: data.hocr ?? undefined,
        pdf: data.pdf === null ? undefined : Uint8Array.from(data.pdf)
      })))

    const warmup = use("eng", (worker) => worker.recognize(Buffer.from(canaryImage()), {}, { text: true, tsv: true })).pipe(Effect.asVoid)
    return OcrEngine.of({ recognize, warmup })
  })

export const layer = (settings: WorkerSettings) => Layer.scoped(OcrEngine, make(settings))
