/**
 * YuNet (ShiqiYu/libfacedetection.train, the model OpenCV's FaceDetectorYN runs), the export with a dynamic
 * input size: BGR, raw 0..255, height and width multiples of 32. For each stride s in 8, 16, 32 it answers, per
 * grid cell in row-major order, `cls_s` and `obj_s` [1,N,1], `bbox_s` [1,N,4] and `kps_s` [1,N,10]; decoding and
 * the NMS at IoU 0.3 follow OpenCV's `FaceDetectorYN`.
 */
import { Effect } from "effect"
import * as path from "node:path"
import * as FacePrep from "./FacePrep.js"
import * as OnnxSession from "./OnnxSession.js"
import type { FaceModel, InferenceFailed, Landmarks } from "./Protocol.js"

/** The file under `INFERD_MODELS_DIR`. */
export const FILE = "yunet_s_dynamic.onnx"

/**
 * The longer side of the detector's input per model (`node bench/faces-tuning.mjs`): every face of the shared
 * photos is found at both.
 */
export const SIZES: Record<FaceModel, number> = { accurate: 640, fast: 384 }

const STRIDES = [8, 16, 32] as const
const IOU = 0.3

/** A detection in image pixels: its box, score and five landmarks. */
export interface Detection {
  readonly box: FacePrep.Box
  readonly score: number
  readonly landmarks: Landmarks
}

/** An image's upright size in pixels. */
export interface Size {
  readonly width: number
  readonly height: number
}

/** The detector's input: the scaled image as planar BGR floats, padded right and bottom to multiples of 32. */
export interface Input {
  readonly tensor: Float32Array
  readonly width: number
  readonly height: number
  /** Input pixels per original image pixel, per axis. */
  readonly scaleX: number
  readonly scaleY: number
}

const ceil32 = (n: number) => Math.max(32, Math.ceil(n / 32) * 32)

/** The input for `scaled`, an image of `original`'s size scaled (see `SIZES`). */
export const input = (scaled: FacePrep.Rgb, original: Size): Input => {
  const { data, height: h, width: w } = scaled
  const width = ceil32(w), height = ceil32(h), plane = width * height
  const tensor = new Float32Array(3 * plane)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const from = (y * w + x) * 3, to = y * width + x
      tensor[to] = data[from + 2]!
      tensor[plane + to] = data[from + 1]!
      tensor[2 * plane + to] = data[from]!
    }
  }
  return { tensor, width, height, scaleX: w / original.width, scaleY: h / original.height }
}

interface Candidate {
  readonly score: number
  readonly corners: readonly [number, number, number, number]
  readonly points: ReadonlyArray<number>
}

const area = (c: Candidate["corners"]) => Math.max(0, c[2] - c[0]) * Math.max(0, c[3] - c[1])
const iou = (a: Candidate["corners"], b: Candidate["corners"]) => {
  const overlap = area([Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])])
  return overlap / (area(a) + area(b) - overlap || 1)
}
const clamp01 = (v: number) => Math.min(1, Math.max(0, v))
const round1 = (v: number) => Math.round(v * 10) / 10

/**
 * The faces in the raw outputs (keyed `cls_8` … `kps_32`), best first, in image pixels: boxes clamped to the
 * image and rounded to whole pixels (a box left empty is dropped), landmarks as found, even past the edge.
 */
export const decode = (
  outputs: Readonly<Record<string, Float32Array>>,
  options: { readonly input: Omit<Input, "tensor">; readonly threshold: number; readonly width: number; readonly height: number }
): Array<Detection> => {
  const { input: { height, scaleX, scaleY, width }, threshold } = options
  const candidates: Array<Candidate> = []
  for (const s of STRIDES) {
    const cols = width / s, rows = height / s
    const cls = outputs[`cls_${s}`]!, obj = outputs[`obj_${s}`]!, bbox = outputs[`bbox_${s}`]!, kps = outputs[`kps_${s}`]!
    for (let i = 0; i < rows * cols; i++) {
      const score = Math.sqrt(clamp01(cls[i]!) * clamp01(obj[i]!))
      if (score < threshold) continue
      const r = Math.floor(i / cols), c = i % cols
      const cx = (c + bbox[4 * i]!) * s, cy = (r + bbox[4 * i + 1]!) * s
      const w = Math.exp(bbox[4 * i + 2]!) * s, h = Math.exp(bbox[4 * i + 3]!) * s
      const points = Array.from({ length: 10 }, (_, k) => ((k % 2 === 0 ? c : r) + kps[10 * i + k]!) * s / (k % 2 === 0 ? scaleX : scaleY))
      candidates.push({ score, corners: [(cx - w / 2) / scaleX, (cy - h / 2) / scaleY, (cx + w / 2) / scaleX, (cy + h / 2) / scaleY], points })
    }
  }
  candidates.sort((a, b) => b.score - a.score)
  const kept: Array<Candidate> = []
  for (const candidate of candidates) if (kept.every((k) => iou(k.corners, candidate.corners) <= IOU)) kept.push(candidate)
  return kept.flatMap(({ corners, points, score }) => {
    const x1 = Math.round(Math.max(0, corners[0])), y1 = Math.round(Math.max(0, corners[1]))
    const x2 = Math.round(Math.min(options.width, corners[2])), y2 = Math.round(Math.min(options.height, corners[3]))
    if (x2 <= x1 || y2 <= y1) return []
    const at = (n: number) => ({ x: points[2 * n]!, y: points[2 * n + 1]! })
    return [{
      box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 },
      score,
      landmarks: { rightEye: at(0), leftEye: at(1), nose: at(2), mouthRight: at(3), mouthLeft: at(4) }
    }]
  })
}

/** Landmarks rounded to a tenth of a pixel, for answers (the embedder uses them unrounded). */
export const rounded = (l: Landmarks): Landmarks => {
  const r = (p: { readonly x: number; readonly y: number }) => ({ x: round1(p.x), y: round1(p.y) })
  return { rightEye: r(l.rightEye), leftEye: r(l.leftEye), nose: r(l.nose), mouthRight: r(l.mouthRight), mouthLeft: r(l.mouthLeft) }
}

const OUTPUTS = STRIDES.flatMap((s) => [`cls_${s}`, `obj_${s}`, `bbox_${s}`, `kps_${s}`])

/** One detector session: the faces in an image, best first, from the image scaled for it (`SIZES`). */
export interface Detector {
  readonly detect: (scaled: FacePrep.Rgb, original: Size, threshold: number) => Effect.Effect<Array<Detection>, InferenceFailed>
}

/** Opens YuNet from `modelsDir` (released with the scope). */
export const open = (modelsDir: string, threads: number) =>
  OnnxSession.open(path.join(modelsDir, FILE), { model: FILE, threads, inputs: ["input"], outputs: OUTPUTS }).pipe(
    Effect.map((session): Detector => ({
      detect: (scaled, original, threshold) => {
        const prepared = input(scaled, original)
        return session.run({ input: OnnxSession.tensor(prepared.tensor, [1, 3, prepared.height, prepared.width]) }, OUTPUTS).pipe(
          Effect.map((outputs) => decode(outputs, { input: prepared, threshold, ...original }))
        )
      }
    }))
  )
