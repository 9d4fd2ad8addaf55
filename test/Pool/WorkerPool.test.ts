import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Duration, Effect, Exit, Fiber, Schedule, Scope } from "effect"
import { readFileSync } from "node:fs"
import * as Tasks from "../../src/Pool/Tasks.js"
import * as PoolOptions from "../../src/Pool/PoolOptions.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import * as WorkerSlot from "../../src/Pool/WorkerSlot.js"

const image = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url)))

const options = (overrides: Partial<PoolOptions.PoolOptions> = {}): PoolOptions.PoolOptions => ({
  size: 2,
  maxQueue: 16,
  taskTimeout: Duration.seconds(30),
  shutdownGrace: Duration.seconds(5),
  startTimeout: Duration.seconds(60),
  workerHeapMb: 256,
  settings: WorkerSettings.forTests({ maxPixels: 50_000_000 }),
  ...overrides
})

const awaitReady = (pool: WorkerPool.WorkerPoolService, n: number) =>
  pool.stats.pipe(Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (s) => s.ready >= n }), Effect.timeout("60 seconds"))

describe("WorkerPool (real worker threads, real tesseract.js)", () => {
  it.live("OCRs an image in a worker and reports its stats", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerPool.make(options())
      yield* awaitReady(pool, 2)
      const result = yield* pool.submit(Tasks.ocr(image("testocr.png")))
      assert.include(result.text, "This is a lot of 12 point text to test the")
      assert.isAbove(result.confidence, 80)
      assert.isAbove(result.words.length, 20)
      // Every word of the text, in order, each boxed inside the page.
      assert.deepStrictEqual(result.words.map((word) => word.text), result.text.split(/\s+/).filter((token) => token !== ""))
      for (const { bbox, confidence } of result.words) {
        assert.isTrue(bbox.x0 >= 0 && bbox.x0 < bbox.x1 && bbox.x1 <= 640 && bbox.y0 >= 0 && bbox.y0 < bbox.y1 && bbox.y1 <= 480)
        assert.isTrue(confidence > 0 && confidence <= 100)
      }
      assert.strictEqual(result.width, 640)
      const stats = yield* pool.stats
      assert.deepInclude(stats, { size: 2, ready: 2, busy: 0, queued: 0, threads: 2 })
    })), 120_000)

  it.live("terminates a worker that overruns the pool's own deadline, answers TaskTimeout and replaces it", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerPool.make(options({ size: 1, taskTimeout: Duration.millis(300) }))
      yield* awaitReady(pool, 1)
      const exit = yield* pool.submit(Tasks.fault("hang")).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      assert.deepInclude(Exit.isFailure(exit) ? exit.cause : {}, { _tag: "Fail" })
      // A hang never ends by itself: the answer is the pool's own 300 ms deadline, which it names.
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") assert.deepInclude(exit.cause.error, { _tag: "TaskTimeout", timeoutMs: 300 })
      // The replacement takes the next task (once it is up: the short deadline counts its start too).
      yield* pool.stats.pipe(Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (s) => s.restarts === 1 && s.ready === 1 }), Effect.timeout("60 seconds"))
      const echoed = yield* pool.submit(Tasks.echo(41))
      assert.strictEqual(echoed.n, 41)
    })), 120_000)

  it.live("a caller's own deadline answers TaskTimeout and costs no worker: the task finishes, its answer dropped", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerPool.make(options({ size: 1 }))
      yield* awaitReady(pool, 1)
      yield* pool.submit(Tasks.echo(0))
      const error = yield* pool.submit(Tasks.ocr(image("testocr.png")), { timeout: "50 millis" }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "TaskTimeout")
      // The page is still being read: the worker is busy with it, not replaced.
      assert.deepInclude(yield* pool.stats, { busy: 1, restarts: 0 })
      const next = yield* pool.submit(Tasks.ocr(image("testocr.png")))
      assert.include(next.text, "12 point text")
      assert.deepInclude(yield* pool.stats, { busy: 0, restarts: 0, threads: 1 })
    })), 120_000)

  it.live("a caller that leaves mid-task costs no worker: the task finishes, and the next one runs there", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerPool.make(options({ size: 1 }))
      yield* awaitReady(pool, 1)
      const caller = yield* Effect.fork(pool.submit(Tasks.ocr(image("testocr.png"))))
      yield* pool.stats.pipe(Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (s) => s.busy === 1 }))
      yield* Fiber.interrupt(caller)
      const next = yield* pool.submit(Tasks.ocr(image("testocr.png")))
      assert.include(next.text, "12 point text")
      assert.deepInclude(yield* pool.stats, { restarts: 0, threads: 1 })
    })), 120_000)

  for (const kind of ["exit", "crash", "oom"] as const) {
    it.live(`fails only the task whose worker dies (${kind}) with WorkerCrashed, and recovers`, () =>
      Effect.scoped(Effect.gen(function*() {
        const pool = yield* WorkerPool.make(options({ size: 1 }))
        yield* awaitReady(pool, 1)
        const error = yield* pool.submit(Tasks.fault(kind)).pipe(Effect.flip)
        assert.strictEqual(error._tag, "WorkerCrashed")
        const echoed = yield* pool.submit(Tasks.echo(7))
        assert.strictEqual(echoed.n, 7)
      })), 120_000)
  }

  it.live("refuses at once bytes already transferred to a worker, instead of waiting out the deadline", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerPool.make(options({ size: 1, taskTimeout: Duration.seconds(20) }))
      yield* awaitReady(pool, 1)
      const data = new Uint8Array(1000)
      assert.strictEqual((yield* pool.submit(Tasks.echo(1, data))).bytes, 1000)
      assert.strictEqual(data.byteLength, 0)
      const exit = yield* pool.submit(Tasks.echo(2, data)).pipe(Effect.exit)
      // Refused before it is sent (not a TaskTimeout after the 20 s deadline), and the worker never saw it.
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      assert.include(Exit.isFailure(exit) ? String(Cause.squash(exit.cause)) : "", "already transferred to a worker")
      assert.deepInclude(yield* pool.stats, { busy: 0, restarts: 0 })
    })), 120_000)

  it.live("under load every caller gets its own answer", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerPool.make(options({ size: 2, maxQueue: 1000 }))
      yield* awaitReady(pool, 2)
      const answers = yield* Effect.forEach(Array.from({ length: 400 }, (_, n) => n), (n) => pool.submit(Tasks.echo(n)), { concurrency: "unbounded" })
      assert.deepStrictEqual(answers.map((a) => a.n), Array.from({ length: 400 }, (_, n) => n))
      assert.deepInclude(yield* pool.stats, { busy: 0, running: 0, queued: 0, restarts: 0 })
    })), 120_000)

  it.live("fails only the task whose bytes were already transferred; the others run", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerPool.make(options({ size: 1, maxQueue: 1000 }))
      yield* awaitReady(pool, 1)
      const spent = new Uint8Array(8)
      yield* pool.submit(Tasks.echo(0, spent))
      // 60 and 61 share one buffer: it is fresh when both are queued, and gone once 60 is sent.
      const shared = new Uint8Array(8)
      const exits = yield* Effect.forEach(
        Array.from({ length: 62 }, (_, n) => n),
        (n) => pool.submit(Tasks.echo(n, n === 30 ? spent : n >= 60 ? shared : new Uint8Array(8))).pipe(Effect.exit),
        { concurrency: "unbounded" }
      )
      exits.forEach((exit, n) => {
        if (n === 30 || n === 61) assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause), `task ${n} dies`)
        else assert.deepStrictEqual(exit, Exit.succeed({ n, bytes: 8 }))
      })
      assert.strictEqual((yield* pool.stats).restarts, 0)
    })), 120_000)

  it.live("sends a worker its next OCR page while it reads the current one, never a third", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerPool.make(options({ size: 1 }))
      yield* awaitReady(pool, 1)
      const pages = yield* Effect.fork(Effect.forEach([1, 2, 3], () => pool.submit(Tasks.ocr(image("testocr.png"))), { concurrency: "unbounded" }))
      const submitted = yield* pool.stats.pipe(Effect.filterOrFail((s) => s.running + s.queued === 3, () => "not all submitted"), Effect.retry(Schedule.spaced("2 millis")))
      assert.deepInclude(submitted, { busy: 1, running: 2, queued: 1 })
      const texts = yield* Fiber.join(pages)
      for (const { text } of texts) assert.include(text, "12 point text")
      // Echo is not pipelined: one at a time.
      const echoes = yield* Effect.fork(Effect.forEach([1, 2], (n) => pool.submit(Tasks.echo(n)), { concurrency: "unbounded" }))
      yield* Fiber.join(echoes)
    })), 120_000)

  it.live("answers Overloaded at once when the queue is full", () =>
    Effect.scoped(Effect.gen(function*() {
      // The hung task keeps its worker until the scope's close stops it, after the short grace.
      const pool = yield* WorkerPool.make(options({ size: 1, maxQueue: 1, shutdownGrace: Duration.millis(200) }))
      yield* awaitReady(pool, 1)
      const running = yield* Effect.fork(pool.submit(Tasks.fault("hang")))
      yield* pool.stats.pipe(Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (s) => s.busy === 1 }))
      const queued = yield* Effect.fork(pool.submit(Tasks.echo(1)))
      yield* pool.stats.pipe(Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (s) => s.queued === 1 }))
      const error = yield* pool.submit(Tasks.echo(2)).pipe(Effect.flip)
      assert.strictEqual(error._tag, "Overloaded")
      yield* Fiber.interruptAll([running, queued])
    })), 120_000)

  it.live("a worker that cannot warm up is retried, with the reason in its stats, and never takes a task", () =>
    Effect.scoped(Effect.gen(function*() {
      // tesseract.js may wait on a language file it cannot read rather than fail: the start deadline ends that.
      const pool = yield* WorkerPool.make(options({ size: 1, startTimeout: Duration.seconds(3), settings: WorkerSettings.forTests({ languages: { eng: "/nonexistent/tessdata/eng.traineddata.gz" } }) }))
      const failing = yield* pool.stats.pipe(Effect.filterOrFail((s) => s.restarts >= 2, () => "not retried yet"), Effect.retry(Schedule.spaced("50 millis")), Effect.timeout("60 seconds"))
      assert.deepInclude(failing, { ready: 0, busy: 0 })
      assert.match(failing.lastStartError ?? "", /tesseract|warm up/)
      const queued = yield* pool.submit(Tasks.echo(1), { timeout: "200 millis" }).pipe(Effect.flip)
      assert.strictEqual(queued._tag, "TaskTimeout")
    })), 120_000)

  it.live("closing the scope stops every thread; busy ones after the grace period", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pool = yield* WorkerPool.make(options({ size: 2, shutdownGrace: Duration.millis(300) })).pipe(Scope.extend(scope))
      yield* awaitReady(pool, 2)
      assert.strictEqual((yield* pool.stats).threads, 2)
      const hung = yield* Effect.fork(pool.submit(Tasks.fault("hang")))
      yield* pool.stats.pipe(Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (s) => s.busy === 1 }))
      // The hung task would hold the close for ever; the grace period ends it (a generous deadline, not a timing).
      yield* Scope.close(scope, Exit.void).pipe(Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => "the close waited for the hung task" }))
      const error = yield* Fiber.join(hung).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ShuttingDown")
      assert.strictEqual((yield* pool.stats).threads, 0)
      const late = yield* pool.submit(Tasks.echo(3)).pipe(Effect.flip)
      assert.strictEqual(late._tag, "ShuttingDown")
    }), 120_000)
})

describe("WorkerSlot.startBackoff", () => {
  it("waits 0.5 s, doubling, at most 30 s between starts", () => {
    const delays = Effect.runSync(Schedule.run(Schedule.delays(WorkerSlot.startBackoff), 0, Array.from({ length: 10 }, (_, i) => i)))
    assert.deepStrictEqual(Chunk.toReadonlyArray(delays).map(Duration.toMillis), [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000])
  })
})

describe("PoolOptions.sizeFor", () => {
  it("fills every CPU with niced workers when no quota binds", () => {
    assert.strictEqual(PoolOptions.sizeFor({ cpus: 2, quota: null }, 10), 2)
    assert.strictEqual(PoolOptions.sizeFor({ cpus: 4, quota: 8 }, 10), 4, "a quota above the cpuset never throttles")
  })

  it("leaves one CPU to the event loop under a binding quota, or when workers are not niced", () => {
    assert.strictEqual(PoolOptions.sizeFor({ cpus: 2, quota: 2 }, 10), 1)
    assert.strictEqual(PoolOptions.sizeFor({ cpus: 2, quota: 2.3 }, 10), 1)
    assert.strictEqual(PoolOptions.sizeFor({ cpus: 2, quota: 2.5 }, 10), 2, "half a CPU of quota is left over")
    assert.strictEqual(PoolOptions.sizeFor({ cpus: 16, quota: null }, 0), 15)
    assert.strictEqual(PoolOptions.sizeFor({ cpus: 1, quota: 1 }, 10), 1)
  })
})
