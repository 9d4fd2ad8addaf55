/**
 * AudioEngine: decode, mix to mono, resample to 16 kHz, Silero VAD and levels, inside the worker thread. The
 * Silero session is created on first use, so a missing or broken model fails requests with ModelUnavailable
 * instead of failing the thread's start, and is released when the thread closes.
 */
import { Clock, Context, Effect, Layer, Scope } from "effect"
import * as AudioDecode from "./AudioDecode.js"
import type {
  AudioAnalysis, AudioTooLong, AudioUndecodable, InferenceFailed, ModelUnavailable, VadOptions, WorkerSettings
} from "./Protocol.js"
import * as Vad from "./Vad.js"

/** What the worker does with an `AudioAnalyze` request. */
export interface AudioEngineService {
  /** Speech segments (seconds), speech ratio and levels of one audio file of any supported format. */
  readonly analyze: (
    audio: Uint8Array,
    vad: VadOptions
  ) => Effect.Effect<AudioAnalysis, AudioUndecodable | AudioTooLong | InferenceFailed | ModelUnavailable>
}

/** The audio engine of one worker thread. */
export class AudioEngine extends Context.Tag("inferd/AudioEngine")<AudioEngine, AudioEngineService>() {}

// Silence has no finite level (log of 0), and -Infinity is not JSON: levels are floored here, far below any
// real recording's noise floor (16-bit dither sits near -101 dBFS).
const FLOOR_DB = -120

const decibels = (amplitude: number) => Math.round(Math.max(FLOOR_DB, 20 * Math.log10(amplitude)) * 100) / 100

/** RMS and peak of the mono signal, in dB relative to full scale. */
export const levels = (samples: Float32Array) => {
  let sum = 0
  let peak = 0
  for (const sample of samples) {
    sum += sample * sample
    peak = Math.max(peak, Math.abs(sample))
  }
  return { rmsDbfs: decibels(Math.sqrt(sum / Math.max(1, samples.length))), peakDbfs: decibels(peak) }
}

const seconds = (samples: number) => Math.round(samples / Vad.SAMPLE_RATE * 1000) / 1000

/**
 * Builds the engine: the Silero session and the resampler are created on first use and kept until the scope
 * (the worker thread) closes; `settings.maxAudioSeconds` bounds every request.
 */
export const make = (settings: WorkerSettings) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    // Opened once, on first use, and kept in the layer's scope; a failure to open is kept too, since a model
    // file that is missing or broken stays so until the daemon is reinstalled.
    const session = yield* Effect.cached(Vad.open(settings.vadModelPath, settings.onnxThreads).pipe(Scope.extend(scope)))
    const resampler = yield* Effect.cached(AudioDecode.resampler(Vad.SAMPLE_RATE).pipe(Scope.extend(scope)))
    // audio-decode keeps one decoder per format per thread: two decodes at once would share it.
    const decoding = yield* Effect.makeSemaphore(1)

    const analyze = Effect.fn("AudioEngine.analyze")(function*(audio: Uint8Array, vad: VadOptions) {
      const start = yield* Clock.currentTimeMillis
      const model = yield* session
      const decoded = yield* decoding.withPermits(1)(AudioDecode.decode(audio, settings.maxAudioSeconds))
      const samples = yield* Effect.flatMap(resampler, (r) => r.resample(decoded.mono, decoded.sampleRate))
      const probabilities = yield* model.probabilities(samples)
      const durationSec = decoded.mono.length / decoded.sampleRate
      const speech = Vad.speechTimestamps(probabilities, samples.length, vad).map((segment) => ({
        start: seconds(segment.start),
        end: Math.min(seconds(segment.end), durationSec)
      }))
      const speechSec = speech.reduce((total, segment) => total + segment.end - segment.start, 0)
      return {
        durationSec,
        sampleRate: decoded.sampleRate,
        channels: decoded.channels,
        speech,
        speechRatio: Math.min(1, speechSec / durationSec),
        ...levels(decoded.mono),
        durationMs: (yield* Clock.currentTimeMillis) - start
      } satisfies AudioAnalysis
    })

    return AudioEngine.of({ analyze })
  })

/** The live engine, one per worker thread. */
export const layer = (settings: WorkerSettings): Layer.Layer<AudioEngine> => Layer.scoped(AudioEngine, make(settings))
