/**
 * FaceEngine: YuNet detection (boxes and five landmarks) and MobileFaceNet embeddings of the faces aligned from
 * those landmarks, on onnxruntime-node, inside a worker thread.
 * Each model's session is opened on first use and kept until the thread closes; a model that is missing or
 * broken fails the request with ModelUnavailable (fix: `npx inferd models fetch`) and is tried again on the next
 * request, so installing the models needs no restart.
 */
import { Clock, Context, Effect, Exit, ExecutionStrategy, Layer, Option, Scope, SynchronizedRef } from "effect"
import * as FaceEmbed from "./FaceEmbed.js"
import * as FacePrep from "./FacePrep.js"
import type {
  Face, FaceDetectResult, FaceModel, ImageTooLarge, ImageUndecodable, InferenceFailed, ModelUnavailable, WorkerSettings
} from "./Protocol.js"
import * as YuNet from "./YuNet.js"

export interface DetectOptions {
  readonly model: FaceModel
  readonly minScore: number
  readonly embed: boolean
}

export interface FaceEngineService {
  /**
   * The faces in an image, best score first: boxes and landmarks in upright original pixels, and with `embed`
   * a 128-number L2-normalised embedding per face.
   */
  readonly detect: (
    image: Uint8Array,
    options: DetectOptions
  ) => Effect.Effect<FaceDetectResult, ImageUndecodable | ImageTooLarge | InferenceFailed | ModelUnavailable>
}

export class FaceEngine extends Context.Tag("inferd/FaceEngine")<FaceEngine, FaceEngineService>() {}

/**
 * `acquire`, run once it first succeeds, its resources in a child of `scope`; a failure keeps nothing (what it
 * had opened is released at once), so the next call tries again.
 */
const lazily = <A, E>(scope: Scope.Scope, acquire: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.map(SynchronizedRef.make(Option.none<A>()), (ref) =>
    SynchronizedRef.modifyEffect(ref, (current) =>
      Option.match(current, {
        onSome: (value) => Effect.succeed([value, current] as const),
        onNone: () =>
          Effect.gen(function*() {
            const child = yield* Scope.fork(scope, ExecutionStrategy.sequential)
            const value = yield* acquire.pipe(Scope.extend(child), Effect.onError((cause) => Scope.close(child, Exit.failCause(cause))))
            return [value, Option.some(value)] as const
          })
      })))

// Scores are float32 noise past the fourth decimal.
const round = (score: number) => Math.round(score * 10_000) / 10_000

export const make = (settings: WorkerSettings) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const detector = yield* lazily(scope, YuNet.open(settings.modelsDir, settings.onnxThreads))
    const embedder = yield* lazily(scope, FaceEmbed.open(settings.modelsDir, settings.onnxThreads))

    const shown = ({ box, landmarks, score }: YuNet.Detection): Face => ({ box, score: round(score), landmarks: YuNet.rounded(landmarks) })

    // Detection alone reads the image straight at the detector's scale; embedding also needs it whole, since
    // alignment samples the original pixels.
    const faces = (image: Uint8Array, options: DetectOptions) =>
      Effect.gen(function*() {
        // Models first: a daemon without them answers at once, without decoding anything.
        const yunet = yield* detector
        const size = YuNet.SIZES[options.model]
        if (!options.embed) {
          const { height, scaled, width } = yield* FacePrep.decodeScaled(image, settings.maxPixels, size)
          return { width, height, faces: (yield* yunet.detect(scaled, { width, height }, options.minScore)).map(shown) }
        }
        const model = yield* embedder
        const whole = yield* FacePrep.decode(image, settings.maxPixels)
        const found = yield* yunet.detect(yield* FacePrep.scale(whole, size), whole, options.minScore)
        const faces = yield* Effect.forEach(found, (detection) =>
          Effect.map(model.embed(whole, detection.landmarks), (embedding): Face => ({ ...shown(detection), embedding })))
        return { width: whole.width, height: whole.height, faces }
      })

    const detect = Effect.fn("FaceEngine.detect")(function*(image: Uint8Array, options: DetectOptions) {
      const start = yield* Clock.currentTimeMillis
      const found = yield* faces(image, options)
      return { ...found, durationMs: (yield* Clock.currentTimeMillis) - start } satisfies FaceDetectResult
    })

    return FaceEngine.of({ detect })
  })

/** The live engine, one per worker thread; its sessions are released when the thread closes. */
export const layer = (settings: WorkerSettings): Layer.Layer<FaceEngine> => Layer.scoped(FaceEngine, make(settings))
