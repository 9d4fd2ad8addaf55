/**
 * Pixels for the face models, with sharp: the image decoded once, upright (EXIF orientation applied) and as
 * 8-bit RGB (alpha dropped, greyscale and CMYK converted), then resized whole for the detector and cropped per
 * face for the embedder.
 */
import { Effect } from "effect"
import sharp from "sharp"
import { measure, undecodable } from "./Image.js"
import { type ImageTooLarge, ImageUndecodable, InferenceFailed } from "./Protocol.js"

/** An upright 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface Rgb {
  readonly data: Buffer
  readonly width: number
  readonly height: number
}

/** A face box in image pixels. */
export interface Box {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

const failed = (cause: unknown) =>
  new InferenceFailed({ message: `preparing face pixels failed: ${cause instanceof Error ? cause.message : String(cause)}` })

/**
 * Decodes `bytes` within `maxPixels`. The size is read from the header first, so a decompression bomb is
 * refused before a single pixel is decoded.
 */
export const decode = (bytes: Uint8Array, maxPixels: number): Effect.Effect<Rgb, ImageUndecodable | ImageTooLarge> =>
  Effect.gen(function*() {
    yield* measure(bytes, maxPixels, 0)
    const { data, info } = yield* Effect.tryPromise({
      // failOn "error": a truncated file is an error, not a half-grey picture that still "has" faces.
      try: () =>
        sharp(bytes, { limitInputPixels: maxPixels, failOn: "error" }).rotate().removeAlpha().toColourspace("srgb")
          .raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true }),
      catch: undecodable
    })
    if (info.channels !== 3) return yield* new ImageUndecodable({ message: `the image decoded to ${info.channels} channels, not RGB` })
    return { data, width: info.width, height: info.height }
  })

const raw = (image: Rgb) => sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })

/** Planar float32 [3, height, width] from interleaved RGB bytes, each value mapped by `norm(value, channel)`. */
const planar = (pixels: Uint8Array, width: number, height: number, norm: (value: number, channel: number) => number, flip = false) => {
  const plane = width * height
  const out = new Float32Array(3 * plane)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + (flip ? width - 1 - x : x)) * 3
      const to = y * width + x
      out[to] = norm(pixels[from]!, 0)
      out[plane + to] = norm(pixels[from + 1]!, 1)
      out[2 * plane + to] = norm(pixels[from + 2]!, 2)
    }
  }
  return out
}

/**
 * UltraFace's input: the whole image resized to exactly `width`x`height` (aspect ratio not kept: its boxes are
 * normalised per axis), `(v - 127) / 128`, NCHW.
 */
export const detectorInput = (image: Rgb, width: number, height: number): Effect.Effect<Float32Array, InferenceFailed> =>
  Effect.tryPromise({ try: () => raw(image).resize(width, height, { fit: "fill" }).raw().toBuffer(), catch: failed }).pipe(
    Effect.map((pixels) => planar(pixels, width, height, (v) => (v - 127) / 128))
  )

/** The side of the embedder's input. */
export const CROP = 112

/**
 * Where the embedder looks, relative to a detector box: a square of side `scale` × the box's longer side,
 * centred `shift` × the box's height above the box's centre.
 *
 * MobileFaceNet was trained on crops aligned to a template that puts the eyes at 46% and the mouth at 82% of
 * the height; UltraFace gives no landmarks, and its boxes run from forehead to chin. Measured on the shared
 * photos (`node bench/faces-similarity.mjs`; same person = three different photos of A), the box's own square
 * (shift 0) gives same-person cosines of 0.32–0.63 against up to 0.54 between different people (RFB-640
 * boxes); shifted up by 5% it gives 0.60–0.71 against at most 0.38 (RFB-320 boxes: 0.60–0.72 against 0.29).
 * Shifts of 0.05–0.075 do about as well; shifting down instead pulls in collar and suit, and different people
 * then score up to 0.75.
 */
export const CROP_RULE = { scale: 1, shift: 0.05 }

/** The square crop `CROP_RULE` gives for a box (it may extend past the image; the outside is black). */
export const cropRegion = (box: Box, rule = CROP_RULE) => {
  const side = Math.max(1, Math.round(Math.max(box.width, box.height) * rule.scale))
  const cx = box.x + box.width / 2
  const cy = box.y + box.height / 2 - rule.shift * box.height
  return { left: Math.round(cx - side / 2), top: Math.round(cy - side / 2), side }
}

/** The 112x112 RGB crop around a face, as interleaved bytes. */
export const faceCrop = (image: Rgb, box: Box, rule = CROP_RULE): Effect.Effect<Buffer, InferenceFailed> => {
  const { left, side, top } = cropRegion(box, rule)
  const l = Math.min(Math.max(0, left), image.width - 1)
  const t = Math.min(Math.max(0, top), image.height - 1)
  const r = Math.max(l + 1, Math.min(image.width, left + side))
  const b = Math.max(t + 1, Math.min(image.height, top + side))
  return Effect.tryPromise({
    try: () =>
      raw(image).extract({ left: l, top: t, width: r - l, height: b - t })
        .extend({ left: Math.max(0, l - left), top: Math.max(0, t - top), right: Math.max(0, left + side - r), bottom: Math.max(0, top + side - b), background: "black" })
        .resize(CROP, CROP, { fit: "fill" }).raw().toBuffer(),
    catch: failed
  })
}

const MEAN = [0.485, 0.456, 0.406]
const STD = [0.229, 0.224, 0.225]

/** MobileFaceNet's input from a crop: `(x/255 - mean) / std` per channel (ImageNet), NCHW, optionally mirrored. */
export const embedderInput = (crop: Uint8Array, flip: boolean): Float32Array =>
  planar(crop, CROP, CROP, (v, c) => (v / 255 - MEAN[c]!) / STD[c]!, flip)
