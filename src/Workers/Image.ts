/**
 * Image normalisation inside the worker: sniff, bound, decode and re-encode as a lossless PNG upright,
 * so tesseract.js (leptonica) sees one well-formed format whatever arrived, with EXIF orientation applied.
 */
import { Effect } from "effect"
import sharp from "sharp"
import { ImageTooLarge, ImageUndecodable } from "./Protocol.js"

// libvips runs its own thread pool; one worker thread should use one CPU, and caching decoded
// images across requests only costs memory here.
sharp.concurrency(1)
sharp.cache(false)

export interface NormalisedImage {
  readonly png: Buffer
  readonly width: number
  readonly height: number
  /** Pages in the document (multi-page TIFF, animated GIF/WebP); `png` is page `page` of them. */
  readonly pages: number
}

/** Any decoder failure, as the typed error clients get. */
export const undecodable = (cause: unknown) =>
  new ImageUndecodable({ message: `the image could not be decoded: ${cause instanceof Error ? cause.message : String(cause)}` })

/**
 * Header-only read of a page's upright size: cheap, and rejects a decompression bomb (or an image with no
 * pixels) before a single pixel is decoded.
 */
export const measure = (bytes: Uint8Array, maxPixels: number, page: number) =>
  Effect.tryPromise({ try: () => sharp(bytes, { limitInputPixels: false, page }).metadata(), catch: undecodable }).pipe(
    Effect.flatMap(({ width, height, autoOrient, pages }): Effect.Effect<{ width: number; height: number; pages: number }, ImageUndecodable | ImageTooLarge> => {
      const w = autoOrient?.width ?? width ?? 0
      const h = autoOrient?.height ?? height ?? 0
      if (page >= (pages ?? 1)) return Effect.fail(new ImageUndecodable({ message: `the document has no page ${page} (it has ${pages ?? 1})` }))
      if (w <= 0 || h <= 0) return Effect.fail(new ImageUndecodable({ message: `the image has no pixels (${w}x${h})` }))
      if (w * h > maxPixels) {
        return Effect.fail(new ImageTooLarge({
          message: `the image is ${w}x${h} = ${w * h} pixels, over the limit of ${maxPixels} (INFERD_MAX_PIXELS)`,
          width: w,
          height: h,
          maxPixels
        }))
      }
      return Effect.succeed({ width: w, height: h, pages: pages ?? 1 })
    })
  )

/** One page (default the first) of an image, upright, as PNG, within the pixel limit. */
export const normalise = (bytes: Uint8Array, maxPixels: number, page = 0): Effect.Effect<NormalisedImage, ImageUndecodable | ImageTooLarge> =>
  Effect.gen(function*() {
    const size = yield* measure(bytes, maxPixels, page)
    const png = yield* Effect.tryPromise({
      // failOn "error": a truncated or corrupt file is an error, not a half-grey picture.
      try: () => sharp(bytes, { limitInputPixels: maxPixels, failOn: "error", page }).rotate().png({ compressionLevel: 1 }).toBuffer(),
      catch: undecodable
    })
    return { png, ...size }
  })
