import { HttpClientRequest } from "@effect/platform"
import { assert, describe, layer } from "@effect/vitest"
import { Duration, Effect, Fiber, Schedule } from "effect"
import { readFileSync } from "node:fs"
import { Overloaded } from "../../src/Pool/PoolErrors.js"
import { apiClient, decodeAs } from "../support/client.js"
import { awaitReady, post, send, testServer } from "../support/server.js"

const page = readFileSync(new URL("../fixtures/images/testocr.png", import.meta.url))
const token = "s3cret-token"
const authed = (request: HttpClientRequest.HttpClientRequest) => request.pipe(HttpClientRequest.bearerToken(token))
const fault = (kind: string) => send(authed(HttpClientRequest.post("/v1/debug/fault")).pipe(HttpClientRequest.bodyUnsafeJson({ kind })))

/** The pool as /status declares it, through the typed client. */
const status = Effect.map(Effect.flatMap(apiClient, (client) => client.system.status()), (body) => body.pool)
/** Polls /status until the pool looks as `until` says: a latch on the server's own state, not a sleep. */
const poolUntil = (until: (pool: { busy: number; queued: number }) => boolean) =>
  status.pipe(Effect.repeat({ schedule: Schedule.spaced("5 millis"), until }), Effect.timeout("30 seconds"))
const restarts = Effect.map(status, (pool) => pool.restarts)
/** Waits until the one worker is up and runs nothing (a hung task is stopped at the server's deadline). */
const awaitIdle = status.pipe(
  Effect.filterOrFail((pool) => pool.ready === 1 && pool.busy === 0, () => "busy"),
  Effect.retry(Schedule.spaced("50 millis")),
  Effect.timeout("60 seconds")
)

describe("failure containment through the real server", () => {
  layer(testServer({ config: { INFERD_ENABLE_FAULTS: "true", INFERD_API_TOKEN: token }, pool: { size: 1 } }), {
    timeout: 120_000,
    excludeTestServices: true
  })("with faults enabled and a token", (it) => {
    it.effect("guards /v1 with the bearer token; status and health stay open", () =>
      Effect.gen(function*() {
        yield* awaitReady
        const denied = yield* post("/v1/ocr", page, "image/png")
        assert.strictEqual(denied.status, 401)
        assert.strictEqual(denied.body._tag, "Unauthorized")
        const wrong = yield* send(HttpClientRequest.post("/v1/loops/x/run").pipe(HttpClientRequest.bearerToken("nope")))
        assert.strictEqual(wrong.status, 401)
        assert.strictEqual((yield* send(HttpClientRequest.get("/status"))).status, 200)
        const ok = yield* send(authed(HttpClientRequest.post("/v1/ocr")).pipe(HttpClientRequest.bodyUint8Array(page, "image/png")))
        assert.strictEqual(ok.status, 200)
      }))

    it.effect("a worker that exits fails its task with a typed 500 WorkerCrashed; the next task runs", () =>
      Effect.gen(function*() {
        const crashed = yield* fault("exit")
        assert.strictEqual(crashed.status, 500)
        assert.strictEqual(crashed.body._tag, "WorkerCrashed")
        const ok = yield* send(authed(HttpClientRequest.post("/v1/ocr")).pipe(HttpClientRequest.bodyUint8Array(page, "image/png")))
        assert.strictEqual(ok.status, 200)
        assert.isAtLeast(yield* restarts, 1)
      }))

    it.effect("a client that disconnects mid-task costs no worker: the task finishes, the next one runs there", () =>
      Effect.gen(function*() {
        yield* awaitIdle
        const before = yield* restarts
        const client = yield* Effect.fork(send(authed(HttpClientRequest.post("/v1/ocr")).pipe(HttpClientRequest.bodyUint8Array(page, "image/png"))))
        yield* status.pipe(Effect.filterOrFail((s) => s.busy === 1, () => "not running yet"), Effect.retry(Schedule.spaced("5 millis")), Effect.timeout("20 seconds"))
        yield* Fiber.interrupt(client)
        const ok = yield* send(authed(HttpClientRequest.post("/v1/ocr")).pipe(HttpClientRequest.bodyUint8Array(page, "image/png")))
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(yield* restarts, before)
      }))

    it.effect("?timeoutMs= bounds an OCR request", () =>
      Effect.gen(function*() {
        yield* awaitReady
        const bad = yield* send(authed(HttpClientRequest.post("/v1/ocr?timeoutMs=-5")).pipe(HttpClientRequest.bodyUint8Array(page, "image/png")))
        assert.strictEqual(bad.status, 400)
        const ok = yield* send(authed(HttpClientRequest.post("/v1/ocr?timeoutMs=20000")).pipe(HttpClientRequest.bodyUint8Array(page, "image/png")))
        assert.strictEqual(ok.status, 200)
      }))
  })

  // The server's own deadline (INFERD_TASK_TIMEOUT) is short here, so a hung worker is stopped soon; only
  // hung tasks run here.
  layer(testServer({ config: { INFERD_ENABLE_FAULTS: "true" }, pool: { size: 1, taskTimeout: Duration.seconds(3) } }), {
    timeout: 120_000,
    excludeTestServices: true
  })("with faults enabled and a 3 s task deadline", (it) => {
    it.effect("a task that overruns the server's deadline answers 504 TaskTimeout; its worker is replaced", () =>
      Effect.gen(function*() {
        yield* awaitIdle
        const before = yield* restarts
        const hung = yield* fault("hang")
        assert.strictEqual(hung.status, 504)
        assert.strictEqual(hung.body._tag, "TaskTimeout")
        assert.strictEqual(hung.body.timeoutMs, 3000)
        yield* restarts.pipe(Effect.filterOrFail((n) => n > before, () => "not replaced yet"), Effect.retry(Schedule.spaced("20 millis")), Effect.timeout("20 seconds"))
        // The replacement comes up (an OCR here could itself overrun 3 s on a loaded machine).
        yield* awaitIdle
        yield* awaitReady
      }))

    it.effect("a full queue answers 503 Overloaded at once, with Retry-After", () =>
      Effect.gen(function*() {
        yield* awaitIdle
        const running = yield* Effect.fork(fault("hang"))
        yield* poolUntil((pool) => pool.busy === 1)
        const queued = yield* Effect.forEach(Array.from({ length: 8 }), () => Effect.fork(fault("hang")))
        yield* poolUntil((pool) => pool.queued === 8)
        // Refused at once rather than queued: a queued hang would end as 504 TaskTimeout at the 3 s deadline.
        const over = yield* fault("hang")
        assert.strictEqual(over.status, 503)
        assert.strictEqual(over.body._tag, "Overloaded")
        assert.strictEqual(over.headers["retry-after"], "1")
        // The queued ones never start; the running one holds its worker until the server's deadline stops it.
        yield* Fiber.interruptAll([running, ...queued])
        yield* awaitIdle
      }))
  })

  layer(testServer({ pool: { size: 1 } }), { timeout: 120_000, excludeTestServices: true })("a client's own deadline", (it) => {
    it.effect("?timeoutMs=1 ten times in a row: ten 504 TaskTimeout answers and no worker restarted", () =>
      Effect.gen(function*() {
        yield* awaitReady
        const before = yield* restarts
        for (let i = 0; i < 10; i++) {
          const late = yield* post("/v1/ocr?timeoutMs=1", page, "image/png")
          assert.strictEqual(late.status, 504)
          assert.deepInclude(late.body, { _tag: "TaskTimeout", timeoutMs: 1 })
        }
        const ok = yield* post("/v1/ocr", page, "image/png")
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(before, 0)
        assert.strictEqual(yield* restarts, 0)
      }))
  })

  layer(testServer({ pool: { size: 1, maxTasksPerWorker: 2, maxBytes: 30_000 } }), { timeout: 120_000, excludeTestServices: true })(
    "without faults, with recycling and a byte budget",
    (it) => {
      it.effect("the fault route does not exist unless INFERD_ENABLE_FAULTS is set", () =>
        Effect.gen(function*() {
          const reply = yield* send(HttpClientRequest.post("/v1/debug/fault").pipe(HttpClientRequest.bodyUnsafeJson({ kind: "exit" })))
          assert.strictEqual(reply.status, 404)
        }))

      it.effect("a worker is replaced after INFERD_WORKER_MAX_TASKS tasks", () =>
        Effect.gen(function*() {
          yield* awaitReady
          for (let i = 0; i < 3; i++) assert.strictEqual((yield* post("/v1/ocr", page, "image/png")).status, 200)
          assert.isAtLeast(yield* restarts, 1)
        }))

      it.effect("inputs over the queued-bytes budget answer 503 Overloaded", () =>
        Effect.gen(function*() {
          yield* awaitReady
          // The page is ~23 KB; a second one at the same time would pass the 30 KB budget.
          const first = yield* Effect.fork(post("/v1/ocr", page, "image/png"))
          yield* poolUntil((pool) => pool.busy === 1) // the first page holds its bytes while it is read
          const second = yield* post("/v1/ocr", page, "image/png")
          assert.strictEqual(second.status, 503)
          assert.include((yield* decodeAs(Overloaded)(second)).message, "INFERD_MAX_QUEUED_BYTES")
          assert.strictEqual((yield* Fiber.join(first)).status, 200)
        }))
    }
  )
})

