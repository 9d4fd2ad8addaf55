/**
 * Thousands of generated requests against every endpoint of the real server: each answer is below 500 and is
 * either a typed error `{_tag, message}` or a result, and the server keeps answering /status.
 */
import { HttpClientRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { readFileSync } from "node:fs"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import { bombs, textPagePdf } from "../support/pdfs.js"
import { send, testServer } from "../support/server.js"
import * as shared from "../support/shared.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url)))
const seeds = [fixture("simple.png"), fixture("testocr.png"), fixture("three-pages.tif"), textPagePdf("A page of text to mutate, long enough to count."), bombs.encrypted()]

/** Bodies from noise to valid: random bytes, magic numbers with junk after, real files cut or corrupted, or whole. */
const body = fc.oneof(
  fc.constant(seeds[0]!),
  fc.uint8Array({ maxLength: 4096 }),
  fc.tuple(fc.constantFrom("\x89PNG\r\n\x1a\n", "\xff\xd8\xff", "GIF89a", "RIFF\0\0\0\0WEBP", "II*\0", "BM", "RIFF\0\0\0\0WAVE", "fLaC", "OggS", "ID3", "%PDF-1.7\n"), fc.uint8Array({ maxLength: 2048 }))
    .map(([magic, rest]) => new Uint8Array([...Buffer.from(magic, "latin1"), ...rest])),
  fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }))
    .map(([seed, cut, flips]) => {
      const copy = seed.slice(0, Math.max(1, cut % seed.length))
      for (const [at, value] of flips) copy[at % copy.length] = value
      return copy
    })
)

const contentType = fc.constantFrom(
  "image/png", "image/jpeg", "image/tiff", "image/webp", "image/bmp", "image/gif", "audio/wav", "audio/flac",
  "audio/ogg", "audio/mpeg", "application/pdf", "application/json", "text/plain", "application/octet-stream", "", "image/png; charset=utf-8"
)

const routes = ["/v1/ocr", "/v1/ocr?timeoutMs=5000", "/v1/ocr?timeoutMs=abc", "/v1/ocr?lang=deu+eng&dpi=72", "/v1/ocr?ocr=force&psm=6",
  "/v1/ocr?lang=xx", "/v1/ocr?dpi=9999", "/v1/ocr?format=nope", "/v1/audio/analyze", "/v1/audio/analyze?threshold=2",
  "/v1/faces/detect", "/v1/faces/detect?model=fast&minScore=0.5", "/v1/faces/embed", "/v1/faces/verify", "/v1/faces/identify",
  "/v1/jobs?kind=ocr", "/v1/jobs?kind=audio.analyze", "/v1/jobs?kind=bad", "/v1/loops/inbox/run", "/v1/debug/fault", "/v1/nope"]

const request = fc.oneof(
  fc.record({ route: fc.constantFrom(...routes), body, contentType }).map(({ route, body, contentType }) =>
    HttpClientRequest.post(route).pipe(HttpClientRequest.bodyUint8Array(body, contentType))),
  fc.record({ route: fc.constantFrom(...routes), field: fc.constantFrom("file", "a", "b", "x"), body, contentType, extra: fc.nat({ max: 20 }) })
    .map(({ route, field, body, contentType, extra }) => {
      const form = new FormData()
      form.append(field, new Blob([body], { type: contentType }), "upload")
      for (let i = 0; i < extra; i++) form.append(`f${i}`, "x")
      return HttpClientRequest.post(route).pipe(HttpClientRequest.bodyFormData(form))
    }),
  fc.json().map((json) => HttpClientRequest.post("/v1/debug/fault").pipe(HttpClientRequest.bodyText(json, "application/json"))),
  fc.string().map((text) => HttpClientRequest.post("/v1/debug/fault").pipe(HttpClientRequest.bodyText(`{"kind":${text}`, "application/json")))
)

// The face models live in ../shared (never in the product); without them face endpoints answer 503 ModelUnavailable.
const models = new URL("../../../shared/data/models", import.meta.url).pathname
const haveModels = shared.has("fuzz on face routes with real models", "data/models/yunet_s_dynamic.onnx", "data/models/MobileFaceNet.onnx")

layer(testServer({ upload: { maxBody: 1_000_000, maxParts: 8 }, pool: { settings: WorkerSettings.forTests({ modelsDir: models, pageTimeoutMs: 10_000 }) } }), { timeout: 300_000, excludeTestServices: true })("fuzz", (it) => {
  it.effect("every answer is a typed 4xx or a result, never a 5xx, and /status still answers", () =>
    Effect.gen(function*() {
      const samples = fc.sample(request, { numRuns: 2000, seed: 20261126 })
      let results = 0
      let pages = 0
      for (const sample of samples) {
        const reply = yield* send(sample).pipe(
          Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => `no answer within 20 s to ${sample.method} ${sample.url} ${sample.body._tag} ${sample.headers["content-type"]}` }),
          Effect.orDie
        )
        if (!(reply.status === 503 && reply.body._tag === "ModelUnavailable" && !haveModels)) assert.isBelow(reply.status, 500, JSON.stringify(reply.body))
        if (reply.status >= 400) {
          assert.isString(reply.body._tag, JSON.stringify(reply.body))
          assert.isString(reply.body.message, JSON.stringify(reply.body))
        } else {
          // A success is a real answer of its route: a page's text, faces, speech, or a job's receipt.
          const kind = ["text", "faces", "speech", "id"].find((key) => key in reply.body)
          assert.isDefined(kind, `${sample.url}: ${JSON.stringify(reply.body)}`)
          if (kind === "text" && reply.body.text !== "") pages++
          results++
        }
      }
      // Nearly everything generated is refused, but not everything: whole pages were read.
      assert.isAbove(pages, 0, "no generated page was read: the fuzz never reached the success path")
      assert.isBelow(results, samples.length / 10)
      assert.strictEqual((yield* send(HttpClientRequest.get("/status"))).status, 200)
    }), 300_000)
})
