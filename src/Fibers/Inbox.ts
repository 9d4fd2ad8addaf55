/**
 * The inbox: a loop that OCRs image files dropped into a folder. Results go to `<inbox>/outbox/<file>.json`,
 * sources to `<inbox>/done/`; files the engine rejects go to `<inbox>/failed/` beside `<file>.error.json`.
 *
 * Crash safety: a result is written to `<inbox>/.tmp`, synced and renamed into place before its source moves,
 * so a kill at any moment leaves each file either in the inbox (redone next time) or moved with its result.
 * At start, a file whose result already exists is moved to `done/` without running it again.
 */
import { FileSystem, Path } from "@effect/platform"
import { Clock, Config, Data, DateTime, Duration, Effect, Either, Layer, Ref, Schema } from "effect"
import * as Tasks from "../Pool/Tasks.js"
import { WorkerPool } from "../Pool/WorkerPool.js"
import { OcrResult } from "../Workers/Protocol.js"
import * as Loop from "./Loop.js"
import { Loops } from "./Loops.js"
import * as AtomicFile from "../AtomicFile.js"
import * as SharedConfig from "../Layers/SharedConfig.js"

/** `<inbox>/outbox/<file>.json`: the OCR result, the source's name and when it was done. */
export const InboxResult = Schema.extend(OcrResult, Schema.Struct({ file: Schema.String, processedAt: Schema.String }))
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
 * What one scan did with an image file: `settling` (still being written), `deferred` (pool busy or stopping),
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
}

const imageExtensions = new Set([".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif"])

/** The inbox's configuration. */
export const config = Config.all({
  /** `INFERD_INBOX`: the folder watched (default `./var/inbox`); it and its subfolders are created if missing. */
  dir: Config.string("INFERD_INBOX").pipe(Config.withDefault("./var/inbox"), Config.withDescription("folder watched for images to OCR")),
  /** `INFERD_INBOX_INTERVAL`: time between scans (default 5 s). */
  interval: Config.duration("INFERD_INBOX_INTERVAL").pipe(Config.withDefault(Duration.seconds(5)), Config.withDescription("time between inbox scans")),
  /** `INFERD_MAX_BODY`: the HTTP upload limit (default 20 MiB), so the inbox takes no file HTTP would refuse. */
  maxBytes: SharedConfig.maxBody
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

    const atomic = yield* AtomicFile.make
    const writeAtomically = (target: string, value: unknown) =>
      atomic.writeBytes(target, path.join(tmp, path.basename(target)), new TextEncoder().encode(JSON.stringify(value, null, 2)))

    const giveUp = (name: string, _tag: string, message: string) =>
      Effect.gen(function*() {
        const failure: InboxFailure = { _tag, message, file: name, failedAt: yield* now }
        yield* writeAtomically(path.join(failed, `${name}.error.json`), failure)
        yield* fs.rename(path.join(dir, name), path.join(failed, name))
        yield* Effect.logWarning(`inbox: ${name} failed: ${_tag}: ${message}`)
        return "failed" as const
      })

    const ocrFile = (name: string, size: number) =>
      Effect.gen(function*() {
        if (size > maxBytes) return yield* giveUp(name, "ImageTooLarge", `the file is ${size} bytes, over the ${maxBytes} byte limit`)
        const image = yield* fs.readFile(path.join(dir, name))
        const answer = yield* Effect.either(pool.submit(Tasks.ocr(image), { priority: "background" }))
        if (Either.isLeft(answer)) {
          const error = answer.left
          // The pool is busy or stopping: the file stays for a later scan, nothing is lost.
          if (error._tag === "ShuttingDown" || error._tag === "Overloaded") return "deferred" as const
          // Bad input, a crash, a timeout or an engine failure: retrying every scan would only repeat it.
          return yield* giveUp(name, error._tag, error.message)
        }
        const result: InboxResult = { ...answer.right, file: name, processedAt: yield* now }
        yield* writeAtomically(path.join(outbox, `${name}.json`), result)
        yield* fs.rename(path.join(dir, name), path.join(done, name))
        return "done" as const
      })

    // Only a restart can leave a result without its move; later, the same name is a new file to OCR again.
    const recover = (name: string) =>
      Effect.gen(function*() {
        if (!(yield* fs.exists(path.join(outbox, `${name}.json`)))) return false
        yield* fs.rename(path.join(dir, name), path.join(done, name))
        return true
      })

    const visit = (name: string, recovering: boolean, nowMs: number, signatures: Map<string, string>) =>
      Effect.gen(function*() {
        const info = yield* fs.stat(path.join(dir, name))
        if (info.type !== "File") return null
        if (recovering && (yield* recover(name))) return "recovered" as const
        const mtimeMs = info.mtime._tag === "Some" ? info.mtime.value.getTime() : 0
        const signature = `${info.size}:${mtimeMs}`
        const previous = (yield* Ref.get(seen)).get(name)
        signatures.set(name, signature)
        if (nowMs - mtimeMs < settleMs || (previous !== undefined && previous !== signature)) return "settling" as const
        return yield* ocrFile(name, Number(info.size))
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
        !name.startsWith(".") && imageExtensions.has(path.extname(name).toLowerCase())
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
  const { dir, interval, maxBytes } = yield* config
  const scanner = yield* makeScanner({ dir, maxBytes })
  // A long backlog is one long scan, so the timeout only guards against a hang.
  const loop = yield* Loop.make({ name: "inbox", interval, body: scanner.scanOnce, attemptTimeout: "1 hour" })
  const loops = yield* Loops
  yield* loops.register(loop)
  yield* Effect.logInfo(`inbox: watching ${scanner.dir}`)
}))
