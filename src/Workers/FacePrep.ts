/**
 * Pixels for the face models, with sharp: the image decoded once, upright (EXIF orientation applied) and as
 * 8-bit RGB (alpha dropped, greyscale and CMYK converted).
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
