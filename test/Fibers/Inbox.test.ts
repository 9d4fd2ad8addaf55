import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Ref, Schedule, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Inbox from "../../src/Fibers/Inbox.js"
import { Loops, layer as LoopsLayer } from "../../src/Fibers/Loops.js"
import { ShuttingDown, WorkerCrashed } from "../../src/Pool/PoolErrors.js"
import { WorkerPool } from "../../src/Pool/WorkerPool.js"
import { ImageUndecodable, type OcrPage } from "../../src/Workers/Protocol.js"

/**
 * A pool double whose worker reads the "image" as text: `undecodable` fails like a corrupt image, `crash` like
 * a dying thread (the pool's WorkerCrashed), anything else is the OCR text. Answers go through the task's own
 * reader, as a worker's do.
 * While `stopping` is set, the pool refuses work as a draining pool does.
 */
const makePool = Effect.gen(function*() {
  const calls = yield* Ref.make<ReadonlyArray<string>>([])
  const stopping = yield* Ref.make(false)
  // Runs while the "worker" reads an image, as a writer still copying the file would.
  const during = yield* Ref.make<Effect.Effect<void>>(Effect.void)
  const ocr = (image: Uint8Array): Effect.Effect<OcrPage, ImageUndecodable | WorkerCrashed> =>
    Effect.gen(function*() {
      const text = new TextDecoder().decode(image)
      yield* Ref.update(calls, (all) => [...all, text])
      yield* Effect.flatten(Ref.get(during))
      if (text === "undecodable") return yield* new ImageUndecodable({ message: "not an image" })
      if (text === "crash") return yield* new WorkerCrashed({ message: "the worker thread died while running the task: exited with code 1" })
      return { page: 1, source: "ocr" as const, text, confidence: 91, words: [], width: 10, height: 10, durationMs: 5 }
    })
  const layer = Layer.succeed(WorkerPool, WorkerPool.of({
    submit: (task, options) =>
      Effect.gen(function*() {
        assert.strictEqual(options?.priority, "background")
        if (yield* Ref.get(stopping)) return yield* new ShuttingDown({ message: "draining" })
        if (task.request._tag !== "Ocr") return yield* Effect.die(task.request._tag)
        const answer = yield* Effect.either(ocr(task.request.image))
        if (answer._tag === "Left" && answer.left._tag === "WorkerCrashed") return yield* answer.left
        return yield* task.read(answer._tag === "Right" ? { _tag: "Success", value: answer.right } : { _tag: "Failure", error: answer.left })
      }),
    stats: Effect.succeed({ size: 1, ready: 1, busy: 0, running: 0, queued: 0, restarts: 0, threads: 1, lastStartError: null }),
    drain: Effect.void
  }))
  return { calls: Ref.get(calls), stopping, during, layer }
})

const tempInbox = () => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "inferd-inbox-"))

/** Writes a file whose mtime is a minute old, so it counts as finished. */
const drop = (dir: string, name: string, content: string) => {
  const file = NodePath.join(dir, name)
  NodeFs.writeFileSync(file, content)
  const past = new Date(Date.now() - 60_000)
  NodeFs.utimesSync(file, past, past)
}

const ls = (dir: string) => NodeFs.readdirSync(dir).sort()
const readJson = <A, I>(schema: Schema.Schema<A, I>, file: string) =>
  Schema.decodeUnknownSync(schema)(JSON.parse(NodeFs.readFileSync(file, "utf8")))

/** One scanner over `dir` with the pool double and the real file system. */
const scanner = (dir: string, options: Partial<Inbox.ScannerOptions> = {}) =>
  Effect.gen(function*() {
    const pool = yield* makePool
    const scan = yield* Inbox.makeScanner({ dir, ...options }).pipe(Effect.provide(Layer.merge(pool.layer, NodeContext.layer)))
    return { ...pool, scanOnce: scan.scanOnce }
  })

describe("Inbox", () => {
  it.live("OCRs finished images into outbox/ and moves them to done/", () =>
    Effect.gen(function*() {
      const dir = tempInbox()
      drop(dir, "a.png", "alpha")
      drop(dir, "b.JPG", "bravo")
      const { calls, scanOnce } = yield* scanner(dir)
      const before = new Date().toISOString()
      const report = yield* scanOnce
      const after = new Date().toISOString()
      assert.deepStrictEqual(report.map((r) => [r.file, r.outcome]).sort(), [["a.png", "done"], ["b.JPG", "done"]])
      assert.deepStrictEqual([...(yield* calls)].sort(), ["alpha", "bravo"])
      assert.deepStrictEqual(ls(dir), [".tmp", "done", "failed", "outbox"])
      assert.deepStrictEqual(ls(NodePath.join(dir, "done")), ["a.png", "b.JPG"])
      assert.deepStrictEqual(ls(NodePath.join(dir, "outbox")), ["a.png.json", "b.JPG.json"])
      assert.deepStrictEqual(ls(NodePath.join(dir, ".tmp")), []) // every temp file was renamed into place
      const result = readJson(Inbox.InboxResult, NodePath.join(dir, "outbox", "a.png.json"))
      assert.strictEqual(result.text, "alpha")
      assert.strictEqual(result.file, "a.png")
      assert.strictEqual(result.confidence, 91)
      // Stamped during the scan (ISO 8601 in UTC sorts as text).
      assert.isTrue(before <= result.processedAt && result.processedAt <= after, `${before} <= ${result.processedAt} <= ${after}`)
    }))

  it.live("sends poison files to failed/ with their error, while the others succeed", () =>
    Effect.gen(function*() {
      const dir = tempInbox()
      drop(dir, "good.png", "fine")
      drop(dir, "bad.png", "undecodable")
      drop(dir, "boom.tif", "crash")
      drop(dir, "huge.gif", "x".repeat(64))
      const { calls, scanOnce } = yield* scanner(dir, { maxBytes: 32 })
      const report = yield* scanOnce
      assert.deepStrictEqual(
        report.map((r) => [r.file, r.outcome]).sort(),
        [["bad.png", "failed"], ["boom.tif", "failed"], ["good.png", "done"], ["huge.gif", "failed"]]
      )
      assert.deepStrictEqual([...(yield* calls)].sort(), ["crash", "fine", "undecodable"]) // huge.gif was never read
      assert.deepStrictEqual(ls(dir), [".tmp", "done", "failed", "outbox"])
      assert.deepStrictEqual(ls(NodePath.join(dir, "done")), ["good.png"])
      assert.deepStrictEqual(ls(NodePath.join(dir, "failed")), [
        "bad.png", "bad.png.error.json", "boom.tif", "boom.tif.error.json", "huge.gif", "huge.gif.error.json"
      ])
      const failure = (name: string) => readJson(Inbox.InboxFailure, NodePath.join(dir, "failed", `${name}.error.json`))
      assert.deepStrictEqual([failure("bad.png")._tag, failure("bad.png").message, failure("bad.png").file], ["ImageUndecodable", "not an image", "bad.png"])
      assert.strictEqual(failure("boom.tif")._tag, "WorkerCrashed")
      assert.strictEqual(failure("huge.gif")._tag, "ImageTooLarge")
      assert.isFalse(Number.isNaN(Date.parse(failure("bad.png").failedAt)))
    }))

  it.live("leaves files in the inbox while the pool is shutting down", () =>
    Effect.gen(function*() {
      const dir = tempInbox()
      drop(dir, "later.png", "later")
      const { calls, scanOnce, stopping } = yield* scanner(dir)
      yield* Ref.set(stopping, true)
      assert.deepStrictEqual(yield* scanOnce, [{ file: "later.png", outcome: "deferred" }])
      assert.deepStrictEqual(ls(dir), [".tmp", "done", "failed", "later.png", "outbox"])
      assert.deepStrictEqual(ls(NodePath.join(dir, "outbox")), [])
      assert.deepStrictEqual(ls(NodePath.join(dir, "failed")), [])
      // Taken up by the next scan once the pool works again.
      yield* Ref.set(stopping, false)
      assert.deepStrictEqual(yield* scanOnce, [{ file: "later.png", outcome: "done" }])
      assert.deepStrictEqual(yield* calls, ["later"])
    }))

  it.live("at start, moves a file whose result exists without OCRing it again; later, the same name is new work", () =>
    Effect.gen(function*() {
      const dir = tempInbox()
      NodeFs.mkdirSync(NodePath.join(dir, "outbox"))
      NodeFs.writeFileSync(NodePath.join(dir, "outbox", "old.png.json"), "{\"from\":\"before the crash\"}")
      drop(dir, "old.png", "old")
      const { calls, scanOnce } = yield* scanner(dir)
      assert.deepStrictEqual(yield* scanOnce, [{ file: "old.png", outcome: "recovered" }])
      assert.deepStrictEqual(yield* calls, [])
      assert.deepStrictEqual(ls(NodePath.join(dir, "done")), ["old.png"])
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "outbox", "old.png.json"), "utf8"), "{\"from\":\"before the crash\"}")
      drop(dir, "old.png", "new content")
      assert.deepStrictEqual(yield* scanOnce, [{ file: "old.png", outcome: "done" }])
      assert.deepStrictEqual(yield* calls, ["new content"])
      assert.strictEqual(readJson(Inbox.InboxResult, NodePath.join(dir, "outbox", "old.png.json")).text, "new content")
    }))

  it.live("sends files it does not read to failed/ saying why; leaves dotfiles, downloads in progress and folders", () =>
    Effect.gen(function*() {
      const dir = tempInbox()
      drop(dir, "notes.txt", "text")
      drop(dir, "talk.WAV", "RIFF")
      drop(dir, "README", "no extension")
      drop(dir, ".hidden.png", "hidden")
      drop(dir, "upload.png.part", "partial")
      drop(dir, "photo.jpg.crdownload", "partial")
      NodeFs.mkdirSync(NodePath.join(dir, "album.png"))
      const { calls, scanOnce } = yield* scanner(dir)
      const report = yield* scanOnce
      assert.deepStrictEqual(report.map((r) => [r.file, r.outcome]).sort(), [["README", "failed"], ["notes.txt", "failed"], ["talk.WAV", "failed"]])
      assert.deepStrictEqual(yield* calls, []) // no worker was bothered with them
      assert.deepStrictEqual(ls(dir), [".hidden.png", ".tmp", "album.png", "done", "failed", "outbox", "photo.jpg.crdownload", "upload.png.part"])
      const failure = (name: string) => readJson(Inbox.InboxFailure, NodePath.join(dir, "failed", `${name}.error.json`))
      assert.deepInclude(failure("notes.txt"), { _tag: "UnsupportedMediaType", file: "notes.txt" })
      assert.match(failure("notes.txt").message, /^the inbox does not read \.txt files; it reads images and PDFs \(\.png, \.jpg, .*\.gif, \.pdf\)$/)
      assert.match(failure("talk.WAV").message, /^talk\.WAV is audio, which the inbox does not read \(POST \/v1\/audio\/analyze/)
      assert.match(failure("README").message, /^README has no file extension; it reads images and PDFs/)
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "failed", "notes.txt"), "utf8"), "text")
      // Once renamed into place, a finished download is read like any image.
      NodeFs.renameSync(NodePath.join(dir, "upload.png.part"), NodePath.join(dir, "upload.png"))
      assert.deepStrictEqual(yield* scanOnce, [{ file: "upload.png", outcome: "done" }])
    }))

  it.live("does not fail an image whose copy paused: if it changed while being read, it waits and is read whole", () =>
    Effect.gen(function*() {
      const dir = tempInbox()
      drop(dir, "slow.png", "undecodable") // half a copy reads as a broken image
      const { calls, during, scanOnce } = yield* scanner(dir)
      // The copy resumes while the worker reads the first half.
      yield* Ref.set(during, Effect.sync(() => drop(dir, "slow.png", "whole page")))
      assert.deepStrictEqual(yield* scanOnce, [{ file: "slow.png", outcome: "settling" }])
      yield* Ref.set(during, Effect.void)
      assert.deepStrictEqual(ls(NodePath.join(dir, "failed")), [])
      assert.deepStrictEqual(yield* scanOnce, [{ file: "slow.png", outcome: "settling" }]) // changed since the last look
      assert.deepStrictEqual(yield* scanOnce, [{ file: "slow.png", outcome: "done" }])
      assert.deepStrictEqual(yield* calls, ["undecodable", "whole page"])
    }))

  it.live("waits for a file still being written", () =>
    Effect.gen(function*() {
      const dir = tempInbox()
      NodeFs.writeFileSync(NodePath.join(dir, "fresh.png"), "fre") // modified just now
      const { calls, scanOnce } = yield* scanner(dir)
      assert.deepStrictEqual(yield* scanOnce, [{ file: "fresh.png", outcome: "settling" }])
      drop(dir, "fresh.png", "fresh") // old mtime now, but its size changed since the last scan
      assert.deepStrictEqual(yield* scanOnce, [{ file: "fresh.png", outcome: "settling" }])
      assert.deepStrictEqual(yield* scanOnce, [{ file: "fresh.png", outcome: "done" }])
      assert.deepStrictEqual(yield* calls, ["fresh"])
    }))

  it.live("fails the scan, for the loop to report, when the inbox cannot be used", () =>
    Effect.gen(function*() {
      const parent = tempInbox()
      const blocker = NodePath.join(parent, "not-a-folder")
      NodeFs.writeFileSync(blocker, "")
      const { scanOnce } = yield* scanner(NodePath.join(blocker, "inbox"))
      const error = yield* Effect.flip(scanOnce)
      assert.strictEqual(error._tag, "InboxError")
      assert.strictEqual(error.reason, "Unavailable")
    }))

  it.live("fails the scan when no file can be handled, keeping the files", () =>
    Effect.gen(function*() {
      const dir = tempInbox()
      drop(dir, "stuck.png", "stuck")
      // A folder where the result's temp file should go makes every write fail.
      NodeFs.mkdirSync(NodePath.join(dir, ".tmp", "stuck.png.json"), { recursive: true })
      const { scanOnce } = yield* scanner(dir)
      const error = yield* Effect.flip(scanOnce)
      assert.strictEqual(error.reason, "Stalled")
      assert.match(error.message, /^no file could be handled: stuck\.png: /)
      assert.deepStrictEqual(ls(dir), [".tmp", "done", "failed", "outbox", "stuck.png"])
      // One good file alongside is progress: the scan succeeds and reports the stuck one.
      drop(dir, "fine.png", "fine")
      const report = yield* scanOnce
      assert.deepStrictEqual(report.map((r) => [r.file, r.outcome]).sort(), [["fine.png", "done"], ["stuck.png", "error"]])
    }))

  it.scopedLive("runs as the registered `inbox` loop, configured from INFERD_INBOX", () =>
    Effect.gen(function*() {
      const dir = tempInbox()
      drop(dir, "scan.png", "looped")
      const pool = yield* makePool
      const config = ConfigProvider.fromMap(new Map([["INFERD_INBOX", dir], ["INFERD_INBOX_INTERVAL", "50 millis"]]))
      const context = yield* Layer.build(Inbox.layer.pipe(
        Layer.provideMerge(LoopsLayer),
        Layer.provide([pool.layer, NodeContext.layer, Layer.setConfigProvider(config)])
      ))
      const loops = yield* Effect.provide(Loops, context)
      const loop = Option.getOrThrow(yield* loops.get("inbox"))
      // The first scan runs at start; poll in real time until one has finished.
      const status = yield* loop.status.pipe(
        Effect.filterOrFail((s) => s.runs > 0, () => "no scan finished yet"),
        Effect.retry(Schedule.spaced("20 millis")),
        Effect.timeout("30 seconds")
      )
      assert.strictEqual(status.intervalMs, 50)
      assert.strictEqual(status.consecutiveFailures, 0)
      assert.isNotNull(status.lastSuccessAt)
      assert.deepStrictEqual(ls(NodePath.join(dir, "done")), ["scan.png"])
      assert.deepStrictEqual(ls(NodePath.join(dir, "outbox")), ["scan.png.json"])
      assert.deepStrictEqual(yield* pool.calls, ["looped"])
    }))

  it.effect("INFERD_INBOX_PSM, _DPI and _OCR are POST /v1/ocr's options, with its ranges and defaults", () =>
    Effect.gen(function*() {
      const read = (entries: ReadonlyArray<readonly [string, string]>) =>
        Effect.withConfigProvider(Inbox.config, ConfigProvider.fromMap(new Map(entries)))
      const defaults = yield* read([])
      assert.deepStrictEqual([defaults.psm, defaults.dpi, defaults.ocr, defaults.lang, defaults.format], [Option.none(), 300, "auto", "eng", "json"])
      const given = yield* read([["INFERD_INBOX_PSM", "6"], ["INFERD_INBOX_DPI", "150"], ["INFERD_INBOX_OCR", "force"]])
      assert.deepStrictEqual([given.psm, given.dpi, given.ocr], [Option.some(6), 150, "force"])
      for (const [key, value] of [["INFERD_INBOX_PSM", "14"], ["INFERD_INBOX_DPI", "20"], ["INFERD_INBOX_OCR", "always"]] as const) {
        const refused = yield* Effect.flip(read([[key, value]]))
        assert.include(String(refused), key)
      }
    }))
})
