/**
 * Multi-page documents through the real server and pool: every page of a TIFF read, in order, spread over two
 * workers; a document over INFERD_MAX_PAGES refused before any page is read; a document of more pages than the
 * queue holds, read whole while other requests fill the queue around it.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, HashMap, Layer, Logger, Option, Schedule } from "effect"
import { readFileSync } from "node:fs"
import sharp from "sharp"
import { ocrAnswer } from "../support/client.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import { awaitReady, post, testServer } from "../support/server.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url)))

/** Every log entry's message and annotations, as the daemon's logger would receive them. */
const logged: Array<{ readonly message: string; readonly from: unknown; readonly worker: unknown }> = []
const capture = Logger.replace(Logger.defaultLogger, Logger.make(({ annotations, message }) => {
  logged.push({ message: String(message), from: HashMap.get(annotations, "from").pipe(Option.getOrNull), worker: HashMap.get(annotations, "worker").pipe(Option.getOrNull) })
}))

layer(testServer({ pool: { size: 2 }, config: { INFERD_MAX_PAGES: "3" } }).pipe(Layer.provide(capture)), { timeout: 120_000, excludeTestServices: true })("OCR of multi-page documents", (it) => {
  it.effect("POST /v1/ocr reads every page of a three-page TIFF, in order, and joins them as tesseract's CLI does", () =>
    Effect.gen(function*() {
      yield* awaitReady
      const body = yield* Effect.flatMap(post("/v1/ocr", fixture("three-pages.tif"), "image/tiff"), ocrAnswer)
      const pages = body.pages
      assert.deepStrictEqual(pages.map((p) => p.page), [1, 2, 3])
      assert.include(pages[0]!.text, "This is a lot of 12 point text to test the")
      assert.strictEqual(pages[1]!.text.trim(), "Tesseract.js")
      assert.include(pages[2]!.text, "The third page says hello")
      assert.strictEqual(body.text, pages.map((p) => p.text).join("\f"))
      const words = body.words
      assert.deepStrictEqual(words.map((w) => [w.page, w.text]), pages.flatMap((p) => p.words.map((w) => [p.page, w.text])))
      assert.deepStrictEqual([body.width, body.height], [640, 480])
      const mean = pages.reduce((sum, p) => sum + p.confidence * p.words.length, 0) / words.length
      assert.closeTo(body.confidence, mean, 1e-9)
    }))

  it.effect("tesseract's own warnings about the TIFF's resolution go through the logger, with the worker's id", () =>
    Effect.gen(function*() {
      const warning = yield* Effect.sync(() => logged.find((entry) => entry.message.includes("Invalid resolution"))).pipe(
        Effect.filterOrFail((entry) => entry !== undefined),
        Effect.retry(Schedule.spaced("50 millis")),
        Effect.timeout("10 seconds")
      )
      assert.strictEqual(warning.from, "stderr")
      assert.isNumber(warning.worker)
    }))

  it.effect("a single-page image answers one page in the same shape", () =>
    Effect.gen(function*() {
      const body = yield* Effect.flatMap(post("/v1/ocr", fixture("simple.png"), "image/png"), ocrAnswer)
      const pages = body.pages
      assert.deepStrictEqual(pages.map((p) => [p.page, p.text, p.width, p.height]), [[1, body.text, 320, 180]])
      assert.strictEqual(body.confidence, pages[0]!.confidence)
    }))

  it.effect("POST /v1/ocr answers 413 TooManyPages for a TIFF over INFERD_MAX_PAGES", () =>
    Effect.gen(function*() {
      const page = yield* Effect.promise(() => sharp(fixture("simple.png")).png().toBuffer())
      const four = yield* Effect.promise(() => sharp([page, page, page, page], { join: { animated: true } }).tiff().toBuffer())
      const { status, body } = yield* post("/v1/ocr", four, "image/tiff")
      assert.strictEqual(status, 413)
      assert.deepInclude(body, { _tag: "TooManyPages", pages: 4, maxPages: 3 })
    }))
})

layer(testServer({ pool: { size: 1, maxQueue: 1 } }), { timeout: 120_000, excludeTestServices: true })("a document longer than the queue", (it) => {
  it.effect("six pages on a one-task queue are read whole while six clients keep that queue full (and are refused)", () =>
    Effect.gen(function*() {
      yield* awaitReady
      const pool = yield* WorkerPool.WorkerPool
      const sheet = yield* Effect.promise(() => sharp(fixture("simple.png")).png().toBuffer())
      const six = new Uint8Array(yield* Effect.promise(() => sharp(Array.from({ length: 6 }, () => sheet), { join: { animated: true } }).tiff().toBuffer()))
      const document = yield* Effect.fork(post("/v1/ocr", six, "image/tiff"))
      yield* pool.stats.pipe(Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (stats) => stats.busy === 1 }), Effect.timeout("30 seconds"))
      // Once the document is admitted, six clients send short requests back to back, keeping the one-task queue full.
      const others: Array<number> = []
      const client = post("/v1/ocr", fixture("simple.png"), "image/png").pipe(Effect.tap((reply) => others.push(reply.status)), Effect.forever)
      const load = yield* Effect.fork(Effect.all(Array.from({ length: 6 }, () => client), { concurrency: 6 }))
      const reply = yield* Fiber.join(document)
      yield* Fiber.interrupt(load)
      const body = yield* ocrAnswer(reply)
      assert.deepStrictEqual(body.pages.map((p) => p.text.trim()), Array.from({ length: 6 }, () => "Tesseract.js"))
      // The queue was really full meanwhile: some of the other requests were refused.
      assert.include(others, 503)
    }))
})
