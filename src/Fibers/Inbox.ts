/**
 * The inbox: a loop that OCRs images and PDFs dropped into a folder, every page of them. Results go to
 * `<inbox>/outbox/<file>.json` (or `.txt`, `.hocr`, `.tsv`, `.pdf` in `INFERD_INBOX_FORMAT`), sources to
 * `<inbox>/done/`; files it does not read (not an image or PDF by their name) and files the engine rejects
 * go to `<inbox>/failed/` beside `<file>.error.json`, so nothing sits in the inbox unanswered. A file counts as
 * written once its size and mtime hold still; writers should still write elsewhere and rename into the folder.
 *
 * Crash safety: a result is written to `<inbox>/.tmp`, synced and renamed into place before its source moves,
 * so a kill at any moment leaves each file either in the inbox (redone next time) or moved with its result.
 * At start, a file whose result already exists is moved to `done/` without running it again.
 */
import { FileSystem, Path } from "@effect/platform"
import { Clock, Config, Data, DateTime, Duration, Effect, Either, Layer, Option, Ref, Schema } from "effect"
import * as OcrDocument from "../Layers/OcrDocument.js"
import { WorkerPool } from "../Pool/WorkerPool.js"
import { defaultOcrOptions, type OcrOptions } from "../Workers/Protocol.js"
import * as Loop from "./Loop.js"
import { Loops } from "./Loops.js"
import * as AtomicFile from "../AtomicFile.js"
import * as SharedConfig from "../Layers/SharedConfig.js"

/** `<inbox>/outbox/<file>.json`: the OCR result, the source's name and when it was done. */
export const InboxResult = Schema.extend(OcrDocument.OcrResult, Schema.Struct({ file: Schema.String, processedAt: Schema.String }))
export type InboxResult = typeof InboxResult.Type

/** `<inbox>/failed/<file>.error.json`: why the file was given up on. */
export const InboxFailure = Schema.Struct({ _tag: Schema.String, message: Schema.String, file: Schema.String, failedAt: Schema.String })
export type InboxFailure = typeof InboxFailure.Type

/** The inbox cannot be used at all, or a scan made no progress because every file hit an unexpected error. */
export class InboxError extends Data.TaggedError("InboxError")<{
  readonly reason: "Unavailable" | "Stalled"
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * What one scan did with a file: `settling` (still being written), `deferred` (pool busy or stopping),
 * `gone` (removed mid-scan) and `error` (an unexpected failure, logged) leave it for a later scan.
 */
export type Outcome = "done" | "failed" | "deferred" | "recovered" | "settling" | "gone" | "error"

export interface FileReport {
  readonly file: string
  readonly outcome: Outcome
  readonly error?: string
}

export interface ScannerOptions {
  readonly dir: string
  /** A file modified more recently than this (default 1 s) may still be being written; it waits a scan. */
  readonly settle?: Duration.DurationInput
  /** Files OCR'd at the same time (default 5). */
  readonly concurrency?: number
  /** Larger files go to `failed/` unread (default 20 MiB, the upload limit). */
  readonly maxBytes?: number
  /** Documents of more pages go to `failed/` unread (default 200, `INFERD_MAX_PAGES`). */
  readonly maxPages?: number
  /** How files are read and written (default English, JSON). */
  readonly ocr?: OcrOptions
}

const imageExtensions = new Set([".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".pdf"])
const audioExtensions = new Set([".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a"])
// Names browsers and copy tools give a file until it is whole; they are renamed when done, so they wait.
const inProgressExtensions = new Set([".part", ".partial", ".crdownload", ".download", ".tmp"])

/** Why the inbox will not read a file of this name, in one line. */
const refusal = (name: string, extension: string) => {
  const images = `it reads images and PDFs (${[...imageExtensions].join(", ")})`
  if (extension === "") return `${name} has no file extension; ${images}`
  if (audioExtensions.has(extension)) return `${name} is audio, which the inbox does not read (POST /v1/audio/analyze or \`inferd audio\` do); ${images}`
  return `the inbox does not read ${extension} files; ${images}`
}

const inRange = (config: Config.Config<number>, min: number, max: number) =>
  Config.validate(config, { message: `takes an integer from ${min} to ${max}`, validation: (n) => n >= min && n <= max })

/** The inbox's configuration. */
export const config = Config.all({
  /** `INFERD_INBOX`: the folder watched (default `./var/inbox`); it and its subfolders are created if missing. */
  dir: Config.string("INFERD_INBOX").pipe(Config.withDefault("./var/inbox"), Config.withDescription("folder watched for images to OCR")),
  /** `INFERD_INBOX_INTERVAL`: time between scans (default 5 s). */
  interval: Config.duration("INFERD_INBOX_INTERVAL").pipe(Config.withDefault(Duration.seconds(5)), Config.withDescription("time between inbox scans")),
  /** `INFERD_MAX_BODY`: the HTTP upload limit (default 20 MiB), so the inbox takes no file HTTP would refuse. */
  maxBytes: SharedConfig.maxBody,
  maxPages: OcrDocument.maxPages,
  /** `INFERD_INBOX_FORMAT`: what each result is written as (default `json`; `text`, `hocr`, `tsv`, `pdf`). */
  format: Config.literal("json", "text", "hocr", "tsv", "pdf")("INFERD_INBOX_FORMAT").pipe(Config.withDefault("json" as const)),
  /** `INFERD_INBOX_LANG`: the languages files are read in (default `eng`; `deu+eng`…). */
  lang: Config.string("INFERD_INBOX_LANG").pipe(Config.withDefault("eng")),
  /** `INFERD_INBOX_PSM`, `_DPI`, `_OCR`: the other options of `POST /v1/ocr`, with its ranges and defaults. */
  psm: Config.option(inRange(Config.integer("INFERD_INBOX_PSM"), 0, 13)),
  dpi: inRange(Config.integer("INFERD_INBOX_DPI"), 36, 600).pipe(Config.withDefault(defaultOcrOptions.dpi)),
  ocr: Config.literal("auto", "force")("INFERD_INBOX_OCR").pipe(Config.withDefault(defaultOcrOptions.ocr))
})

const now = Effect.map(DateTime.now, DateTime.formatIso)

/** Builds the scan the `inbox` loop runs; exported so tests can drive one scan at a time. */
export const makeScanner = (options: ScannerOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const pool = yield* WorkerPool
    const dir = path.resolve(options.dir)
    const [outbox, done, failed, tmp] = ["outbox", "done", "failed", ".tmp"].map((sub) => path.join(dir, sub))
    const settleMs = Duration.toMillis(options.settle ?? "1 second")
    const maxBytes = options.maxBytes ?? 20 * 1024 * 1024
    // Size and mtime of each file at the previous scan: a file still changing is still being written.
    const seen = yield* Ref.make(new Map<string, string>())
    const started = yield* Ref.make(false)
    const ocr = options.ocr ?? defaultOcrOptions
    const resultOf = (name: string) => path.join(outbox, `${name}.${OcrDocument.extensions[ocr.format]}`)

    const atomic = yield* AtomicFile.make
    const writeAtomically = (target: string, value: unknown) =>
      atomic.writeBytes(
        target,
        path.join(tmp, path.basename(target)),
        value instanceof Uint8Array ? value : new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value, null, 2))
      )

    const giveUp = (name: string, _tag: string, message: string) =>
      Effect.gen(function*() {
        const failure: InboxFailure = { _tag, message, file: name, failedAt: yield* now }
        yield* writeAtomically(path.join(failed, `${name}.error.json`), failure)
        yield* fs.rename(path.join(dir, name), path.join(failed, name))
        yield* Effect.logWarning(`inbox: ${name} failed: ${_tag}: ${message}`)
        return "failed" as const
      })

    /** Size and mtime: a file whose signature changes between two looks is still being written. */
    const signatureOf = (name: string) =>
      Effect.map(fs.stat(path.join(dir, name)), (info) => {
        const mtimeMs = info.mtime._tag === "Some" ? info.mtime.value.getTime() : 0
        return { info, mtimeMs, signature: `${info.size}:${mtimeMs}` }
      })

    const ocrFile = (name: string, size: number, signature: string) =>
      Effect.gen(function*() {
        if (size > maxBytes) return yield* giveUp(name, "ImageTooLarge", `the file is ${size} bytes, over the ${maxBytes} byte limit`)
        const image = yield* fs.readFile(path.join(dir, name))
        const answer = yield* Effect.either(Effect.flatMap(
          OcrDocument.read(pool, image, { maxPages: options.maxPages ?? OcrDocument.defaultMaxPages, priority: "background", ocr }),
          (read) => ocr.format === "json"
            ? Effect.succeed({ read, body: undefined as string | Uint8Array | undefined })
            : Effect.map(OcrDocument.output(pool, read, ocr.format, "background"), ({ body }) => ({ read, body }))
        ))
        if (Either.isLeft(answer)) {
          const error = answer.left
          // The pool is busy or stopping: the file stays for a later scan, nothing is lost.
          if (error._tag === "ShuttingDown" || error._tag === "Overloaded") return "deferred" as const
          // A copy that paused longer than the settle time reads as a broken image; if it grew since, it waits.
          if ((yield* signatureOf(name)).signature !== signature) return "settling" as const
          // Bad input, a crash, a timeout or an engine failure: retrying every scan would only repeat it.
          return yield* giveUp(name, error._tag, error.message)
        }
        const result: InboxResult = { ...answer.right.read.result, file: name, processedAt: yield* now }
        yield* writeAtomically(resultOf(name), answer.right.body ?? result)
        yield* fs.rename(path.join(dir, name), path.join(done, name))
        return "done" as const
      })

    // Only a restart can leave a result without its move; later, the same name is a new file to OCR again.
    const recover = (name: string) =>
      Effect.gen(function*() {
        if (!(yield* fs.exists(resultOf(name)))) return false
        yield* fs.rename(path.join(dir, name), path.join(done, name))
        return true
      })

    const visit = (name: string, recovering: boolean, nowMs: number, signatures: Map<string, string>) =>
      Effect.gen(function*() {
        const { info, mtimeMs, signature } = yield* signatureOf(name)
        if (info.type !== "File") return null
        if (recovering && (yield* recover(name))) return "recovered" as const
        const previous = (yield* Ref.get(seen)).get(name)
        signatures.set(name, signature)
        if (nowMs - mtimeMs < settleMs || (previous !== undefined && previous !== signature)) return "settling" as const
        const extension = path.extname(name).toLowerCase()
        if (!imageExtensions.has(extension)) return yield* giveUp(name, "UnsupportedMediaType", refusal(name, extension))
        return yield* ocrFile(name, Number(info.size), signature)
      }).pipe(
        Effect.map((outcome): FileReport | null => outcome === null ? null : { file: name, outcome }),
        Effect.catchAll((error) =>
          error._tag === "SystemError" && error.reason === "NotFound"
            ? Effect.succeed<FileReport>({ file: name, outcome: "gone" })
            : Effect.as(Effect.logError(`inbox: ${name}: ${error.message}`, error), { file: name, outcome: "error" as const, error: error.message })
        )
      )

    const scanOnce: Effect.Effect<ReadonlyArray<FileReport>, InboxError> = Effect.gen(function*() {
      yield* Effect.forEach([dir, outbox, done, failed, tmp], (sub) => fs.makeDirectory(sub, { recursive: true }))
      const names = (yield* fs.readDirectory(dir)).filter((name) =>
        !name.startsWith(".") && !inProgressExtensions.has(path.extname(name).toLowerCase())
      )
      const recovering = !(yield* Ref.get(started))
      const nowMs = yield* Clock.currentTimeMillis
      const signatures = new Map<string, string>()
      const visited = yield* Effect.forEach(names, (name) => visit(name, recovering, nowMs, signatures), {
        concurrency: options.concurrency ?? 5
      })
      yield* Ref.set(seen, signatures)
      yield* Ref.set(started, true)
      const reports = visited.filter((report) => report !== null)
      const errors = reports.flatMap((r) => (r.error === undefined ? [] : [`${r.file}: ${r.error}`]))
      // One bad file among good ones is logged; a scan where nothing moves is a failing loop, for /status to show.
      if (errors.length > 0 && !reports.some((r) => ["done", "failed", "recovered"].includes(r.outcome))) {
        return yield* new InboxError({ reason: "Stalled", message: `no file could be handled: ${errors.join("; ")}` })
      }
      const handled = reports.filter((r) => r.outcome !== "settling")
      if (handled.length > 0) yield* Effect.logInfo(`inbox: ${handled.map((r) => `${r.file} ${r.outcome}`).join(", ")}`)
      return reports
    }).pipe(
      Effect.catchTags({
        BadArgument: (cause) => new InboxError({ reason: "Unavailable", message: `${dir}: ${cause.message}`, cause }),
        SystemError: (cause) => new InboxError({ reason: "Unavailable", message: `${dir}: ${cause.message}`, cause })
      })
    )

    return { dir, scanOnce }
  })

/** The `inbox` loop, registered in `Loops`, stopped with the layer's scope. */
export const layer = Layer.scopedDiscard(Effect.gen(function*() {
  const { dir, dpi, format, interval, lang, maxBytes, maxPages, ocr, psm } = yield* config
  const scanner = yield* makeScanner({ dir, maxBytes, maxPages, ocr: { lang, psm: Option.getOrUndefined(psm), dpi, ocr, format } })
  // A long backlog is one long scan, so the timeout only guards against a hang.
  const loop = yield* Loop.make({ name: "inbox", interval, body: scanner.scanOnce, attemptTimeout: "1 hour" })
  const loops = yield* Loops
  yield* loops.register(loop)
  yield* Effect.logInfo(`inbox: watching ${scanner.dir}`)
}))
