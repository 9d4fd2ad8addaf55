import { HttpClientRequest } from "@effect/platform"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import { readFileSync } from "node:fs"
import { awaitReady, post, send, testServer } from "../support/server.js"

const page = readFileSync(new URL("../fixtures/images/testocr.png", import.meta.url))
const token = "s3cret-token"
const authed = (request: HttpClientRequest.HttpClientRequest) => request.pipe(HttpClientRequest.bearerToken(token))
const fault = (kind: string, timeoutMs?: number) =>
  send(authed(HttpClientRequest.post("/v1/debug/fault")).pipe(HttpClientRequest.bodyUnsafeJson({ kind, timeoutMs })))

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

    it.effect("a hung task answers 504 TaskTimeout within its deadline plus 250 ms, and the pool recovers", () =>
      Effect.gen(function*() {
        const start = Date.now()
        const hung = yield* fault("hang", 500)
        const elapsed = Date.now() - start
        assert.strictEqual(hung.status, 504)
        assert.strictEqual(hung.body._tag, "TaskTimeout")
        assert.isBelow(elapsed, 750)
        yield* awaitReady
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
        const status = yield* send(HttpClientRequest.get("/status"))
        assert.isAtLeast((status.body.pool as { restarts: number }).restarts, 1)
      }))

    it.effect("a client that disconnects cancels its task: the stuck worker is recycled, the next task runs", () =>
      Effect.gen(function*() {
        yield* awaitReady
        const restarts = Effect.map(send(HttpClientRequest.get("/status")), (r) => (r.body.pool as { restarts: number }).restarts)
        const before = yield* restarts
        const client = yield* Effect.fork(fault("hang", 60_000))
        yield* Effect.sleep("500 millis")
        yield* Fiber.interrupt(client)
        // Without the cancel the worker would spin for the full 60 s deadline.
        const after = yield* restarts.pipe(Effect.filterOrFail((n) => n > before, () => "not yet"), Effect.retry(Schedule.spaced("100 millis")), Effect.timeout("10 seconds"))
        assert.isAbove(after, before)
        yield* awaitReady
        const ok = yield* send(authed(HttpClientRequest.post("/v1/ocr")).pipe(HttpClientRequest.bodyUint8Array(page, "image/png")))
        assert.strictEqual(ok.status, 200)
      }))

    it.effect("a full queue answers 503 Overloaded at once, with Retry-After", () =>
      Effect.gen(function*() {
        yield* awaitReady
        const running = yield* Effect.fork(fault("hang", 3000))
        yield* Effect.sleep("300 millis")
        const queued = yield* Effect.forEach(Array.from({ length: 8 }), () => Effect.fork(fault("hang", 3000)))
        yield* Effect.sleep("300 millis")
        const start = Date.now()
        const over = yield* fault("hang", 3000)
        assert.strictEqual(over.status, 503)
        assert.strictEqual(over.body._tag, "Overloaded")
        assert.strictEqual(over.headers["retry-after"], "1")
        assert.isBelow(Date.now() - start, 200)
        yield* Fiber.interruptAll([running, ...queued])
        yield* awaitReady
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
          const status = yield* send(HttpClientRequest.get("/status"))
          assert.isAtLeast((status.body.pool as { restarts: number }).restarts, 1)
        }))

      it.effect("inputs over the queued-bytes budget answer 503 Overloaded", () =>
        Effect.gen(function*() {
          yield* awaitReady
          // The page is ~23 KB; a second one at the same time would pass the 30 KB budget.
          const first = yield* Effect.fork(post("/v1/ocr", page, "image/png"))
          yield* Effect.sleep("100 millis")
          const second = yield* post("/v1/ocr", page, "image/png")
          assert.strictEqual(second.status, 503)
          assert.include(second.body.message as string, "INFERD_MAX_QUEUED_BYTES")
          assert.strictEqual((yield* Fiber.join(first)).status, 200)
        }))
    }
  )
})

