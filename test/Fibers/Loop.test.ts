import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Data, Effect, Exit, HashMap, Layer, Logger, LogLevel, Option, Random, Ref, Scope, TestClock } from "effect"
import * as Canary from "../../src/Fibers/Canary.js"
import * as Loop from "../../src/Fibers/Loop.js"
import { Loops, layer as LoopsLayer } from "../../src/Fibers/Loops.js"
import { WorkerPool } from "../../src/Pool/WorkerPool.js"
import { canaryText } from "../../src/Workers/CanaryImage.js"
import type { OcrPage } from "../../src/Workers/Protocol.js"

class Boom extends Data.TaggedError("Boom")<{ readonly message: string }> {}

/** A body that records the virtual time of each call and fails (or dies) as `outcome(n)` says for the n-th call. */
const recorder = (outcome: (n: number) => "ok" | "fail" | "die" = () => "ok") =>
  Effect.gen(function*() {
    const times = yield* Ref.make<ReadonlyArray<number>>([])
    const body = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const all = yield* Ref.updateAndGet(times, (ts) => [...ts, now])
      const result = outcome(all.length)
      if (result === "fail") return yield* new Boom({ message: `attempt ${all.length}` })
      if (result === "die") return yield* Effect.die(new Error(`bug on attempt ${all.length}`))
    })
    return { times: Ref.get(times), body }
  })

// Lets the loop's fibers react to a command without moving virtual time.
const settle = TestClock.adjust(0)

// The jitter scales a delay d to d * (0.8 * (1 - r) + 1.2 * r): r = 0.5 keeps d, r = 1 is the +20% extreme.
const withJitter = (r: number) => Effect.withRandom(Random.fixed([r]))

describe("Loop", () => {
  it.scoped("retries on a capped exponential schedule, then goes back to its interval", () =>
    Effect.gen(function*() {
      const { body, times } = yield* recorder((n) => (n === 3 ? "die" : n < 6 ? "fail" : "ok"))
      const loop = yield* Loop.make({ name: "t", interval: "10 seconds", body, retry: { base: "100 millis", cap: "1 second" } })
        .pipe(withJitter(0.5))
      yield* TestClock.adjust("50 millis")
      const backingOff = yield* loop.status
      assert.strictEqual(backingOff.state, "backing-off")
      assert.strictEqual(backingOff.consecutiveFailures, 1)
      assert.strictEqual(backingOff.lastError, "Boom: attempt 1")
      yield* TestClock.adjust("10 seconds")
      // 100, 200, 400, 800, then the 1 s cap; the defect on attempt 3 is retried like a failure.
      assert.deepStrictEqual(yield* times, [0, 100, 300, 700, 1500, 2500])
      const status = yield* loop.status
      assert.strictEqual(status.state, "idle")
      assert.strictEqual(status.runs, 6)
      assert.strictEqual(status.failures, 5)
      assert.strictEqual(status.consecutiveFailures, 0)
      assert.strictEqual(status.lastSuccessAt, new Date(2500).toISOString())
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual((yield* times).slice(6), [12500])
    }))

  it.scoped("jitters each delay by up to 20%, still capped", () =>
    Effect.gen(function*() {
      const { body, times } = yield* recorder((n) => (n < 6 ? "fail" : "ok"))
      yield* Loop.make({ name: "t", interval: "10 seconds", body, retry: { base: "100 millis", cap: "1 second" } })
        .pipe(withJitter(1))
      yield* TestClock.adjust("5 seconds")
      // 120, 240, 480, 960, then 1000: the cap is not jittered.
      assert.deepStrictEqual(yield* times, [0, 120, 360, 840, 1800, 2800])
    }))

  it.scoped("moves idle -> running -> idle -> backing-off -> paused -> idle", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const body = Effect.gen(function*() {
        const n = yield* Ref.updateAndGet(calls, (c) => c + 1)
        yield* Effect.sleep("1 second")
        if (n === 2) return yield* new Boom({ message: "second run" })
      })
      const loop = yield* Loop.make({ name: "t", interval: "5 seconds", body, runAtStart: false })
      const states: Array<Loop.LoopState> = []
      const record = Effect.flatMap(loop.status, (s) => Effect.sync(() => states.push(s.state)))
      yield* record // idle, waiting for the first interval
      yield* TestClock.adjust("5500 millis")
      yield* record // running its first attempt, 1 s long
      const running = yield* loop.status
      assert.strictEqual(running.lastRunAt, new Date(5000).toISOString())
      yield* TestClock.adjust("1 second")
      yield* record // done: idle until 11.5 s
      assert.strictEqual((yield* loop.status).lastDurationMs, 1000)
      yield* TestClock.adjust("6 seconds")
      yield* record // the second run failed at 12.5 s: backing off 1 s (base default)
      yield* loop.pause
      yield* settle
      yield* record
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Ref.get(calls), 2) // paused: the pending retry was cancelled
      yield* loop.resume
      yield* settle
      yield* record
      assert.deepStrictEqual(states, ["idle", "running", "idle", "backing-off", "paused", "idle"])
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* Ref.get(calls), 3) // runs again one interval after resume
    }))

  it.scoped("runs at once on run-now, coalescing repeated requests", () =>
    Effect.gen(function*() {
      const { body, times } = yield* recorder()
      const loop = yield* Loop.make({ name: "t", interval: "1 hour", body, runAtStart: false })
      yield* TestClock.adjust("30 seconds")
      yield* loop.runNow
      yield* loop.runNow
      yield* loop.runNow
      yield* settle
      assert.deepStrictEqual(yield* times, [30_000])
      // The interval restarts from the forced run.
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* times, [30_000, 3_630_000])
    }))

  it.scoped("refuses run-now while paused (LoopPaused) and resumes on its interval", () =>
    Effect.gen(function*() {
      const { body, times } = yield* recorder()
      const loop = yield* Loop.make({ name: "t", interval: "10 seconds", body })
      yield* settle
      assert.deepStrictEqual(yield* times, [0])
      yield* loop.pause
      const refused = yield* Effect.flip(loop.runNow)
      assert.deepInclude(refused, { _tag: "LoopPaused", name: "t" })
      assert.include(refused.message, "paused")
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* times, [0])
      assert.strictEqual((yield* loop.status).state, "paused")
      yield* loop.resume
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* times, [0, 70_000])
    }))

  it.scoped("logs a defect with its cause and retries it", () =>
    Effect.gen(function*() {
      const logs: Array<{ readonly level: LogLevel.LogLevel; readonly cause: Cause.Cause<unknown>; readonly loop: unknown }> = []
      const logger = Logger.make(({ annotations, cause, logLevel }) => {
        logs.push({ level: logLevel, cause, loop: Option.getOrNull(HashMap.get(annotations, "loop")) })
      })
      const { body, times } = yield* recorder((n) => (n === 1 ? "die" : "ok"))
      const loop = yield* Loop.make({ name: "dies", interval: "1 minute", body }).pipe(
        withJitter(0.5),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(yield* times, [0, 1000])
      const errors = logs.filter((log) => log.level === LogLevel.Error)
      assert.strictEqual(errors.length, 1)
      assert.strictEqual(errors[0].loop, "dies")
      const defect = Option.getOrUndefined(Cause.dieOption(errors[0].cause))
      assert.instanceOf(defect, Error)
      assert.strictEqual(defect.message, "bug on attempt 1")
      const status = yield* loop.status
      assert.strictEqual(status.lastError, "Error: bug on attempt 1")
      assert.strictEqual(status.consecutiveFailures, 0)
    }))

  it.scoped("cuts a hung run at its attempt timeout and retries", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const body = Effect.zipRight(Ref.update(calls, (n) => n + 1), Effect.never)
      const loop = yield* Loop.make({ name: "t", interval: "1 minute", body, attemptTimeout: "3 seconds" }).pipe(withJitter(0.5))
      yield* TestClock.adjust("3 seconds")
      const status = yield* loop.status
      assert.strictEqual(status.state, "backing-off")
      assert.strictEqual(status.lastDurationMs, 3000)
      assert.match(status.lastError ?? "", /^AttemptTimeout: no result within 3s/)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Ref.get(calls), 2)
    }))

  it.effect("stops when its scope closes: the running attempt is interrupted, no further runs", () =>
    Effect.gen(function*() {
      const { body, times } = yield* recorder()
      const interrupted = yield* Ref.make(false)
      const scope = yield* Scope.make()
      yield* Loop.make({
        name: "t",
        interval: "1 second",
        body: Effect.zipRight(body, Effect.onInterrupt(Effect.sleep("500 millis"), () => Ref.set(interrupted, true)))
      }).pipe(Scope.extend(scope))
      yield* TestClock.adjust("3200 millis")
      assert.deepStrictEqual(yield* times, [0, 1500, 3000])
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* times, [0, 1500, 3000])
      assert.isTrue(yield* Ref.get(interrupted))
    }))
})

describe("Loops", () => {
  it.scoped("lists statuses and finds loops by name", () =>
    Effect.gen(function*() {
      const loops = yield* Loops
      const { body } = yield* recorder()
      yield* loops.register(yield* Loop.make({ name: "a", interval: "1 second", body }))
      yield* loops.register(yield* Loop.make({ name: "b", interval: "2 seconds", body, runAtStart: false }))
      yield* settle
      const list = yield* loops.list
      assert.deepStrictEqual(list.map((s) => [s.name, s.runs, s.intervalMs]), [["a", 1, 1000], ["b", 0, 2000]])
      assert.isTrue(Option.isSome(yield* loops.get("b")))
      assert.isTrue(Option.isNone(yield* loops.get("c")))
    }).pipe(Effect.provide(LoopsLayer)))
})

/** A pool whose only worker answers every OCR with `text` after 300 ms of virtual time. */
const poolAnswering = (text: string) => {
  const ocr = (): Effect.Effect<OcrPage> =>
    Effect.as(Effect.sleep("300 millis"), { page: 1, source: "ocr" as const, text, confidence: 90, words: [], width: 320, height: 180, durationMs: 300 })
  return Layer.succeed(WorkerPool, WorkerPool.of({
    submit: (task) => task.request._tag === "Ocr" ? Effect.flatMap(ocr(), (value) => task.read({ _tag: "Success", value })) : Effect.die(task.request._tag),
    stats: Effect.succeed({ size: 1, ready: 1, busy: 0, running: 0, queued: 0, restarts: 0, threads: 1, lastStartError: null }),
    drain: Effect.void
  }))
}

const canaryStatus = Effect.flatMap(Loops, (loops) => loops.get("canary")).pipe(
  Effect.flatMap((loop) => loop),
  Effect.flatMap((loop) => loop.status)
)

const canaryAnswering = (text: string) => Canary.layer.pipe(Layer.provideMerge(LoopsLayer), Layer.provide(poolAnswering(text)))

describe("Canary", () => {
  it.effect("passes when the page reads right, recording its latency", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("1 second")
      const status = yield* canaryStatus
      assert.strictEqual(status.runs, 1)
      assert.strictEqual(status.consecutiveFailures, 0)
      assert.strictEqual(status.lastDurationMs, 300)
      assert.strictEqual(status.intervalMs, 60_000)
    }).pipe(Effect.provide(canaryAnswering(`${canaryText}\n`))))

  it.effect("fails with CanaryMismatch when the text is wrong, which readiness sees", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("1 second")
      const status = yield* canaryStatus
      assert.strictEqual(status.state, "backing-off")
      assert.strictEqual(status.consecutiveFailures, 1)
      assert.strictEqual(status.lastError, `CanaryMismatch: expected the canary page to read "${canaryText}", got "Tesseract.ls"`)
    }).pipe(Effect.provide(canaryAnswering("Tesseract.ls"))))
})
