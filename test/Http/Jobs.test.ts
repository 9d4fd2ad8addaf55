/**
 * Async jobs through the real server: 202 with Location, progress over Server-Sent Events, per-page results for a
 * multi-page TIFF fanned out across the pool, typed errors.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect, Schedule, Schema, Stream } from "effect"
import { readFileSync } from "node:fs"
import { Job } from "../../src/Jobs/Job.js"
import { awaitReady, send, testServer } from "../support/server.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)))

interface Result { readonly text?: string; readonly pages?: ReadonlyArray<{ readonly text: string; readonly page: number }>; readonly speech?: ReadonlyArray<unknown> }
const decode = Schema.decodeUnknownSync(Job)


layer(testServer({ pool: { size: 2 } }), { timeout: 180_000, excludeTestServices: true })("jobs", (it) => {
  it.effect("?async=true answers 202 with Location; SSE streams progress until a two-page TIFF is read page by page", () =>
    Effect.gen(function*() {
      yield* awaitReady
      const accepted = yield* send(HttpClientRequest.post("/v1/ocr?async=true").pipe(HttpClientRequest.bodyUint8Array(fixture("images/two-pages.tif"), "image/tiff")))
      assert.strictEqual(accepted.status, 202)
      const id = accepted.body.id as string
      assert.strictEqual(accepted.headers["location"], `/v1/jobs/${id}`)

      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(HttpClientRequest.get(`/v1/jobs/${id}/events`))
      assert.include(response.headers["content-type"] ?? "", "text/event-stream")
      const text = yield* response.stream.pipe(Stream.decodeText(), Stream.mkString)
      const events = text.split("\n\n").filter((e) => e.startsWith("event: job")).map((e) => decode(JSON.parse(e.split("data: ")[1]!)))
      assert.isAtLeast(events.length, 2)
      const progress = events.map((e) => e.progress)
      assert.deepStrictEqual(progress, [...progress].sort((a, b) => a - b))
      const last = events[events.length - 1]!
      assert.strictEqual(last.state, "done")
      assert.strictEqual(last.progress, 1)
      const result = last.result as Result
      assert.deepStrictEqual(result.pages?.map((p) => p.page), [1, 2])
      assert.include(result.pages?.[0]?.text, "This is a lot of 12 point text")
      assert.include(result.pages?.[1]?.text, "Tesseract.js")
      assert.strictEqual(result.text, result.pages?.map((p) => p.text).join("\f"))
    }))

  it.effect("POST /v1/jobs?kind=audio.analyze runs to done; GET shows the result", () =>
    Effect.gen(function*() {
      const accepted = yield* send(HttpClientRequest.post("/v1/jobs?kind=audio.analyze").pipe(HttpClientRequest.bodyUint8Array(fixture("audio/robin_whistle.ogg"), "audio/ogg")))
      assert.strictEqual(accepted.status, 202)
      const job = yield* send(HttpClientRequest.get(`/v1/jobs/${accepted.body.id as string}`)).pipe(
        Effect.filterOrFail((r) => decode(r.body).state === "done", () => "not done"),
        Effect.retry(Schedule.spaced("100 millis")),
        Effect.timeout("60 seconds")
      )
      assert.deepStrictEqual((decode(job.body).result as Result).speech, [])
    }))

  it.effect("a job that fails carries the typed error; unknown jobs are 404; a bad kind is 400", () =>
    Effect.gen(function*() {
      const broken = fixture("images/two-pages.tif").slice(0, 2000)
      const accepted = yield* send(HttpClientRequest.post("/v1/jobs?kind=ocr").pipe(HttpClientRequest.bodyUint8Array(broken, "image/tiff")))
      const job = yield* send(HttpClientRequest.get(`/v1/jobs/${accepted.body.id as string}`)).pipe(
        Effect.filterOrFail((r) => ["done", "failed"].includes(decode(r.body).state), () => "running"),
        Effect.retry(Schedule.spaced("100 millis")),
        Effect.timeout("60 seconds")
      )
      assert.strictEqual(decode(job.body).state, "failed")
      assert.strictEqual(decode(job.body).error?._tag, "ImageUndecodable")
      const missing = yield* send(HttpClientRequest.get("/v1/jobs/nope"))
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(missing.body._tag, "JobNotFound")
      const bad = yield* send(HttpClientRequest.post("/v1/jobs?kind=nope").pipe(HttpClientRequest.bodyUint8Array(fixture("images/simple.png"), "image/png")))
      assert.strictEqual(bad.status, 400)
    }))
})
