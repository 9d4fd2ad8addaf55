/**
 * UltraFace (Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB), the exports that decode boxes inside the graph:
 * `scores` [1,N,2] (softmax applied, column 1 = face) and `boxes` [1,N,4] (x1,y1,x2,y2 normalised to 0..1).
 * Post-processing is the repo's own (`detect_imgs_onnx.py`): score over the threshold, best 200, greedy hard
 * NMS at IoU 0.3, then scaled by the original width and height.
 */
import { Effect } from "effect"
import * as path from "node:path"
import type { FaceModel, InferenceFailed } from "./Protocol.js"
import * as FacePrep from "./FacePrep.js"
import * as OnnxSession from "./OnnxSession.js"

/** The two detectors: file under `INFERD_MODELS_DIR` and input size. */
export const DETECTORS: Record<FaceModel, { readonly file: string; readonly width: number; readonly height: number }> = {
  accurate: { file: "version-RFB-640.onnx", width: 640, height: 480 },
  fast: { file: "version-RFB-320.onnx", width: 320, height: 240 }
}

const TOP_K = 200
const IOU = 0.3

/** A detection: its box in image pixels and its face score. */
export interface Detection {
  readonly box: FacePrep.Box
  readonly score: number
}

type Corners = readonly [number, number, number, number]

const area = (b: Corners) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1])

const iou = (a: Corners, b: Corners) => {
  const overlap = area([Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])])
  // The repo's epsilon, so two empty boxes do not divide by zero.
  return overlap / (area(a) + area(b) - overlap + 1e-5)
}

const clamp = (v: number) => Math.min(1, Math.max(0, v))

/**
 * The faces in the raw outputs, best first: boxes clamped to the image and rounded to whole pixels; a box with
 * nothing left inside the image is dropped.
 */
export const postprocess = (
  scores: Float32Array,
  boxes: Float32Array,
  options: { readonly threshold: number; readonly width: number; readonly height: number }
): Array<Detection> => {
  const candidates: Array<{ score: number; corners: Corners }> = []
  for (let i = 0; i < scores.length / 2; i++) {
    const score = scores[2 * i + 1]!
    if (score > options.threshold) candidates.push({ score, corners: [boxes[4 * i]!, boxes[4 * i + 1]!, boxes[4 * i + 2]!, boxes[4 * i + 3]!] })
  }
  candidates.sort((a, b) => b.score - a.score)
  const kept: typeof candidates = []
  for (const candidate of candidates.slice(0, TOP_K)) {
    if (kept.every((k) => iou(k.corners, candidate.corners) <= IOU)) kept.push(candidate)
  }
  return kept.flatMap(({ corners, score }) => {
    const x1 = Math.round(clamp(corners[0]) * options.width)
    const y1 = Math.round(clamp(corners[1]) * options.height)
    const x2 = Math.round(clamp(corners[2]) * options.width)
    const y2 = Math.round(clamp(corners[3]) * options.height)
    return x2 > x1 && y2 > y1 ? [{ box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 }, score }] : []
  })
}

/** One detector session: the faces in an image, best first. */
export interface Detector {
  readonly detect: (image: FacePrep.Rgb, threshold: number) => Effect.Effect<Array<Detection>, InferenceFailed>
}

/** Opens the detector for `model` from `modelsDir` (released with the scope). */
export const open = (modelsDir: string, model: FaceModel, threads: number) => {
  const spec = DETECTORS[model]
  return OnnxSession.open(path.join(modelsDir, spec.file), { model: spec.file, threads, inputs: ["input"] }).pipe(
    Effect.map((session): Detector => ({
      detect: (image, threshold) =>
        Effect.gen(function*() {
          const input = yield* FacePrep.detectorInput(image, spec.width, spec.height)
          const out = yield* session.run({ input: OnnxSession.tensor(input, [1, 3, spec.height, spec.width]) }, ["scores", "boxes"])
          return postprocess(out.scores!, out.boxes!, { threshold, width: image.width, height: image.height })
        })
    }))
  )
}
