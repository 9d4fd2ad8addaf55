import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, TestClock } from "effect"
import type { Task } from "../../src/Pool/Tasks.js"
import * as OcrDocument from "../../src/Layers/OcrDocument.js"
import { Overloaded, timedOut } from "../../src/Pool/PoolErrors.js"
import { WorkerPool } from "../../src/Pool/WorkerPool.js"
import type { OcrPage, WorkerRequest } from "../../src/Workers/Protocol.js"

const page = (n: number, words: number, confidence: number, width = 100, height = 50): OcrPage => ({
  page: n,
  source: "ocr",
  text: `page ${n}\n`,
  confidence,
  words: Array.from({ length: words }, (_, i) => ({ text: `w${i}`, confidence, bbox: { x0: i, y0: 0, x1: i + 1, y1: 1 } })),
  width,
  height,
  durationMs: 10 * n
})

describe("OcrDocument.assemble", () => {
  it("joins texts with a form feed, weights confidence by words, keeps pages in order, whatever order they came in", () => {
    const result = OcrDocument.assemble([page(2, 3, 60, 200, 40), page(1, 1, 100), page(3, 0, 0)])
    assert.strictEqual(result.text, "page 1\n\fpage 2\n\fpage 3\n")
    assert.strictEqual(result.confidence, (100 + 3 * 60) / 4)
    assert.deepStrictEqual(result.pages.map((p) => p.page), [1, 2, 3])
    assert.deepStrictEqual(result.words.map((w) => [w.page, w.text]), [[1, "w0"], [2, "w0"], [2, "w1"], [2, "w2"]])
    assert.deepStrictEqual([result.width, result.height, result.durationMs], [200, 50, 60])
  })

  it("without a word anywhere, confidence is the pages' mean; one page is that page", () => {
    assert.strictEqual(OcrDocument.assemble([page(1, 0, 10), page(2, 0, 30)]).confidence, 20)
    assert.strictEqual(OcrDocument.assemble([page(1, 0, 95)]).confidence, 95)
    const one = OcrDocument.assemble([page(1, 2, 87)])
    assert.deepStrictEqual([one.text, one.confidence, one.width, one.height], ["page 1\n", 87, 100, 50])
  })
})

/**
 * A pool of `size` workers, each page taking 300 ms of virtual time, that refuses more than `size` tasks in
 * flight with Overloaded (as a full queue would) and records the most it saw.
 */
const makePool = (size: number, pages: number) => {
  let inFlight = 0
  let most = 0
  // What a worker answers, encoded as a thread sends it; the task's own reader decodes it.
  const answer = (request: typeof WorkerRequest.Encoded): Effect.Effect<unknown> =>
    request._tag === "Inspect"
      ? Effect.succeed({ pages })
      : request._tag === "Ocr"
      ? Effect.as(Effect.sleep("300 millis"), page(request.page ?? 1, 1, 90))
      : Effect.die(request._tag)
  const pool = WorkerPool.of({
    submit: <A, E>(task: Task<A, E>) =>
      Effect.suspend((): Effect.Effect<A, E | Overloaded> => {
        if (inFlight >= size) return Effect.fail(new Overloaded({ message: "full", queued: inFlight, maxQueue: size, retryAfterSeconds: 1 }))
        most = Math.max(most, ++inFlight)
        return Effect.ensuring(Effect.flatMap(answer(task.request), (value) => task.read({ _tag: "Success", value })), Effect.sync(() => inFlight--))
      }),
    stats: Effect.succeed({ size, ready: size, busy: 0, running: 0, queued: 0, restarts: 0, threads: size, lastStartError: null }),
    drain: Effect.void
  })
  return { pool, most: () => most }
}

const tiff = Uint8Array.from([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0])

describe("OcrDocument.read", () => {
  it.effect("keeps at most the pool's size of pages in flight: a 40-page document never overflows the queue", () =>
    Effect.gen(function*() {
      const { pool, most } = makePool(3, 40)
      const progress: Array<number> = []
      const fiber = yield* Effect.fork(OcrDocument.read(pool, tiff, { maxPages: 200, progress: (done) => Effect.sync(() => progress.push(done)) }))
      yield* TestClock.adjust("10 seconds")
      const result = yield* fiber
      assert.deepStrictEqual(result.result.pages.map((p) => p.page), Array.from({ length: 40 }, (_, i) => i + 1))
      assert.strictEqual(most(), 3)
      assert.deepStrictEqual(progress, Array.from({ length: 40 }, (_, i) => i + 1))
    }))

  it.effect("refuses a document over maxPages before reading a page", () =>
    Effect.gen(function*() {
      const { pool, most } = makePool(2, 201)
      const exit = yield* Effect.exit(OcrDocument.read(pool, tiff, { maxPages: 200 }))
      assert.deepStrictEqual(exit, Exit.fail(new OcrDocument.TooManyPages({
        message: "the document has 201 pages, over the limit of 200 (INFERD_MAX_PAGES)",
        pages: 201,
        maxPages: 200
      })))
      assert.strictEqual(most(), 1)
    }))

  it.effect("the deadline is the whole document's: pages not started by then end it with TaskTimeout", () =>
    Effect.gen(function*() {
      const { pool } = makePool(1, 4)
      const fiber = yield* Effect.fork(Effect.exit(OcrDocument.read(pool, tiff, { maxPages: 200, timeout: "500 millis" })))
      yield* TestClock.adjust("2 seconds")
      const exit = yield* fiber
      assert.deepStrictEqual(exit, Exit.fail(timedOut(500)))
    }))
})
