/**
 * OCR of a whole document: a multi-page TIFF is read a page per task, its pages spread across the pool and put
 * back in order into one answer. Synchronous requests, jobs, the inbox and the CLI all answer this shape;
 * `assemble` alone serves callers that run the pages themselves.
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Clock, Config, Duration, Effect, Option, Schema } from "effect"
import * as Media from "../Http/Media.js"
import { OcrPage, OcrWord } from "../Workers/Protocol.js"
import type { Task } from "./Job.js"
import { timedOut } from "./PoolErrors.js"
import type { Priority } from "./TaskQueue.js"
import * as Tasks from "./Tasks.js"
import type { WorkerPoolService } from "./WorkerPool.js"

/** The document has more pages than `INFERD_MAX_PAGES`; counted before any page is read. */
export class TooManyPages extends Schema.TaggedError<TooManyPages>()(
  "TooManyPages",
  { message: Schema.String, pages: Schema.Number, maxPages: Schema.Number },
  HttpApiSchema.annotations({ status: 413 })
) {}

/** A word of the document, with the page (from 1) its box is on. */
export const DocumentWord = Schema.extend(OcrWord, Schema.Struct({ page: Schema.Int }))

/** What OCR answers for an image or a document of any number of pages. */
export const OcrResult = Schema.Struct({
  /** The pages' texts in order, joined by a form feed (`\f`), as tesseract's CLI separates pages. */
  text: Schema.String,
  /**
   * The pages' confidences weighted by their words, so that pages of many words count for more; without a word
   * anywhere, their plain mean. One page's is its own.
   */
  confidence: Schema.Number,
  /** Every page's words in page order, each naming its page. */
  words: Schema.Array(DocumentWord),
  /** The widest page's width and the tallest page's height: every word's box lies within them. */
  width: Schema.Number,
  height: Schema.Number,
  /** The workers' time on the pages, summed; pages run in parallel, so the answer can come sooner. */
  durationMs: Schema.Number,
  /** Each page's own reading, in order. */
  pages: Schema.Array(OcrPage)
})
export type OcrResult = typeof OcrResult.Type

/** One answer out of pages read separately, given in any order. */
export const assemble = (pages: ReadonlyArray<OcrPage>): OcrResult => {
  const ordered = [...pages].sort((a, b) => a.page - b.page)
  const words = ordered.reduce((n, page) => n + page.words.length, 0)
  return {
    text: ordered.map((page) => page.text).join("\f"),
    confidence: words === 0
      ? ordered.reduce((sum, page) => sum + page.confidence, 0) / Math.max(1, ordered.length)
      : ordered.reduce((sum, page) => sum + page.confidence * page.words.length, 0) / words,
    words: ordered.flatMap((page) => page.words.map((word) => ({ ...word, page: page.page }))),
    width: Math.max(0, ...ordered.map((page) => page.width)),
    height: Math.max(0, ...ordered.map((page) => page.height)),
    durationMs: ordered.reduce((sum, page) => sum + page.durationMs, 0),
    pages: ordered
  }
}

export interface ReadOptions {
  /** Documents of more pages are refused before any page is read (`INFERD_MAX_PAGES`). */
  readonly maxPages: number
  readonly priority?: Priority
  /** The whole document's deadline: each page gets what is left of it. Without it, each page has the pool's. */
  readonly timeout?: Duration.DurationInput
  /** Told after each page: pages done, and how many there are. */
  readonly progress?: (done: number, total: number) => Effect.Effect<void>
}

/** Formats that hold several pages; any other image is read as one page. */
const paged = (bytes: Uint8Array) => Option.contains(Media.image.sniff(bytes), "image/tiff")

/** The bytes in shared memory: every page's task is handed the same bytes, without a copy each. */
const shared = (bytes: Uint8Array) => {
  const copy = new Uint8Array(new SharedArrayBuffer(bytes.byteLength))
  copy.set(bytes)
  return copy
}

/**
 * Reads every page. At most as many pages are in the pool at once as it has workers, so a long document
 * neither fills the queue (which would answer Overloaded) nor keeps other callers waiting behind all of it.
 * A one-page image is transferred to its worker: `bytes` is detached once sent.
 */
export const read = (pool: WorkerPoolService, bytes: Uint8Array, options: ReadOptions) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const totalMs = options.timeout === undefined ? undefined : Duration.toMillis(options.timeout)
    const submit = <A, E>(task: Task<A, E>, held: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (totalMs === undefined) return pool.submit(task, { priority: options.priority, bytes: held })
        const left = start + totalMs - now
        return left <= 0 ? Effect.fail(timedOut(totalMs)) : pool.submit(task, { priority: options.priority, bytes: held, timeout: left })
      })
    const report = (done: number, total: number) => options.progress?.(done, total) ?? Effect.void

    if (!paged(bytes)) {
      const page = yield* submit(Tasks.ocr(bytes), bytes.byteLength)
      yield* report(1, 1)
      return assemble([page])
    }
    const document = shared(bytes)
    const { pages } = yield* submit(Tasks.inspect(document), document.byteLength)
    if (pages > options.maxPages) {
      return yield* new TooManyPages({
        message: `the document has ${pages} pages, over the limit of ${options.maxPages} (INFERD_MAX_PAGES)`,
        pages,
        maxPages: options.maxPages
      })
    }
    const concurrency = Math.min(pages, (yield* pool.stats).size)
    let done = 0
    const results = yield* Effect.forEach(
      Array.from({ length: pages }, (_, i) => i + 1),
      // The shared bytes are held once, by the pages in flight together.
      (page) => Effect.tap(submit(Tasks.ocr(document, page), Math.ceil(document.byteLength / concurrency)), () => report(++done, pages)),
      { concurrency }
    )
    return assemble(results)
  }).pipe(Effect.catchTag("TaskTimeout", (error) => Effect.fail(options.timeout === undefined ? error : timedOut(Duration.toMillis(options.timeout)))))

export const defaultMaxPages = 200

/** `INFERD_MAX_PAGES`: pages one document may have (default 200); more are refused before any is read. */
export const maxPages = Config.integer("INFERD_MAX_PAGES").pipe(
  Config.withDefault(defaultMaxPages),
  Config.validate({ message: "INFERD_MAX_PAGES must be a positive integer", validation: (n) => n > 0 }),
  Config.withDescription("pages one document may have")
)
