import { HttpApi, HttpApiBuilder, HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { readFileSync } from "node:fs"
import { AudioApi } from "../../src/Http/AudioApi.js"
import * as AudioHandlers from "../../src/Http/AudioHandlers.js"
import * as Upload from "../../src/Http/Upload.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import { AudioAnalysis, AudioTooLong } from "../../src/Workers/Protocol.js"
import { poolOptions } from "../support/pool.js"
import { embeddedJobs } from "../support/server.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/audio/${name}`, import.meta.url)))

// The group on an API of its own: the handlers are typed against the group, so any API holding it will do.
class TestApi extends HttpApi.make("test").add(AudioApi) {}

const Pool = Layer.scoped(WorkerPool.WorkerPool, WorkerPool.make(poolOptions({ maxBytes: 64 * 1024 * 1024, settings: WorkerSettings.forTests({ maxAudioSeconds: 5 }) })))

const TestLive = HttpApiBuilder.serve().pipe(
  Layer.provide(HttpApiBuilder.api(TestApi).pipe(Layer.provide(HttpApiBuilder.group(TestApi, "audio", AudioHandlers.build)))),
  Layer.provide(Layer.succeed(Upload.Upload, Upload.make({ maxBody: 1_000_000, maxParts: 4 }))),
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provide(embeddedJobs),
  Layer.provideMerge(Pool),
  Layer.provide(NodeContext.layer)
)

const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    return { status: response.status, body: (yield* response.json) as Record<string, unknown> }
  })

const post = (path: string, body: Uint8Array, contentType: string) =>
  send(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyUint8Array(body, contentType)))

/** A 200 answer read with the schema the API declares for it. */
const analysis = (reply: { readonly status: number; readonly body: unknown }) => {
  assert.strictEqual(reply.status, 200, JSON.stringify(reply.body))
  return Schema.decodeUnknown(AudioAnalysis)(reply.body)
}
const tooLong = (reply: { readonly status: number; readonly body: unknown }) => {
  assert.strictEqual(reply.status, 413, JSON.stringify(reply.body))
  return Schema.decodeUnknown(AudioTooLong)(reply.body)
}

/** A mono 16-bit WAV of `seconds` of a quiet 440 Hz tone. */
const tone = (seconds: number) => {
  const frames = 16_000 * seconds
  const out = new Uint8Array(44 + frames * 2)
  const view = new DataView(out.buffer)
  const text = (at: number, s: string) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)))
  text(0, "RIFF"), view.setUint32(4, out.length - 8, true), text(8, "WAVEfmt "), view.setUint32(16, 16, true)
  view.setUint16(20, 1, true), view.setUint16(22, 1, true), view.setUint32(24, 16_000, true), view.setUint32(28, 32_000, true)
  view.setUint16(32, 2, true), view.setUint16(34, 16, true), text(36, "data"), view.setUint32(40, frames * 2, true)
  for (let i = 0; i < frames; i++) view.setInt16(44 + 2 * i, Math.round(3000 * Math.sin(2 * Math.PI * 440 * i / 16_000)), true)
  return out
}

layer(TestLive, { timeout: 120_000, excludeTestServices: true })("POST /v1/audio/analyze (real server, real pool)", (it) => {
  it.effect("analyses a raw WAV body with Silero's defaults", () =>
    Effect.gen(function*() {
      const body = yield* Effect.flatMap(post("/v1/audio/analyze", tone(2), "audio/wav"), analysis)
      assert.deepInclude(body, { durationSec: 2, sampleRate: 16_000, channels: 1, speech: [], speechRatio: 0 })
      // A sine of amplitude 3000/32768: peak -20.77 dBFS, RMS 3 dB lower.
      assert.approximately(body.peakDbfs, -20.77, 0.01)
      assert.approximately(body.rmsDbfs, -23.78, 0.01)
    }))

  it.effect("reads a multipart file, honours the query's rules, and refuses a clip over the limit", () =>
    Effect.gen(function*() {
      const form = new FormData()
      form.append("file", new Blob([fixture("robin_whistle.ogg")], { type: "audio/ogg" }), "robin.ogg")
      const query = "?threshold=0.3&minSpeechMs=100&minSilenceMs=50&speechPadMs=0"
      const robin = yield* Effect.flatMap(send(HttpClientRequest.post(`/v1/audio/analyze${query}`).pipe(HttpClientRequest.bodyFormData(form))), analysis)
      assert.deepInclude(robin, { sampleRate: 22_050, channels: 1, speech: [] })
      // The 12 s clip is over this server's 5 s limit: its MP3 frames say so before it is decoded.
      const long = yield* Effect.flatMap(post("/v1/audio/analyze", fixture("vad-4-segment-test_44k.mp3"), "audio/mpeg"), tooLong)
      assert.deepInclude(long, { _tag: "AudioTooLong", maxSeconds: 5 })
      assert.approximately(long.durationSec, 12.25, 0.05)
    }))

  it.effect("reads a streamed WAV to the bytes present: the limit applies to them, not to the header's 2 GiB", () =>
    Effect.gen(function*() {
      // 5 s of 8-bit 44.1 kHz from ffmpeg into a pipe: RIFF and data sizes are 0xFFFFFFFF.
      const ffmpeg = fixture("vad-4-segment-test_5s_u8_ffmpeg-pipe.wav")
      const claims2GiB = ffmpeg.slice()
      new DataView(claims2GiB.buffer).setUint32(Buffer.from(ffmpeg).indexOf("data") + 4, 0x80000000, true)
      for (const wav of [ffmpeg, claims2GiB]) {
        const body = yield* Effect.flatMap(post("/v1/audio/analyze", wav, "audio/wav"), analysis)
        assert.deepInclude(body, { durationSec: 5, sampleRate: 44_100, channels: 1 })
        assert.lengthOf(body.speech, 2)
      }
      // Over this server's 5 s limit by what it holds, whatever its header says.
      const long = tone(6)
      new DataView(long.buffer).setUint32(40, 0xffffffff, true)
      const refused = yield* Effect.flatMap(post("/v1/audio/analyze", long, "audio/wav"), tooLong)
      assert.deepInclude(refused, { _tag: "AudioTooLong", durationSec: 6, maxSeconds: 5 })
    }))

  const errors: ReadonlyArray<[string, string, Uint8Array, string, number, string]> = [
    ["an out-of-range threshold", "?threshold=2", tone(1), "audio/wav", 400, "HttpApiDecodeError"],
    ["a non-numeric minSpeechMs", "?minSpeechMs=abc", tone(1), "audio/wav", 400, "HttpApiDecodeError"],
    ["an image", "", fixture("robin_whistle.ogg"), "image/png", 415, "UnsupportedMediaType"],
    ["bytes that are no audio", "", new Uint8Array(100).fill(7), "audio/wav", 422, "AudioUndecodable"],
    ["a WAV cut inside its header", "", tone(1).slice(0, 30), "audio/wav", 422, "AudioUndecodable"],
    ["an empty body", "", new Uint8Array(0), "audio/wav", 400, "MalformedRequest"]
  ]
  for (const [what, query, bytes, type, status, tag] of errors) {
    it.effect(`answers ${status} ${tag} for ${what}`, () =>
      Effect.gen(function*() {
        const response = yield* post(`/v1/audio/analyze${query}`, bytes, type)
        assert.strictEqual(response.status, status)
        assert.strictEqual(response.body._tag, tag)
        assert.isString(response.body.message)
      }))
  }
})
