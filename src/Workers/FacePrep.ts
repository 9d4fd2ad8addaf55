/**
 * Pixels for the face models, with sharp: the image upright (EXIF orientation applied) as 8-bit RGB (alpha
 * dropped, greyscale and CMYK converted), scaled for the detector, and whole when faces are embedded.
 */
import { Effect } from "effect"
import sharp from "sharp"
import { measure, undecodable } from "./Image.js"
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

// failOn "error": a truncated file is an error, not a half-grey picture that still "has" faces.
const upright = (bytes: Uint8Array, maxPixels: number) =>
  sharp(bytes, { limitInputPixels: maxPixels, failOn: "error" }).rotate().removeAlpha().toColourspace("srgb")

const rgb = (pipeline: sharp.Sharp): Effect.Effect<Rgb, ImageUndecodable> =>
  Effect.tryPromise({ try: () => pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true }), catch: undecodable }).pipe(
    Effect.filterOrFail(
      ({ info }) => info.channels === 3,
      ({ info }) => new ImageUndecodable({ message: `the image decoded to ${info.channels} channels, not RGB` })
    ),
    Effect.map(({ data, info }) => ({ data, width: info.width, height: info.height }))
  )

/** The size of an image scaled so its longer side is `longer` pixels, aspect kept. */
export const scaledSize = (width: number, height: number, longer: number) => {
  const k = longer / Math.max(width, height)
  return { width: Math.max(1, Math.round(width * k)), height: Math.max(1, Math.round(height * k)) }
}

// Resampled from the full decode, never from a JPEG shrunk on load: an image must give the detector the same
// pixels whether or not its faces are also embedded. Linear, as OpenCV's own YuNet samples resize (lanczos3
// cost a fifth more here and found the same faces).
const fill = (size: { readonly width: number; readonly height: number }) => ({ ...size, fit: "fill", kernel: "linear", fastShrinkOnLoad: false }) as const

/**
 * Decodes `bytes` within `maxPixels`, whole. The size is read from the header first, so a decompression bomb
 * is refused before a single pixel is decoded.
 */
export const decode = (bytes: Uint8Array, maxPixels: number): Effect.Effect<Rgb, ImageUndecodable | ImageTooLarge> =>
  Effect.zipRight(measure(bytes, maxPixels, 0), rgb(upright(bytes, maxPixels)))

/**
 * Decodes `bytes` within `maxPixels` straight to the size whose longer side is `longer`, in one pass (no
 * full-size copy), with the upright size of the original.
 */
export const decodeScaled = (bytes: Uint8Array, maxPixels: number, longer: number) =>
  Effect.gen(function*() {
    const header = yield* measure(bytes, maxPixels, 0)
    const scaled = yield* rgb(upright(bytes, maxPixels).resize(fill(scaledSize(header.width, header.height, longer))))
    return { scaled, width: header.width, height: header.height }
  })

/** A decoded image scaled so its longer side is `longer`, resampled as `decodeScaled` does. */
export const scale = (image: Rgb, longer: number): Effect.Effect<Rgb, ImageUndecodable> =>
  rgb(sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(fill(scaledSize(image.width, image.height, longer))))
