/**
 * FaceEngine: UltraFace detection and MobileFaceNet embeddings on onnxruntime-node, one set of sessions per
 * worker thread. CONTRACT ONLY: being implemented; every call answers ModelUnavailable until then.
 */
import { Context, Effect, Layer } from "effect"
import {
  type FaceDetectResult, type FaceModel, type ImageTooLarge, type ImageUndecodable, type InferenceFailed,
  ModelUnavailable, type WorkerSettings
} from "./Protocol.js"

export interface DetectOptions {
  readonly model: FaceModel
  readonly threshold: number
  readonly embed: boolean
}

export interface FaceEngineService {
  readonly detect: (
    image: Uint8Array,
    options: DetectOptions
  ) => Effect.Effect<FaceDetectResult, ImageUndecodable | ImageTooLarge | InferenceFailed | ModelUnavailable>
}

export class FaceEngine extends Context.Tag("inferd/FaceEngine")<FaceEngine, FaceEngineService>() {}

export const layer = (_settings: WorkerSettings): Layer.Layer<FaceEngine> =>
  Layer.succeed(FaceEngine, FaceEngine.of({
    detect: () => Effect.fail(new ModelUnavailable({ message: "face detection is not built yet", model: "ultraface", fix: "none" }))
  }))
