/**
 * Pixels for the face models, with sharp: the image decoded once, upright (EXIF orientation applied) and as
 * 8-bit RGB (alpha dropped, greyscale and CMYK converted); the embedder's input from an aligned face.
 */
import { Effect } from "effect"
import sharp from "sharp"
import { measure, undecodable } from "./Image.js"
import { SIDE } from "./FaceAlign.js"
import { type ImageTooLarge, ImageUndecodable } from "./Protocol.js"

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

const MEAN = [0.485, 0.456, 0.406]
const STD = [0.229, 0.224, 0.225]

/** MobileFaceNet's input from an aligned face: `(x/255 - mean) / std` per channel (ImageNet), NCHW, optionally mirrored. */
export const embedderInput = (face: Uint8Array, flip: boolean): Float32Array =>
  planar(face, SIDE, SIDE, (v, c) => (v / 255 - MEAN[c]!) / STD[c]!, flip)
