import { HttpClientRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { readFileSync } from "node:fs"
import sharp from "sharp"
import * as Loop from "../../src/Fibers/Loop.js"
import { Loops } from "../../src/Fibers/Loops.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from "../../src/Http/Upload.js"
import { ImageTooLarge, ImageUndecodable } from "../../src/Workers/Protocol.js"
import { apiClient, decodeAs, ocrAnswer } from "../support/client.js"
import { awaitReady, post, send, testServer } from "../support/server.js"

const fixture = (name: string) => readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url))

/** What an upload route may refuse with, as the API declares it. */
const Refusal = Schema.Union(MalformedRequest, UnsupportedMediaType, PayloadTooLarge, ImageUndecodable, ImageTooLarge)

/** A loop that does nothing, so the loop endpoints have something to command. */
const Tick = Layer.scopedDiscard(Effect.gen(function*() {
  const loops = yield* Loops
  yield* loops.register(yield* Loop.make({ name: "tick", interval: "1 hour", body: Effect.void }))
}))

const TestLive = testServer({
  pool: { settings: WorkerSettings.forTests({ maxPixels: 1_000_000 }) },
  upload: { maxBody: 200_000, maxParts: 4 },
  loops: Tick
})

layer(TestLive, { timeout: 120_000, excludeTestServices: true })("HTTP API (real server, real pool)", (it) => {
  it.effect("GET /status reports cpu, pool and loops", () =>
    Effect.gen(function*() {
      const body = yield* (yield* apiClient).system.status()
      assert.strictEqual(body.status, "ok")
      assert.strictEqual(body.message, "Server is running with background tasks")
      assert.deepStrictEqual(body.cpu, { cpus: 2, quota: 2, source: "test" })
      assert.deepInclude(body.pool, { size: 1, queued: 0 })
      assert.deepStrictEqual(body.loops.map((l) => l.name).sort(), ["jobs-stranded", "jobs-ttl", "tick"])
      // The test pool reads face models from ./models, which a checkout does not have.
      assert.deepStrictEqual(body.models.map((m) => [m.file, m.state]), [
        ["yunet_s_dynamic.onnx", "missing"], ["MobileFaceNet.onnx", "missing"]
      ])
    }))

  it.effect("GET /health/ready turns 200 once a worker is up", () =>
    Effect.gen(function*() {
      yield* awaitReady
      const ready = yield* (yield* apiClient).system.ready()
      assert.deepInclude(ready, { status: "ready", workers: 1 })
      assert.lengthOf(ready.models, 2)
    }))

  it.effect("POST /v1/ocr reads a raw PNG body", () =>
    Effect.gen(function*() {
      const body = yield* Effect.flatMap(post("/v1/ocr", fixture("simple.png"), "image/png"), ocrAnswer)
      assert.strictEqual(body.text.trim(), "Tesseract.js")
      assert.strictEqual(body.words[0]?.text, "Tesseract.js")
    }))

  it.effect("POST /v1/ocr reads multipart field `file`", () =>
    Effect.gen(function*() {
      const form = new FormData()
      form.append("file", new Blob([fixture("simple.png")], { type: "image/png" }), "simple.png")
      const body = yield* Effect.flatMap(send(HttpClientRequest.post("/v1/ocr").pipe(HttpClientRequest.bodyFormData(form))), ocrAnswer)
      assert.strictEqual(body.text.trim(), "Tesseract.js")
    }))

  it.effect("POST /v1/ocr skips other file parts before `file` (they must be read for the parser to go on)", () =>
    Effect.gen(function*() {
      const form = new FormData()
      form.append("other", new Blob([new Uint8Array(50_000)]), "other.bin")
      form.append("file", new Blob([fixture("simple.png")], { type: "image/png" }), "simple.png")
      const body = yield* Effect.flatMap(send(HttpClientRequest.post("/v1/ocr").pipe(HttpClientRequest.bodyFormData(form))), ocrAnswer)
      assert.strictEqual(body.text.trim(), "Tesseract.js")
    }).pipe(Effect.timeout("20 seconds")))

  it.effect("POST /v1/ocr turns an EXIF-rotated JPEG upright before reading it", () =>
    Effect.gen(function*() {
      // The page stored sideways, with EXIF orientation 6 saying "rotate 90° clockwise to view".
      const sideways = yield* Effect.promise(() =>
        sharp(fixture("testocr.png")).rotate(-90).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer()
      )
      const body = yield* Effect.flatMap(post("/v1/ocr", sideways, "image/jpeg"), ocrAnswer)
      assert.deepStrictEqual([body.width, body.height], [640, 480])
      assert.include(body.text, "This is a lot of 12 point text to test the")
    }))

  const rejects: ReadonlyArray<readonly [string, Uint8Array, string, number, string]> = [
    ["an empty body", new Uint8Array(0), "image/png", 400, "MalformedRequest"],
    ["text/plain", new TextEncoder().encode("hello"), "text/plain", 415, "UnsupportedMediaType"],
    ["random bytes declared as PNG", new Uint8Array(5000).fill(7), "image/png", 422, "ImageUndecodable"],
    ["a truncated PNG", fixture("simple.png").subarray(0, 60), "image/png", 422, "ImageUndecodable"],
    ["a body over INFERD_MAX_BODY", new Uint8Array(300_000), "image/png", 413, "PayloadTooLarge"]
  ]
  for (const [what, bytes, type, status, tag] of rejects) {
    it.effect(`POST /v1/ocr answers ${status} ${tag} for ${what}`, () =>
      Effect.gen(function*() {
        const response = yield* post("/v1/ocr", bytes, type)
        assert.strictEqual(response.status, status)
        const refusal = yield* decodeAs(Refusal)(response)
        assert.strictEqual(refusal._tag, tag)
        assert.notInclude(refusal.message, "\n")
      }))
  }

  it.effect("POST /v1/ocr answers 422 for a PNG corrupt inside but whole at its end, and its worker reads on", () =>
    Effect.gen(function*() {
      // It passes as readable as it is, so leptonica refuses it first, then the PNG path's decoder.
      const pool = yield* WorkerPool.WorkerPool
      const corrupt = Buffer.from(fixture("simple.png"))
      for (let i = 400; i < 440; i++) corrupt[i]! ^= 0x5a
      const restarts = (yield* pool.stats).restarts
      const refused = yield* post("/v1/ocr", corrupt, "image/png")
      assert.strictEqual(refused.status, 422)
      assert.strictEqual((yield* decodeAs(Refusal)(refused))._tag, "ImageUndecodable")
      const next = yield* Effect.flatMap(post("/v1/ocr", fixture("simple.png"), "image/png"), ocrAnswer)
      assert.include(next.text, "Tesseract.js")
      assert.strictEqual((yield* pool.stats).restarts, restarts)
    }))

  it.effect("POST /v1/ocr answers 413 ImageTooLarge for more pixels than INFERD_MAX_PIXELS", () =>
    Effect.gen(function*() {
      // 1200x1000 white pixels: 1.2 M, over the test pool's 1 M limit, in a few kilobytes.
      const png = yield* Effect.promise(() => sharp({ create: { width: 1200, height: 1000, channels: 3, background: "white" } }).png().toBuffer())
      const response = yield* post("/v1/ocr", png, "image/png")
      assert.strictEqual(response.status, 413)
      assert.deepInclude(yield* decodeAs(Refusal)(response), { _tag: "ImageTooLarge", width: 1200, height: 1000, maxPixels: 1_000_000 })
    }))

  it.effect("POST /v1/ocr answers 400 for multipart without a file and 413 for too many parts", () =>
    Effect.gen(function*() {
      const noFile = new FormData()
      noFile.append("x", "y")
      const missing = yield* send(HttpClientRequest.post("/v1/ocr").pipe(HttpClientRequest.bodyFormData(noFile)))
      assert.strictEqual(missing.status, 400)
      assert.strictEqual(missing.body._tag, "MalformedRequest")
      const many = new FormData()
      for (let i = 0; i < 50; i++) many.append(`f${i}`, "x")
      const tooMany = yield* send(HttpClientRequest.post("/v1/ocr").pipe(HttpClientRequest.bodyFormData(many)))
      assert.strictEqual(tooMany.status, 413)
      assert.strictEqual(tooMany.body._tag, "PayloadTooLarge")
    }))

  it.effect("loops can be listed, paused, resumed and run; unknown ones are 404", () =>
    Effect.gen(function*() {
      const { loops } = yield* apiClient
      const tick = { path: { name: "tick" } }
      assert.include((yield* loops.list()).map((l) => l.name), "tick")
      assert.strictEqual((yield* loops.pause(tick)).state, "paused")
      // Declared errors arrive typed: 409 LoopPaused, 404 LoopNotFound.
      const refused = yield* Effect.flip(loops.run(tick))
      assert.deepInclude(refused, { _tag: "LoopPaused", name: "tick", message: "the loop \"tick\" is paused: resume it before running it" })
      assert.notStrictEqual((yield* loops.resume(tick)).state, "paused")
      assert.strictEqual((yield* loops.run(tick)).name, "tick")
      assert.strictEqual((yield* Effect.flip(loops.run({ path: { name: "nope" } })))._tag, "LoopNotFound")
    }))
})

