/**
 * MobileFaceNet (foamliu/MobileFaceNet): a 128-number embedding of a 112x112 face crop, compared by cosine.
 * As the repo's LFW evaluation does, the embedding of the mirrored crop is added before L2-normalising, which
 * evens out which way the head is turned.
 */
import { Effect } from "effect"
import * as path from "node:path"
import * as FacePrep from "./FacePrep.js"
import * as OnnxSession from "./OnnxSession.js"
import type { InferenceFailed } from "./Protocol.js"

/** The file under `INFERD_MODELS_DIR`. */
export const FILE = "MobileFaceNet.onnx"

export interface Embedder {
  /** The L2-normalised embedding of the face in `box`. */
  readonly embed: (image: FacePrep.Rgb, box: FacePrep.Box) => Effect.Effect<Array<number>, InferenceFailed>
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
      const run = (crop: Buffer, flip: boolean) =>
        session.run({ input0: OnnxSession.tensor(FacePrep.embedderInput(crop, flip), [1, 3, FacePrep.CROP, FacePrep.CROP]) }, ["output0"]).pipe(
          Effect.map((out) => out.output0!)
        )
      return {
        embed: (image, box) =>
          Effect.gen(function*() {
            const crop = yield* FacePrep.faceCrop(image, box)
            const straight = yield* run(crop, false)
            const mirrored = yield* run(crop, true)
            return normalise(straight.map((x, i) => x + mirrored[i]!))
          })
      }
    })
  )
