/**
 * The one door to onnxruntime-node, for the face models and Silero VAD: a session opened in a scope (released
 * when it closes) and a `run` whose failures are typed. A model file that is missing or will not load is
 * ModelUnavailable.
 */
import { Effect } from "effect"
import { InferenceSession, Tensor } from "onnxruntime-node"
import { InferenceFailed, ModelUnavailable } from "./Protocol.js"

/** What installs a missing face model; every ModelUnavailable from these sessions names it. */
export const FIX = "npx inferd models fetch"

export interface OnnxSession {
  /** Runs the graph; every name in `outputs` must come back as a float32 tensor. */
  readonly run: (
    feeds: Record<string, Tensor>,
    outputs: ReadonlyArray<string>
  ) => Effect.Effect<Record<string, Float32Array>, InferenceFailed>
}

const describe = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

export interface OpenOptions {
  /** Names the model in errors (`yunet_s_dynamic.onnx`). */
  readonly model: string
  readonly threads: number
  /** Names the session must have; a file that loads but is some other graph is ModelUnavailable too. */
  readonly inputs: ReadonlyArray<string>
  readonly outputs?: ReadonlyArray<string>
  /** What installs the model (default: the face models' fetch command). */
  readonly fix?: string
}

/** Opens `file` with `threads` intra-op threads. */
export const open = (file: string, options: OpenOptions) => {
  const unavailable = (message: string) => new ModelUnavailable({ message, model: options.model, fix: options.fix ?? FIX })
  return Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        InferenceSession.create(file, {
          intraOpNumThreads: options.threads,
          interOpNumThreads: 1,
          executionMode: "sequential",
          // These exports make onnxruntime print ~240 harmless "Initializer appears in graph inputs" warnings.
          logSeverityLevel: 3
        }),
      catch: (cause) => unavailable(`the model ${options.model} could not be loaded from ${file}: ${describe(cause)}`)
    }),
    (session) =>
      Effect.tryPromise({ try: () => session.release(), catch: describe }).pipe(
        Effect.catchAll((message) => Effect.logWarning(`releasing the ${options.model} session failed: ${message}`))
      )
  ).pipe(
    Effect.filterOrFail(
      (session) =>
        options.inputs.every((name) => session.inputNames.includes(name)) &&
        (options.outputs ?? []).every((name) => session.outputNames.includes(name)),
      (session) => unavailable(`${file} is not ${options.model} (inputs: ${session.inputNames.join(", ")})`)
    ),
    Effect.map((session): OnnxSession => ({
      run: (feeds, outputs) =>
        Effect.tryPromise({
          try: () => session.run(feeds),
          catch: (cause) => new InferenceFailed({ message: `${options.model} failed: ${describe(cause)}` })
        }).pipe(Effect.flatMap((result) => {
          const out: Record<string, Float32Array> = {}
          for (const name of outputs) {
            const value = result[name]
            if (!(value instanceof Tensor) || !(value.data instanceof Float32Array)) {
              return Effect.fail(new InferenceFailed({ message: `${options.model} returned no float32 output "${name}"` }))
            }
            out[name] = value.data
          }
          return Effect.succeed(out)
        }))
    }))
  )
}

/** A float32 NCHW tensor of shape `dims`. */
export const tensor = (data: Float32Array, dims: ReadonlyArray<number>) => new Tensor("float32", data, dims)
