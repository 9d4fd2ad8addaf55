import { assert, describe, it } from "@effect/vitest"
import { speechTimestamps } from "../../src/Workers/Vad.js"

const defaults = { threshold: 0.5, minSpeechMs: 250, minSilenceMs: 100, speechPadMs: 30 }

/** Window probabilities from runs of [probability, windows]. */
const probs = (...runs: ReadonlyArray<readonly [number, number]>) =>
  Float32Array.from(runs.flatMap(([p, n]) => Array.from({ length: n }, () => p)))

describe("speechTimestamps (Silero's get_speech_timestamps)", () => {
  it("bridges pauses shorter than minSilenceMs and between the thresholds, then pads by speechPadMs", () => {
    // Speech from window 10; a 96 ms dip below 0.35 (under 100 ms) and a stretch at 0.4 (above 0.35) do not
    // end it; it ends where the final silence starts, window 45.
    const p = probs([0.1, 10], [0.9, 20], [0.2, 3], [0.9, 5], [0.4, 7], [0.1, 20])
    assert.deepStrictEqual(speechTimestamps(p, p.length * 512, defaults), [{ start: 10 * 512 - 480, end: 45 * 512 + 480 }])
  })

  it("drops segments not longer than minSpeechMs and runs an open segment to the end of the audio", () => {
    // 7 windows (224 ms) of speech are dropped; the last segment never ends, so it runs to the last sample.
    const p = probs([0.1, 10], [0.9, 7], [0.1, 10], [0.9, 20])
    const length = p.length * 512 - 100
    assert.deepStrictEqual(speechTimestamps(p, length, defaults), [{ start: 27 * 512 - 480, end: length }])
  })

  it("shares the gap between segments closer than twice the padding", () => {
    // 11 windows (352 ms) of silence from window 30 pass minSilenceMs (300 ms) at window 40: the first segment
    // ends at 30*512 and the next starts at 41*512. The 2816-sample gap is under twice the 200 ms (3200-sample)
    // padding, so each side takes half of it.
    const p = probs([0.9, 30], [0.1, 11], [0.9, 20])
    const options = { ...defaults, minSilenceMs: 300, speechPadMs: 200 }
    assert.deepStrictEqual(speechTimestamps(p, p.length * 512, options), [
      { start: 0, end: 30 * 512 + 2816 },
      { start: 41 * 512 - 2816, end: p.length * 512 }
    ])
  })
})
