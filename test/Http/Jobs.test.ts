/**
 * Async jobs through the real server on the embedded engine (SQLite): 202 with Location, progress over
 * Server-Sent Events, a multi-page TIFF read a page per entity, each kind's options stored and honoured as the
 * synchronous route honours them, `?async=true` on every task route, list, cancel, typed errors.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Schedule, Schema, Stream } from "effect"
import { readFileSync } from "node:fs"
import sharp from "sharp"
import { Accepted } from "../../src/Http/Accepted.js"
import { MalformedRequest } from "../../src/Http/Upload.js"
import { JobView } from "../../src/Http/JobView.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import { AudioAnalysis } from "../../src/Workers/Protocol.js"
import { Detection } from "../../src/Http/FacesApi.js"
import { apiClient, decodeAs } from "../support/client.js"
import { awaitReady, post, send, testServer } from "../support/server.js"
import * as shared from "../support/shared.js"
import { multiPageTiff } from "../support/tiff.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)))
const decode = Schema.decodeUnknownSync(JobView)
const hasModels = shared.has("faces jobs", "data/models/yunet_s_dynamic.onnx", "data/models/MobileFaceNet.onnx", "data/images/faces/group4_ultraface2.jpg")

/** The job, through the typed client: its result and options typed by its kind. */
const get = (id: string) => Effect.flatMap(apiClient, (client) => client.jobs.get({ path: { id } }))

/** Narrows a job to its kind, whose `result` and `options` are then that kind's; fails the test for another. */
function assertKind<K extends JobView["kind"]>(job: JobView, kind: K): asserts job is Extract<JobView, { readonly kind: K }> {
  assert.strictEqual(job.kind, kind, JSON.stringify(job))
}

/** Polls the job until it has ended. */
const ended = (id: string) =>
  get(id).pipe(
    Effect.filterOrFail((job) => ["done", "failed", "cancelled"].includes(job.state), () => "still going"),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeout("120 seconds")
  )

const submitted = (path: string, body: Uint8Array, type: string) =>
  Effect.map(post(path, body, type), (r) => {
    assert.strictEqual(r.status, 202, JSON.stringify(r.body))
    return Schema.decodeUnknownSync(Accepted)(r.body).id
  })

const config = { INFERD_MODELS_DIR: shared.file("data/models") }

layer(testServer({ pool: { size: 2, settings: WorkerSettings.forTests({ modelsDir: shared.file("data/models") }) }, config }), { timeout: 240_000, excludeTestServices: true })("jobs", (it) => {
  it.effect("?async=true answers 202 with Location; SSE streams progress until a two-page TIFF is read page by page", () =>
    Effect.gen(function*() {
      yield* awaitReady
      const accepted = yield* post("/v1/ocr?async=true", fixture("images/two-pages.tif"), "image/tiff")
      assert.strictEqual(accepted.status, 202)
      const { id } = yield* decodeAs(Accepted)(accepted)
      assert.strictEqual(accepted.headers["location"], `/v1/jobs/${id}`)

      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(HttpClientRequest.get(`/v1/jobs/${id}/events`))
      assert.include(response.headers["content-type"] ?? "", "text/event-stream")
      const text = yield* response.stream.pipe(Stream.decodeText(), Stream.mkString)
      const events = text.split("\n\n").filter((e) => e.startsWith("event: job")).map((e) => decode(JSON.parse(e.split("data: ")[1]!)))
      const progress = events.map((e) => e.progress)
      assert.deepStrictEqual(progress, [...progress].sort((a, b) => a - b))
      const last = events[events.length - 1]!
      assert.deepStrictEqual([last.state, last.progress, last.attempts, last.runner], ["done", 1, 1, "127.0.0.1:34431"])
      assertKind(last, "ocr")
      const result = last.result
      assert.isDefined(result)
      assert.deepStrictEqual(result.pages?.map((p) => p.page), [1, 2])
      assert.include(result.pages?.[0]?.text, "This is a lot of 12 point text")
      assert.include(result.pages?.[1]?.text, "Tesseract.js")
      assert.strictEqual(result.text, result.pages?.map((p) => p.text).join("\f"))
    }))

  it.effect("audio jobs take the synchronous route's options and answer what it answers", () =>
    Effect.gen(function*() {
      const audio = fixture("audio/vad-4-segment-test_16k.wav")
      const query = "threshold=0.6&minSpeechMs=1500&minSilenceMs=300&speechPadMs=0"
      const sync = yield* Effect.flatMap(post(`/v1/audio/analyze?${query}`, audio, "audio/wav"), decodeAs(AudioAnalysis))
      const defaults = yield* Effect.flatMap(post("/v1/audio/analyze", audio, "audio/wav"), decodeAs(AudioAnalysis))
      assert.notDeepEqual(sync.speech, defaults.speech)
      for (const path of [`/v1/jobs?kind=audio.analyze&${query}`, `/v1/audio/analyze?async=true&${query}`]) {
        const job = yield* Effect.flatMap(submitted(path, audio, "audio/wav"), ended)
        assert.deepStrictEqual(job.options, { threshold: 0.6, minSpeechMs: 1500, minSilenceMs: 300, speechPadMs: 0 })
        assertKind(job, "audio.analyze")
        assert.deepStrictEqual(job.result?.speech, sync.speech)
      }
    }))

  it.effect("an OCR job's timeoutMs is its pages' deadline", () =>
    Effect.gen(function*() {
      const job = yield* Effect.flatMap(submitted("/v1/jobs?kind=ocr&timeoutMs=1", fixture("images/testocr.png"), "image/png"), ended)
      assert.deepStrictEqual([job.state, job.error?._tag, job.options], ["failed", "TaskTimeout", { lang: "eng", dpi: 300, ocr: "auto", format: "json", timeoutMs: 1 }])
    }))

  it.effect("a kind's options are checked as its route checks them; routes that answer at once refuse ?async", () =>
    Effect.gen(function*() {
      const png = fixture("images/simple.png")
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["/v1/jobs?kind=ocr&threshold=0.5", "threshold"],
        ["/v1/jobs?kind=faces.detect&minScore=1.5", "minScore"],
        ["/v1/jobs?kind=faces.detect&threshold=0.5", "threshold"],
        ["/v1/jobs?kind=audio.analyze&minSpeechMs=abc", "minSpeechMs"],
        ["/v1/jobs?kind=faces.embed&async=true", "async"],
        ["/v1/faces/verify?async=true", "async"],
        ["/v1/faces/identify?async=true", "async"]
      ]
      for (const [path, named] of cases) {
        const r = yield* post(path, png, "image/png")
        assert.strictEqual(r.status, 400, path)
        const refused = yield* decodeAs(MalformedRequest)(r)
        assert.include(refused.message, named, path)
        assert.strictEqual(refused.parameter, named, path)
      }
      const enroll = yield* send(HttpClientRequest.put("/v1/gallery/ada?async=true").pipe(HttpClientRequest.bodyUint8Array(png, "image/png")))
      assert.deepStrictEqual([enroll.status, enroll.body._tag], [400, "MalformedRequest"])
      const bad = yield* post("/v1/jobs?kind=nope", png, "image/png")
      assert.strictEqual(bad.status, 400)
      const missing = yield* Effect.flip(get("nope"))
      assert.strictEqual(missing._tag, "JobNotFound")
    }))

  it.effect("a failing job carries the typed error; jobs list newest first by state, a page at a time", () =>
    Effect.gen(function*() {
      const broken = fixture("images/two-pages.tif").slice(0, 2000)
      const failed = yield* Effect.flatMap(submitted("/v1/jobs?kind=ocr", broken, "image/tiff"), ended)
      assert.deepStrictEqual([failed.state, failed.error?._tag], ["failed", "ImageUndecodable"])
      const { jobs } = yield* apiClient
      const list = (urlParams: { readonly state?: "failed"; readonly limit: number; readonly cursor?: string }) => jobs.list({ urlParams })
      const first = yield* list({ state: "failed", limit: 1 })
      assert.deepStrictEqual(first.jobs.map((j) => j.id), [failed.id])
      const all = yield* list({ limit: 1000 })
      const paged = [...(yield* list({ limit: 2 })).jobs]
      for (let next = (yield* list({ limit: 2 })).next; next !== null;) {
        const page = yield* list({ limit: 2, cursor: next })
        paged.push(...page.jobs)
        next = page.next
      }
      assert.deepStrictEqual(paged.map((j) => j.id), all.jobs.map((j) => j.id))
      assert.isAtLeast(all.jobs.length, 5)
      const wrong = yield* send(HttpClientRequest.get("/v1/jobs?state=sleeping"))
      assert.strictEqual(wrong.status, 400)
      // A cursor no listing gave would silently list from the start; an option given twice is not one value.
      for (const [query, parameter, says] of [
        ["cursor=garbage", "cursor", "cursor takes the `next` of a previous page (got \"garbage\")"],
        ["state=done&state=failed", "state", "state is given 2 times (\"done\", \"failed\"): give it once"]
      ] as const) {
        const refused = yield* send(HttpClientRequest.get(`/v1/jobs?${query}`))
        assert.strictEqual(refused.status, 400, query)
        assert.deepInclude(yield* decodeAs(MalformedRequest)(refused), { parameter, message: says })
      }
    }))

  it.effect("DELETE cancels: a running job stops, a queued one never runs, an ended one is a 409", () =>
    Effect.gen(function*() {
      const tiff = yield* Effect.promise(() => multiPageTiff(Array.from({ length: 8 }, () => fixture("images/testocr.png"))))
      const ids = yield* Effect.all(Array.from({ length: 6 }, () => submitted("/v1/jobs?kind=ocr", tiff, "image/tiff")))
      const { jobs } = yield* apiClient
      const cancel = (id: string) => jobs.cancel({ path: { id } })
      // Two jobs per worker are admitted at once: the last one waits, queued.
      const queued = ids[5]!
      const first = yield* cancel(queued)
      assert.deepStrictEqual([first.state, first.attempts], ["cancelled", 0])
      const running = yield* get(ids[0]!).pipe(
        Effect.filterOrFail((job) => job.state === "running" && job.progress > 0, () => "not yet"),
        Effect.retry(Schedule.spaced("100 millis")),
        Effect.timeout("60 seconds")
      )
      assert.strictEqual((yield* cancel(running.id)).state, "cancelled")
      yield* Effect.forEach(ids.slice(1, 5), cancel)
      // 409 JobFinished, typed, with the state the job ended in.
      const again = yield* Effect.flip(cancel(queued))
      assert.deepInclude(again, { _tag: "JobFinished", state: "cancelled" })
      const later = yield* Effect.forEach(ids, get)
      assert.deepStrictEqual(later.map((j) => j.state), ids.map(() => "cancelled"))
      assert.strictEqual(later[5]?.attempts, 0)
    }))

  describe.skipIf(!hasModels)("faces (models from ../shared)", () => {
    it.effect("faces jobs take minScore and model, and answer what the synchronous route answers", () =>
      Effect.gen(function*() {
        const photo = new Uint8Array(readFileSync(shared.file("data/images/faces/group4_ultraface2.jpg")))
        const query = "minScore=0.88&model=fast"
        const sync = yield* Effect.flatMap(post(`/v1/faces/detect?${query}`, photo, "image/jpeg"), decodeAs(Detection))
        const defaults = yield* Effect.flatMap(post("/v1/faces/detect", photo, "image/jpeg"), decodeAs(Detection))
        assert.notDeepEqual(sync.faces, defaults.faces)
        for (const path of [`/v1/jobs?kind=faces.detect&${query}`, `/v1/faces/detect?async=true&${query}`]) {
          const job = yield* Effect.flatMap(submitted(path, photo, "image/jpeg"), ended)
          assert.deepStrictEqual(job.options, { minScore: 0.88, model: "fast" })
          assertKind(job, "faces.detect")
          assert.deepStrictEqual(job.result?.faces, sync.faces)
        }
        const embedded = yield* Effect.flatMap(submitted(`/v1/faces/embed?async=true&${query}`, photo, "image/jpeg"), ended)
        assertKind(embedded, "faces.embed")
        const faces = embedded.result?.faces ?? []
        assert.strictEqual(faces.length, sync.faces.length)
        for (const face of faces) assert.strictEqual(face.embedding.length, 128)
      }))
  })
})

layer(testServer({ pool: { size: 1, maxQueue: 2 } }), { timeout: 240_000, excludeTestServices: true })("a long document on one worker", (it) => {
  it.effect("a 24-page TIFF job finishes with zero worker restarts while interactive OCR goes first", () =>
    Effect.gen(function*() {
      yield* awaitReady
      // The first two lines of testocr.png and simple.png, alternately: short pages, each told from its neighbours.
      const line = yield* Effect.promise(() => sharp(fixture("images/testocr.png")).extract({ left: 0, top: 70, width: 640, height: 90 }).png().toBuffer())
      const pages = Array.from({ length: 24 }, (_, i) => i % 2 === 0 ? new Uint8Array(line) : fixture("images/simple.png"))
      const id = yield* submitted("/v1/jobs?kind=ocr", yield* Effect.promise(() => multiPageTiff(pages)), "image/tiff")
      yield* get(id).pipe(
        Effect.filterOrFail((job) => job.progress > 0, () => "not started"),
        Effect.retry(Schedule.spaced("100 millis")),
        Effect.timeout("60 seconds")
      )
      // More interactive requests than the queue holds: some are refused Overloaded, the job's next page waits.
      const interactive = yield* Effect.all(Array.from({ length: 4 }, () => post("/v1/ocr", fixture("images/simple.png"), "image/png")), { concurrency: "unbounded" })
      assert.include(interactive.map((r) => r.status), 200)
      const during = yield* get(id)
      assert.strictEqual(during.state, "running", "the interactive requests were answered while the job ran")
      const job = yield* ended(id)
      assert.strictEqual(job.state, "done", JSON.stringify(job.error))
      assertKind(job, "ocr")
      const result = job.result
      assert.isDefined(result)
      assert.deepStrictEqual(result.pages?.map((p) => p.page), pages.map((_, i) => i + 1))
      result.pages?.forEach((p, i) => assert.include(p.text, i % 2 === 0 ? "This is a lot of 12 point text" : "Tesseract.js", `page ${p.page}`))
      assert.strictEqual((yield* (yield* apiClient).system.status()).pool.restarts, 0)
      assert.strictEqual(job.attempts, 1)
    }))
})
