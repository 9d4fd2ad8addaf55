/**
 * OCR of a whole document: a multi-page TIFF or a PDF is read a page per task, its pages spread across the
 * pool and put back in order into one answer, then written in the format asked for. Synchronous requests,
 * jobs, the inbox and the CLI all answer this shape; `assemble` and `output` alone serve callers that run
 * the pages themselves.
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Clock, Config, Duration, Effect, Schedule, Schema } from "effect"
import { isPdf, isTiff } from "../Workers/DocumentKind.js"
import { defaultOcrOptions, type OcrFormat, type OcrOptions, OcrPage, OcrWord, type PageReading } from "../Workers/Protocol.js"
import type { Task } from "../Pool/Tasks.js"
import { Overloaded, timedOut } from "../Pool/PoolErrors.js"
import type { Priority } from "../Pool/TaskQueue.js"
import * as Tasks from "../Pool/Tasks.js"
import type { WorkerPoolService } from "../Pool/WorkerPool.js"

/** The document has more pages than `INFERD_MAX_PAGES`; counted before any page is read. */
export class TooManyPages extends Schema.TaggedError<TooManyPages>()(
  "TooManyPages",
  { message: Schema.String, pages: Schema.Number, maxPages: Schema.Number },
  HttpApiSchema.annotations({ status: 413 })
) {}

/** A language asked for is not installed; `available` lists those that are. */
export class UnknownLanguage extends Schema.TaggedError<UnknownLanguage>()(
  "UnknownLanguage",
  { message: Schema.String, unknown: Schema.Array(Schema.String), available: Schema.Array(Schema.String) },
  HttpApiSchema.annotations({ status: 400 })
) {}

/** Fails unless every language of `lang` (`eng+deu`) is installed. */
export const checkLanguages = (lang: string, installed: Readonly<Record<string, string>>) => {
  const unknown = lang.split("+").filter((code) => installed[code] === undefined)
  const available = Object.keys(installed).sort()
  return unknown.length === 0 ? Effect.void : Effect.fail(new UnknownLanguage({
    message: `language ${unknown.join(", ")} is not installed; installed: ${available.join(", ")} (npm i @tesseract.js-data/<code> adds one)`,
    unknown,
    available
  }))
}

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
}).annotations({ identifier: "OcrResult" })
export type OcrResult = typeof OcrResult.Type

/** One answer out of pages read separately, given in any order. */
export const assemble = (pages: ReadonlyArray<OcrPage>): OcrResult => {
  const ordered = [...pages].sort((a, b) => a.page - b.page).map(
    ({ confidence, durationMs, height, page, source, text, width, words }): OcrPage => ({ page, source, text, confidence, words, width, height, durationMs })
  )
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
  /** How to read it (languages, dpi, format…); the defaults when absent. */
  readonly ocr?: OcrOptions
  readonly priority?: Priority
  /** The whole document's deadline: each page gets what is left of it. Without it, each page has the pool's. */
  readonly timeout?: Duration.DurationInput
  /** Told after each page: pages done, and how many there are. */
  readonly progress?: (done: number, total: number) => Effect.Effect<void>
}

/** Formats that hold several pages; any other image is read as one page. */
const paged = (bytes: Uint8Array) => isTiff(bytes) || isPdf(bytes)

/** The bytes in shared memory: every page's task is handed the same bytes, without a copy each. */
const shared = (bytes: Uint8Array) => {
  const copy = new Uint8Array(new SharedArrayBuffer(bytes.byteLength))
  copy.set(bytes)
  return copy
}

/** A document as read: the answer, each page's own reading, and the PDF it was, for a searchable copy. */
export interface Read {
  readonly result: OcrResult
  readonly readings: ReadonlyArray<PageReading>
  readonly pdf: Uint8Array | undefined
}

/**
 * How long a page of a document already admitted waits for room in a full queue, trying again with backoff:
 * the pages before it are not thrown away because other callers filled the queue meanwhile.
 */
const roomFor = Schedule.exponential("50 millis").pipe(Schedule.union(Schedule.spaced("1 second")), Schedule.upTo("30 seconds"))

/**
 * Reads every page. At most as many pages are in the pool at once as it has workers, so a long document
 * neither fills the queue (which would answer Overloaded) nor keeps other callers waiting behind all of it.
 * A full queue refuses a document when it arrives (its pages are counted first); once admitted, a page that
 * finds the queue full waits for room (`roomFor`, within the request's deadline).
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
    const ocr = options.ocr ?? defaultOcrOptions
    const done = (readings: ReadonlyArray<PageReading>, pdf: Uint8Array | undefined): Read => ({ result: assemble(readings), readings, pdf })

    if (!paged(bytes)) {
      const page = yield* submit(Tasks.ocr(bytes, 1, ocr), bytes.byteLength)
      yield* report(1, 1)
      return done([page], undefined)
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
    let read = 0
    const readings = yield* Effect.forEach(
      Array.from({ length: pages }, (_, i) => i + 1),
      // The shared bytes are held once, by the pages in flight together.
      (page) =>
        Effect.suspend(() => submit(Tasks.ocr(document, page, ocr), Math.ceil(document.byteLength / concurrency))).pipe(
          Effect.retry({ while: (error) => error instanceof Overloaded, schedule: roomFor }),
          Effect.tap(() => report(++read, pages))
        ),
      { concurrency }
    )
    return done(readings, isPdf(bytes) ? document : undefined)
  }).pipe(Effect.catchTag("TaskTimeout", (error) => Effect.fail(options.timeout === undefined ? error : timedOut(Duration.toMillis(options.timeout)))))

const hocrHead = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title></title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name="ocr-system" content="tesseract.js (inferd)"/>
  <meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>
 </head>
 <body>
`

const tsvHead = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"

/** A document written out: its bytes or text, and their Content-Type. */
export interface Output {
  readonly contentType: string
  readonly body: string | Uint8Array
}

/** The file extension of each format, as the CLI and the inbox name their results. */
export const extensions: Record<OcrFormat, string> = { json: "json", text: "txt", hocr: "hocr", tsv: "tsv", pdf: "pdf" }

/**
 * The read document in a format other than JSON (whose answer is `read.result`): its text (pages apart by form
 * feeds), one hOCR document, one TSV with tesseract's header row, or one searchable PDF (written by a worker).
 */
export const output = (pool: WorkerPoolService, read: Read, format: Exclude<OcrFormat, "json">, priority?: Priority) => {
  switch (format) {
    case "text":
      return Effect.succeed<Output>({ contentType: "text/plain; charset=utf-8", body: read.result.text })
    case "hocr":
      return Effect.succeed<Output>({
        contentType: "application/xhtml+xml; charset=utf-8",
        body: `${hocrHead}${read.readings.map((page) => page.hocr ?? "").join("")} </body>\n</html>\n`
      })
    case "tsv":
      return Effect.succeed<Output>({ contentType: "text/tab-separated-values; charset=utf-8", body: tsvHead + read.readings.map((page) => page.tsv ?? "").join("") })
    case "pdf":
      return Effect.map(
        pool.submit(Tasks.searchablePdf(read.pdf, read.readings.map(({ page, pdf }) => ({ page, pdf }))), { priority }),
        ({ pdf }): Output => ({ contentType: "application/pdf", body: pdf })
      )
  }
}

export const defaultMaxPages = 200

/** `INFERD_MAX_PAGES`: pages one document may have (default 200); more are refused before any is read. */
export const maxPages = Config.integer("INFERD_MAX_PAGES").pipe(
  Config.withDefault(defaultMaxPages),
  Config.validate({ message: "INFERD_MAX_PAGES must be a positive integer", validation: (n) => n > 0 }),
  Config.withDescription("pages one document may have")
)
