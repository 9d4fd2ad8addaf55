/**
 * Audio bytes to 16 kHz mono float samples: WAV by Wav.ts, FLAC, Ogg Vorbis and MP3 by audio-decode's
 * WASM decoders, channels averaged to mono, then libsamplerate's band-limited sinc resampler. Length limits
 * are checked from the header or container before decoding.
 */
import { decoders } from "audio-decode"
import { Effect, Either } from "effect"
import { probe } from "./AudioProbe.js"
import { AudioTooLong, AudioUndecodable, InferenceFailed } from "./Protocol.js"
import * as Wav from "./Wav.js"

/** Decoded audio: its original rate and channel count, and its samples mixed to mono at that rate. */
export interface Decoded {
  readonly sampleRate: number
  readonly channels: number
  readonly mono: Float32Array
}

/** The part of audio-decode's AudioBuffer (its `audio-buffer` shim) read here. */
interface DecodedBuffer {
  readonly sampleRate: number
  readonly numberOfChannels: number
  readonly length: number
  readonly getChannelData: (channel: number) => Float32Array
}

// libsamplerate's limits; below 1 kHz nothing useful for speech is left anyway.
const MIN_RATE = 1_000
const MAX_RATE = 192_000

const undecodable = (message: string) => new AudioUndecodable({ message })

const checkLength = (seconds: number, maxSeconds: number, claim: string) =>
  seconds > maxSeconds
    ? Effect.fail(new AudioTooLong({ message: `the audio lasts ${seconds.toFixed(1)} s (${claim}), over the limit of ${maxSeconds} s`, durationSec: seconds, maxSeconds }))
    : Effect.void

/**
 * The voice-activity model reads 32 ms windows: audio shorter than one (a header with no data behind it, a
 * clip of a few samples) has nothing to analyse, and is refused rather than answered with an empty result.
 */
const MIN_SECONDS = 0.032

const checkMinimum = (seconds: number) =>
  seconds < MIN_SECONDS
    ? Effect.fail(undecodable(`the audio lasts ${(seconds * 1000).toFixed(1)} ms, less than one ${MIN_SECONDS * 1000} ms analysis window`))
    : Effect.void

const checkRate = (sampleRate: number) =>
  sampleRate < MIN_RATE || sampleRate > MAX_RATE
    ? Effect.fail(undecodable(`a sample rate of ${sampleRate} Hz is not supported (${MIN_RATE}–${MAX_RATE} Hz are)`))
    : Effect.void

const wav = (bytes: Uint8Array, maxSeconds: number) =>
  Effect.gen(function*() {
    const header = yield* Either.mapLeft(Wav.readHeader(bytes), (reason) => undecodable(`the WAV file cannot be read: ${reason}`))
    // Checked before any sample is read, on the frames the file holds (not on what a streaming header claims).
    yield* checkLength(header.frames / header.sampleRate, maxSeconds, "as its data chunk holds")
    if (header.frames === 0) return yield* undecodable("the WAV file holds no samples")
    yield* checkRate(header.sampleRate)
    yield* checkMinimum(header.frames / header.sampleRate)
    return { sampleRate: header.sampleRate, channels: header.channels, mono: Wav.readMono(bytes, header) } satisfies Decoded
  })

/** Averages the channels; a non-finite sample becomes 0. */
const mix = (buffer: DecodedBuffer): Float32Array => {
  const mono = new Float32Array(buffer.length)
  for (let channel = 0; channel < buffer.numberOfChannels; channel++) {
    const data = buffer.getChannelData(channel)
    for (let i = 0; i < mono.length; i++) mono[i] += data[i] / buffer.numberOfChannels
  }
  for (let i = 0; i < mono.length; i++) if (!Number.isFinite(mono[i])) mono[i] = 0
  return mono
}

const names = { flac: "FLAC", vorbis: "Ogg Vorbis", mp3: "MP3" } as const

const compressed = (bytes: Uint8Array, maxSeconds: number) =>
  Effect.gen(function*() {
    const info = yield* Either.mapLeft(probe(bytes), (reason) => undecodable(`the audio cannot be read: ${reason}`))
    const name = names[info.codec]
    if (info.durationSec !== undefined) yield* checkLength(info.durationSec, maxSeconds, "as its container says")
    const decoder = { flac: decoders.flac, vorbis: decoders.oga, mp3: decoders.mp3 }[info.codec]
    // The one door to audio-decode's Promise API; its result is typed by what is read from it.
    const buffer: DecodedBuffer = yield* Effect.tryPromise({
      try: () => decoder(bytes),
      catch: (cause) => undecodable(`the ${name} stream is corrupt: ${cause instanceof Error ? cause.message : String(cause)}`)
    })
    if (buffer.length === 0 || buffer.numberOfChannels === 0) return yield* undecodable(`no audio could be decoded from the ${name} stream`)
    if (info.minFrames !== undefined && buffer.length < info.minFrames) {
      return yield* undecodable(`the ${name} stream decodes to ${buffer.length} frames, fewer than its header declares (truncated)`)
    }
    yield* checkLength(buffer.length / buffer.sampleRate, maxSeconds, "decoded")
    yield* checkRate(buffer.sampleRate)
    yield* checkMinimum(buffer.length / buffer.sampleRate)
    return { sampleRate: buffer.sampleRate, channels: info.channels, mono: mix(buffer) } satisfies Decoded
  })

/** Decodes WAV, FLAC, Ogg Vorbis or MP3 to mono, refusing audio over `maxSeconds` as early as it can. */
export const decode = (bytes: Uint8Array, maxSeconds: number): Effect.Effect<Decoded, AudioUndecodable | AudioTooLong> =>
  String.fromCharCode(...bytes.subarray(0, 4)) === "RIFF" ? wav(bytes, maxSeconds) : compressed(bytes, maxSeconds)

/** Resamples mono audio from any rate to the one it was made for. */
export interface Resampler {
  readonly resample: (mono: Float32Array, from: number) => Effect.Effect<Float32Array, InferenceFailed>
}

// Input fed to the converter per call: its output (at most 16x for 1 kHz input) stays well inside the
// library's 1M-sample transfer buffer, so the library never chunks on its own.
const CHUNK = 16_384

/**
 * A resampler to `rate` on libsamplerate's SINC_FASTEST converter: a real band-limited sinc filter (passband
 * to 80% of the lower Nyquist, about 6.4 kHz here; 97 dB stop band), plenty for a model listening below 8 kHz
 * at a tenth of the cost of the best-quality one. One converter serves the thread, since each new one
 * compiles its WASM afresh and stays in the baseline tier (measured 4x slower); its memory is freed when the
 * scope closes. Only the streaming (`full`) API is used: on one converter, a `simple` call followed by a
 * long input (which the library cuts into `full` calls itself) gives garbage, and `simple` drops the tail.
 */
export const resampler = (rate: number) => {
  const failed = (cause: unknown) => new InferenceFailed({ message: `resampling to ${rate} Hz failed: ${String(cause)}` })
  return Effect.acquireRelease(
    // Imported here, on first use: the library (2 MB of JavaScript around its WASM) would otherwise add a
    // tenth of a second to every worker thread's start.
    Effect.tryPromise({ try: () => import("@alexanderolsen/libsamplerate-js"), catch: failed }).pipe(
      Effect.flatMap(({ default: LibSampleRate }) =>
        Effect.tryPromise({
          try: () => LibSampleRate.create(1, rate, rate, { converterType: LibSampleRate.ConverterType.SRC_SINC_FASTEST }),
          catch: failed
        })
      )
    ),
    (converter) => Effect.sync(() => converter.destroy())
  ).pipe(Effect.map((converter): Resampler => ({
    resample: (mono, from) =>
      from === rate ? Effect.succeed(mono) : Effect.try({
        try: () => {
          // Setting the rate re-initialises the converter, so nothing of the previous call carries over;
          // the library sizes its output from `ratio`, which that setter leaves stale.
          converter.inputSampleRate = from
          converter.ratio = rate / from
          const out = new Float32Array(Math.round(mono.length * rate / from))
          let written = 0
          const push = (chunk: Float32Array) => {
            const take = Math.min(chunk.length, out.length - written)
            out.set(chunk.subarray(0, take), written)
            written += take
          }
          for (let i = 0; i < mono.length; i += CHUNK) push(converter.full(mono.subarray(i, i + CHUNK)))
          // The filter holds back its last samples until more input arrives: push silence through it.
          const silence = new Float32Array(CHUNK)
          for (let i = 0; written < out.length && i < 4; i++) push(converter.full(silence))
          return out.subarray(0, written)
        },
        catch: failed
      })
  })))
}
