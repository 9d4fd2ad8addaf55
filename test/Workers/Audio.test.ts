import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import * as Tasks from "../../src/Pool/Tasks.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import type { AudioAnalysis, VadOptions } from "../../src/Workers/Protocol.js"
import { poolOptions } from "../support/pool.js"
import * as sharedData from "../support/shared.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/audio/${name}`, import.meta.url)))
const sharedUrl = (name: string) => new URL(`../../../shared/data/audio/${name}`, import.meta.url)
const hasShared = sharedData.has("shared audio clips", ...["jfk.flac", "librispeech_198-209-0000.ogg", "robin_whistle_16k.wav", "librispeech_5703-47212-0000.ogg"].map((f) => `data/audio/${f}`))
const shared = (name: string) => new Uint8Array(readFileSync(sharedUrl(name)))

const MAX_SECONDS = 14
const Pool = Layer.scoped(WorkerPool.WorkerPool, WorkerPool.make(poolOptions({ maxBytes: 64 * 1024 * 1024, settings: WorkerSettings.forTests({ maxAudioSeconds: MAX_SECONDS }) })))

const defaults: VadOptions = { threshold: 0.5, minSpeechMs: 250, minSilenceMs: 100, speechPadMs: 30 }
const analyze = (audio: Uint8Array, vad: VadOptions = defaults) =>
  Effect.flatMap(WorkerPool.WorkerPool, (pool) => pool.submit(Tasks.analyzeAudio(audio, vad)))
const failure = (audio: Uint8Array) => Effect.flip(analyze(audio))

// The manifest's segments for vad-4-segment-test, read off a spectrogram.
const FOUR = [[1.1, 2.3], [3.75, 4.75], [6.1, 7.0], [8.95, 9.95]]
const assertSegments = (result: AudioAnalysis, expected: ReadonlyArray<ReadonlyArray<number>>, tolerance: number) => {
  assert.deepStrictEqual(result.speech.length, expected.length, JSON.stringify(result.speech))
  result.speech.forEach((segment, i) => {
    assert.approximately(segment.start, expected[i]![0]!, tolerance, `start of segment ${i}`)
    assert.approximately(segment.end, expected[i]![1]!, tolerance, `end of segment ${i}`)
  })
}

/** The samples of a canonical 16-bit mono WAV (44-byte header, as the fixture is). */
const pcm16 = (wav: Uint8Array) => {
  const view = new DataView(wav.buffer, wav.byteOffset)
  return Float32Array.from({ length: view.getUint32(40, true) / 2 }, (_, i) => view.getInt16(44 + 2 * i, true) / 32768)
}

/** Linear interpolation: crude on purpose, so the product's own filtering has to clean it up. */
const upsample = (x: Float32Array, from: number, to: number) =>
  Float32Array.from({ length: Math.floor(x.length * to / from) }, (_, i) => {
    const t = i * from / to
    const j = Math.floor(t)
    return x[j]! * (1 - (t - j)) + (x[j + 1] ?? 0) * (t - j)
  })

interface WavSpec {
  readonly rate: number
  readonly bits: 8 | 16 | 24 | 32 | 64
  readonly float?: boolean
  readonly extensible?: boolean
  readonly channels: ReadonlyArray<Float32Array>
}

/** A WAV writer independent of the product's reader, for every PCM form. */
const writeWav = (spec: WavSpec): Uint8Array => {
  const channels = spec.channels.length
  const frames = spec.channels[0]?.length ?? 0
  const width = spec.bits / 8
  const fmtSize = spec.extensible ? 40 : 16
  const tag = spec.float ? 3 : 1
  const out = new Uint8Array(20 + fmtSize + 8 + frames * channels * width)
  const view = new DataView(out.buffer)
  const text = (at: number, s: string) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)))
  text(0, "RIFF"), view.setUint32(4, out.length - 8, true), text(8, "WAVE"), text(12, "fmt "), view.setUint32(16, fmtSize, true)
  view.setUint16(20, spec.extensible ? 0xfffe : tag, true), view.setUint16(22, channels, true), view.setUint32(24, spec.rate, true)
  view.setUint32(28, spec.rate * channels * width, true), view.setUint16(32, channels * width, true), view.setUint16(34, spec.bits, true)
  if (spec.extensible) {
    view.setUint16(36, 22, true), view.setUint16(38, spec.bits, true), view.setUint32(40, 0, true), view.setUint16(44, tag, true)
    ;[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71].forEach((b, i) => view.setUint8(46 + i, b))
  }
  const data = 20 + fmtSize
  text(data, "data"), view.setUint32(data + 4, frames * channels * width, true)
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      const x = Math.max(-1, Math.min(1, spec.channels[c]![i]!))
      const at = data + 8 + (i * channels + c) * width
      if (spec.float) spec.bits === 32 ? view.setFloat32(at, x, true) : view.setFloat64(at, x, true)
      else if (spec.bits === 8) view.setUint8(at, Math.round(x * 127) + 128)
      else if (spec.bits === 16) view.setInt16(at, Math.round(x * 32767), true)
      else if (spec.bits === 24) {
        const v = Math.round(x * 8388607)
        view.setUint8(at, v & 0xff), view.setUint8(at + 1, (v >> 8) & 0xff), view.setInt8(at + 2, v >> 16)
      } else view.setInt32(at, Math.round(x * 2147483647), true)
    }
  }
  return out
}

const patched = (wav: Uint8Array, at: number, value: number, bytes: 2 | 4) => {
  const copy = wav.slice()
  const view = new DataView(copy.buffer)
  bytes === 2 ? view.setUint16(at, value, true) : view.setUint32(at, value, true)
  return copy
}

const random = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (Math.imul(i + seed, 2654435761) >>> 13) & 0xff)
const withMagic = (magic: ReadonlyArray<number>, body: Uint8Array) => (body.set(magic), body)

layer(Pool, { timeout: 120_000, excludeTestServices: true })("AudioEngine (real worker pool, onnxruntime, decoders)", (it) => {
  it.effect("finds the four utterances of vad-4-segment-test (16 kHz WAV)", () =>
    Effect.gen(function*() {
      const result = yield* analyze(fixture("vad-4-segment-test_16k.wav"))
      assertSegments(result, FOUR, 0.3)
      assert.approximately(result.durationSec, 12.2, 0.05)
      assert.deepInclude(result, { sampleRate: 16000, channels: 1 })
      const speech = result.speech.reduce((s, seg) => s + seg.end - seg.start, 0)
      assert.approximately(result.speechRatio, speech / result.durationSec, 1e-9)
      assert.isAbove(result.peakDbfs, -20)
      assert.isBelow(result.rmsDbfs, result.peakDbfs)
      assert.isAbove(result.durationMs, 0)
    }))

  it.effect("gives nearly the same segments for 8-bit 44.1 kHz, 24-bit 48 kHz stereo, float and 32-bit versions", () =>
    Effect.gen(function*() {
      const original = pcm16(fixture("vad-4-segment-test_16k.wav"))
      const reference = yield* analyze(fixture("vad-4-segment-test_16k.wav"))
      const segments = reference.speech.map((s) => [s.start, s.end])
      const at = (rate: number) => upsample(original, 16_000, rate)
      const half = (x: Float32Array) => x.map((v) => v / 2)
      // [name, file, channels, gain of the mono mix (stereo as left + left/2 mixes to 0.75)]
      const variants: ReadonlyArray<[string, WavSpec, number, number]> = [
        ["8-bit unsigned 44.1 kHz", { rate: 44_100, bits: 8, channels: [at(44_100)] }, 1, 1],
        ["24-bit 48 kHz stereo (EXTENSIBLE)", { rate: 48_000, bits: 24, extensible: true, channels: [at(48_000), half(at(48_000))] }, 2, 0.75],
        ["float32 22.05 kHz", { rate: 22_050, bits: 32, float: true, channels: [at(22_050)] }, 1, 1],
        ["float64 16 kHz stereo", { rate: 16_000, bits: 64, float: true, channels: [original, original] }, 2, 1],
        ["32-bit integer 8 kHz", { rate: 8_000, bits: 32, channels: [upsample(original, 16_000, 8_000)] }, 1, 1]
      ]
      for (const [name, spec, channels, gain] of variants) {
        const result = yield* analyze(writeWav(spec))
        assert.deepInclude(result, { sampleRate: spec.rate, channels }, name)
        assert.approximately(result.durationSec, original.length / 16_000, 0.01, name)
        // Scaling errors (a wrong divisor, a sign bit misread) show in the level at once.
        assert.approximately(result.rmsDbfs, reference.rmsDbfs + 20 * Math.log10(gain), 0.5, name)
        // 8 kHz keeps only the band below 4 kHz: the model hears less, so a boundary may move a little more.
        assertSegments(result, segments, spec.rate === 8_000 ? 0.15 : 0.1)
        // At 16 kHz nothing is resampled: the same samples give exactly the same segments.
        if (spec.rate === 16_000) assert.deepStrictEqual(result.speech, reference.speech, name)
      }
    }), 60_000)

  it.effect("reads the MP3 fixture (44.1 kHz MPEG-1 Layer III)", () =>
    Effect.gen(function*() {
      const result = yield* analyze(fixture("vad-4-segment-test_44k.mp3"))
      assert.deepInclude(result, { sampleRate: 44_100, channels: 1 })
      assertSegments(result, FOUR, 0.3)
    }))

  it.effect("finds no speech in a robin's call (Ogg Vorbis, 22.05 kHz)", () =>
    Effect.gen(function*() {
      const result = yield* analyze(fixture("robin_whistle.ogg"))
      assert.deepStrictEqual(result.speech, [])
      assert.deepInclude(result, { sampleRate: 22_050, channels: 1, speechRatio: 0 })
      assert.approximately(result.durationSec, 2.7, 0.01)
      assert.isAbove(result.peakDbfs, -10)
    }))

  it.effect("floors the levels of digital silence at -120 dBFS (no -Infinity in JSON)", () =>
    Effect.gen(function*() {
      const result = yield* analyze(writeWav({ rate: 16_000, bits: 16, channels: [new Float32Array(16_000)] }))
      assert.deepInclude(result, { speech: [], speechRatio: 0, rmsDbfs: -120, peakDbfs: -120, durationSec: 1 })
    }))

  it.effect("refuses audio over maxAudioSeconds: WAV from its data chunk, MP3 from its frames", () =>
    Effect.gen(function*() {
      const long = yield* failure(writeWav({ rate: 16_000, bits: 16, channels: [new Float32Array(16_000 * 20)] }))
      assert.deepInclude(long, { _tag: "AudioTooLong", durationSec: 20, maxSeconds: MAX_SECONDS })
      const mp3 = fixture("vad-4-segment-test_44k.mp3")
      const twice = new Uint8Array(mp3.length * 2)
      twice.set(mp3), twice.set(mp3, mp3.length)
      const error = yield* failure(twice)
      assert.strictEqual(error._tag, "AudioTooLong")
      if (error._tag === "AudioTooLong") assert.approximately(error.durationSec, 24.5, 0.1)
    }))

  it.effect("reads streamed WAVs (size placeholders) to the bytes present, as ffmpeg and sox do", () =>
    Effect.gen(function*() {
      // Written to a pipe, so neither tool could go back and fill in the sizes: ffmpeg leaves 0xFFFFFFFF
      // (RIFF and data, with a LIST chunk between), sox 0x7FFFF000. Each holds the clip's first 5 s.
      const ffmpeg = fixture("vad-4-segment-test_5s_u8_ffmpeg-pipe.wav")
      const dataSize = Buffer.from(ffmpeg).indexOf("data") + 4
      const cases: ReadonlyArray<[string, Uint8Array, number]> = [
        ["ffmpeg's 0xFFFFFFFF", ffmpeg, 44_100],
        ["0x80000000", patched(ffmpeg, dataSize, 0x80000000, 4), 44_100],
        ["a size one byte past the end", patched(ffmpeg, dataSize, ffmpeg.length - dataSize - 3, 4), 44_100],
        ["sox's 0x7FFFF000", fixture("vad-4-segment-test_5s_8k_sox-pipe.wav"), 8_000]
      ]
      for (const [name, wav, rate] of cases) {
        const result = yield* analyze(wav)
        assert.deepInclude(result, { sampleRate: rate, channels: 1 }, name)
        assert.approximately(result.durationSec, 5, 0.001, name)
        // The first two utterances; the second ends 0.25 s before the cut, where 8-bit noise may carry it on.
        assert.lengthOf(result.speech, 2, name)
        assert.approximately(result.speech[0]!.start, 1.1, 0.1, name)
        assert.approximately(result.speech[0]!.end, 2.3, 0.1, name)
        assert.approximately(result.speech[1]!.start, 3.75, 0.15, name)
        assert.isAtLeast(result.speech[1]!.end, 4.7, name)
        assert.isAtMost(result.speech[1]!.end, 5, name)
      }
    }), 60_000)

  it.effect("applies the length limit to the samples a streamed WAV holds, not to what its header claims", () =>
    Effect.gen(function*() {
      const streamed = (seconds: number) =>
        patched(writeWav({ rate: 16_000, bits: 16, channels: [new Float32Array(16_000 * seconds)] }), 40, 0xffffffff, 4)
      assert.strictEqual((yield* analyze(streamed(0.1))).durationSec, 0.1)
      const long = yield* failure(streamed(20))
      assert.deepInclude(long, { _tag: "AudioTooLong", durationSec: 20, maxSeconds: MAX_SECONDS })
      // A file cut mid-frame keeps its whole frames: 3 bytes past 1000 frames of 16-bit stereo.
      const stereo = writeWav({ rate: 16_000, bits: 16, channels: [new Float32Array(2000), new Float32Array(2000)] })
      assert.strictEqual((yield* analyze(stereo.slice(0, 44 + 4000 + 3))).durationSec, 1000 / 16_000)
      // Cut to 100 frames (6 ms), less than one 32 ms analysis window is left: nothing to analyse.
      const short = yield* failure(stereo.slice(0, 44 + 400 + 3))
      assert.strictEqual(short._tag, "AudioUndecodable")
      assert.include(short.message, "analysis window")
    }))

  it.effect("answers AudioUndecodable for garbage, odd headers and truncated files", () =>
    Effect.gen(function*() {
      const wav = writeWav({ rate: 16_000, bits: 16, channels: [new Float32Array(8000)] })
      const robin = fixture("robin_whistle.ogg")
      // The robin's first page, its identification header rewritten to Opus's.
      const opus = robin.slice()
      opus.set(Buffer.from("OpusHead"), 28)
      const cases: ReadonlyArray<[string, Uint8Array, string]> = [
        ["random bytes as FLAC", withMagic([0x66, 0x4c, 0x61, 0x43], random(50_000, 1)), "STREAMINFO"],
        ["random bytes as Ogg", withMagic([0x4f, 0x67, 0x67, 0x53], random(50_000, 2)), "Ogg"],
        ["random bytes as MP3", withMagic([0xff, 0xfb, 0x90, 0x64], random(50_000, 3)), "MPEG"],
        ["random bytes", random(50_000, 4), "unrecognised"],
        ["0 channels", patched(wav, 22, 0, 2), "0 channels"],
        ["7-bit samples", patched(wav, 34, 7, 2), "7-bit"],
        ["A-law", patched(wav, 20, 6, 2), "not PCM or float"],
        ["a WAV cut right after its data chunk's header", wav.slice(0, 44), "no samples"],
        ["a WAV with no data chunk", wav.slice(0, 36), "no data chunk"],
        ["a truncated Ogg", robin.slice(0, robin.length >> 1), "truncated"],
        ["Ogg Opus", opus, "Opus is not supported"],
        ["a truncated MP3 header", fixture("vad-4-segment-test_44k.mp3").slice(0, 3), "no MPEG audio frames"]
      ]
      for (const [name, bytes, says] of cases) {
        const error = yield* failure(bytes)
        assert.strictEqual(error._tag, "AudioUndecodable", name)
        assert.include(error.message, says, name)
      }
      // The worker survived all of it.
      assert.strictEqual((yield* analyze(fixture("robin_whistle.ogg"))).speech.length, 0)
    }), 60_000)

  it.effect.skipIf(!hasShared)("shared clips: jfk.flac (44.1 kHz stereo), LibriSpeech Ogg, robin WAV", () =>
    Effect.gen(function*() {
      const jfk = yield* analyze(shared("jfk.flac"))
      assert.deepInclude(jfk, { sampleRate: 44_100, channels: 2 })
      assert.isAbove(jfk.speechRatio, 0.5)
      assert.isBelow(jfk.speech[0]!.start, 0.6)
      assert.isAbove(jfk.speech.at(-1)!.end, 10.3)
      const libri = yield* analyze(shared("librispeech_198-209-0000.ogg"))
      assert.isAbove(libri.speechRatio, 0.7)
      assert.strictEqual((yield* analyze(shared("robin_whistle_16k.wav"))).speech.length, 0)
      const cut = shared("jfk.flac").slice(0, 400_000)
      assert.include((yield* failure(cut)).message, "truncated")
      const long = yield* failure(shared("librispeech_5703-47212-0000.ogg"))
      assert.deepInclude(long, { _tag: "AudioTooLong", maxSeconds: MAX_SECONDS })
    }), 60_000)
})

describe("AudioEngine without its model", () => {
  it.live("fails requests with ModelUnavailable; the worker itself starts and serves other work", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerPool.make(poolOptions({ maxQueue: 4, maxBytes: 16 * 1024 * 1024, workerHeapMb: 256, settings: WorkerSettings.forTests({ vadModelPath: "/nonexistent/silero_vad.onnx" }) }))
      const error = yield* pool.submit(Tasks.analyzeAudio(fixture("robin_whistle.ogg"), defaults)).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ModelUnavailable")
      assert.include(error.message, "/nonexistent/silero_vad.onnx")
      assert.strictEqual((yield* pool.submit(Tasks.echo(5))).n, 5)
    })), 120_000)
})
