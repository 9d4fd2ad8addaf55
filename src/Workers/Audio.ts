/**
 * AudioEngine: decode, mix to mono, resample to 16 kHz, Silero VAD and levels, inside the worker thread.
 * CONTRACT ONLY: being implemented; every call answers ModelUnavailable until then.
 */
import { Context, Effect, Layer } from "effect"
import {
  type AudioAnalysis, type AudioTooLong, type AudioUndecodable, type InferenceFailed, ModelUnavailable,
  type VadOptions, type WorkerSettings
} from "./Protocol.js"

export interface AudioEngineService {
  readonly analyze: (
    audio: Uint8Array,
    vad: VadOptions
  ) => Effect.Effect<AudioAnalysis, AudioUndecodable | AudioTooLong | InferenceFailed | ModelUnavailable>
}

export class AudioEngine extends Context.Tag("inferd/AudioEngine")<AudioEngine, AudioEngineService>() {}

export const layer = (_settings: WorkerSettings): Layer.Layer<AudioEngine> =>
  Layer.succeed(AudioEngine, AudioEngine.of({
    analyze: () => Effect.fail(new ModelUnavailable({ message: "audio analysis is not built yet", model: "silero-vad", fix: "none" }))
  }))
