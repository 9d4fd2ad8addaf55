/**
 * Face alignment for the embedder: the similarity transform (rotation, uniform scale, translation; no
 * reflection) that best maps a face's five landmarks onto the ArcFace 112x112 template in the least-squares
 * sense, and the face warped through it with bilinear sampling, black outside the image.
 */
import type { Rgb } from "./FacePrep.js"
import type { Landmarks } from "./Protocol.js"

/** The side of the aligned face. */
export const SIDE = 112

type Point = { readonly x: number; readonly y: number }

/**
 * Where the five landmarks sit in an aligned 112x112 face (insightface's ArcFace template), in image order:
 * the eye and mouth corner on the image's left (the person's right) first.
 */
export const TEMPLATE: ReadonlyArray<Point> = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 }
]

/** The landmarks in the template's order. */
export const points = (l: Landmarks): ReadonlyArray<Point> => [l.rightEye, l.leftEye, l.nose, l.mouthRight, l.mouthLeft]

/** `p ↦ a·p + b` with `a = (ar, ai)` a complex number: rotation and uniform scale, then a shift. */
export interface Similarity {
  readonly ar: number
  readonly ai: number
  readonly bx: number
  readonly by: number
}

const mean = (ps: ReadonlyArray<Point>) => ({
  x: ps.reduce((s, p) => s + p.x, 0) / ps.length,
  y: ps.reduce((s, p) => s + p.y, 0) / ps.length
})

/**
 * The least-squares similarity from `from` to `to`. In the complex plane a similarity is `z ↦ a z + b`, and
 * the best `a` over centred points is `Σ conj(f)·t / Σ |f|²` (the 2-D case of Umeyama's method, where no
 * reflection can arise); `b` then maps the centroid onto the centroid.
 */
export const fit = (from: ReadonlyArray<Point>, to: ReadonlyArray<Point>): Similarity => {
  const mf = mean(from), mt = mean(to)
  let re = 0, im = 0, norm = 0
  from.forEach((p, i) => {
    const fx = p.x - mf.x, fy = p.y - mf.y, tx = to[i]!.x - mt.x, ty = to[i]!.y - mt.y
    re += fx * tx + fy * ty
    im += fx * ty - fy * tx
    norm += fx * fx + fy * fy
  })
  const ar = norm === 0 ? 1 : re / norm, ai = norm === 0 ? 0 : im / norm
  return { ar, ai, bx: mt.x - (ar * mf.x - ai * mf.y), by: mt.y - (ai * mf.x + ar * mf.y) }
}

/** `t` applied to `p`. */
export const apply = (t: Similarity, p: Point): Point => ({ x: t.ar * p.x - t.ai * p.y + t.bx, y: t.ai * p.x + t.ar * p.y + t.by })

/** The inverse similarity (a landmark set that collapsed to one point maps everything onto it). */
export const invert = (t: Similarity): Similarity => {
  const n = t.ar * t.ar + t.ai * t.ai || 1
  const ar = t.ar / n, ai = -t.ai / n
  return { ar, ai, bx: -(ar * t.bx - ai * t.by), by: -(ai * t.bx + ar * t.by) }
}

/** Channel `c` of pixel (x, y), black outside the image. */
const sample = (image: Rgb, x: number, y: number, c: number) =>
  x < 0 || y < 0 || x >= image.width || y >= image.height ? 0 : image.data[(y * image.width + x) * 3 + c]!

/**
 * The aligned face as 112x112 interleaved RGB bytes: each output pixel is sampled bilinearly where the inverse
 * transform puts it in the image, pixels outside the image counting as black.
 */
export const warp = (image: Rgb, landmarks: Landmarks): Uint8Array => {
  const back = invert(fit(points(landmarks), TEMPLATE))
  const out = new Uint8Array(SIDE * SIDE * 3)
  for (let v = 0; v < SIDE; v++) {
    for (let u = 0; u < SIDE; u++) {
      const x = back.ar * u - back.ai * v + back.bx
      const y = back.ai * u + back.ar * v + back.by
      const x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0
      for (let c = 0; c < 3; c++) {
        const top = sample(image, x0, y0, c) * (1 - fx) + sample(image, x0 + 1, y0, c) * fx
        const bottom = sample(image, x0, y0 + 1, c) * (1 - fx) + sample(image, x0 + 1, y0 + 1, c) * fx
        out[(v * SIDE + u) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy)
      }
    }
  }
  return out
}
