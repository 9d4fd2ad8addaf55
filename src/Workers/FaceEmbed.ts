/**
 * MobileFaceNet (foamliu/MobileFaceNet): a 128-number embedding of a face aligned from its five landmarks,
 * compared by cosine. As the repo's LFW evaluation does, the embedding of the mirrored face is added before
 * L2-normalising, which evens out which way the head is turned.
 */
import { Effect } from "effect"
import * as path from "node:path"
import * as FaceAlign from "./FaceAlign.js"
import type * as FacePrep from "./FacePrep.js"
import * as OnnxSession from "./OnnxSession.js"
import type { InferenceFailed, Landmarks } from "./Protocol.js"

/** The file under `INFERD_MODELS_DIR`. */
export const FILE = "MobileFaceNet.onnx"

export interface Embedder {
  /** The L2-normalised embedding of the face with these landmarks. */
  readonly embed: (image: FacePrep.Rgb, landmarks: Landmarks) => Effect.Effect<Array<number>, InferenceFailed>
}

const MEAN = [0.485, 0.456, 0.406]
const STD = [0.229, 0.224, 0.225]

/**
 * MobileFaceNet's input from an aligned face (interleaved RGB bytes): planar float32 [3, 112, 112], each value
 * `(x/255 - mean) / std` per channel (ImageNet, what the model was trained with), optionally mirrored.
 */
export const input = (face: Uint8Array, flip: boolean): Float32Array => {
  const side = FaceAlign.SIDE, plane = side * side
  const out = new Float32Array(3 * plane)
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const from = (y * side + (flip ? side - 1 - x : x)) * 3
      for (let c = 0; c < 3; c++) out[c * plane + y * side + x] = (face[from + c]! / 255 - MEAN[c]!) / STD[c]!
    }
  }
  return out
}

/** `v / |v|`; the zero vector stays zero (a model that answers zeros must not produce NaN). */
export const normalise = (v: ArrayLike<number>): Array<number> => {
  let sum = 0
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!
  const norm = Math.sqrt(sum) || 1
  return Array.from(v, (x) => x / norm)
}

/** Opens MobileFaceNet from `modelsDir` (released with the scope). */
export const open = (modelsDir: string, threads: number) =>
  OnnxSession.open(path.join(modelsDir, FILE), { model: FILE, threads, inputs: ["input0"] }).pipe(
    Effect.map((session): Embedder => {
      const run = (face: Uint8Array, flip: boolean) =>
        session.run({ input0: OnnxSession.tensor(input(face, flip), [1, 3, FaceAlign.SIDE, FaceAlign.SIDE]) }, ["output0"]).pipe(
          Effect.map((out) => out.output0!)
        )
      return {
        embed: (image, landmarks) =>
          Effect.gen(function*() {
            const face = FaceAlign.warp(image, landmarks)
            const straight = yield* run(face, false)
            const mirrored = yield* run(face, true)
            return normalise(straight.map((x, i) => x + mirrored[i]!))
          })
      }
    })
  )
