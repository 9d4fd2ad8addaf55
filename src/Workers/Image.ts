/**
 * Images as the worker reads them: sniff and bound from the header, then either hand tesseract.js (leptonica)
 * the upload as it is, when it can read it so, or decode and re-encode it as a lossless PNG, upright, so it
 * sees one well-formed format whatever arrived, with EXIF orientation applied.
 */
import { Effect } from "effect"
import sharp from "sharp"
import { ImageTooLarge, ImageUndecodable } from "./Protocol.js"

// libvips runs its own thread pool; one worker thread should use one CPU, and caching decoded
// images across requests only costs memory here.
sharp.concurrency(1)
sharp.cache(false)

/** Any decoder failure, as the typed error clients get. */
export const undecodable = (cause: unknown) =>
  new ImageUndecodable({ message: `the image could not be decoded: ${cause instanceof Error ? cause.message : String(cause)}` })

/** What the header says, before any pixel is decoded: the page's upright size and how it is stored. */
export interface Header {
  readonly width: number
  readonly height: number
  /** Pages in the document (multi-page TIFF, animated GIF/WebP); the size is page `page`'s. */
  readonly pages: number
  readonly format: string
  readonly channels: number
  /** EXIF orientation, 1 (or absent) when the pixels are stored upright. */
  readonly orientation: number
  /** Pixels per inch, where the file says. */
  readonly density: number | undefined
}

/**
 * Header-only read of a page's upright size: cheap, and rejects a decompression bomb (or an image with no
 * pixels) before a single pixel is decoded.
 */
export const measure = (bytes: Uint8Array, maxPixels: number, page: number) =>
  Effect.tryPromise({ try: () => sharp(bytes, { limitInputPixels: false, page }).metadata(), catch: undecodable }).pipe(
    Effect.flatMap((metadata): Effect.Effect<Header, ImageUndecodable | ImageTooLarge> => {
      const { width, height, autoOrient, pages = 1 } = metadata
      const w = autoOrient?.width ?? width ?? 0
      const h = autoOrient?.height ?? height ?? 0
      if (page >= pages) return Effect.fail(new ImageUndecodable({ message: `the document has no page ${page + 1} (it has ${pages})` }))
      if (w <= 0 || h <= 0) return Effect.fail(new ImageUndecodable({ message: `the image has no pixels (${w}x${h})` }))
      if (w * h > maxPixels) {
        return Effect.fail(new ImageTooLarge({
          message: `the image is ${w}x${h} = ${w * h} pixels, over the limit of ${maxPixels} (INFERD_MAX_PIXELS)`,
          width: w,
          height: h,
          maxPixels
        }))
      }
      return Effect.succeed({ width: w, height: h, pages, format: metadata.format, channels: metadata.channels ?? 0, orientation: metadata.orientation ?? 1, density: metadata.density })
    })
  )

/** Pages in a document (a multi-page TIFF), from its header alone. */
export const pageCount = (bytes: Uint8Array) =>
  Effect.tryPromise({ try: () => sharp(bytes, { limitInputPixels: false }).metadata(), catch: undecodable }).pipe(
    Effect.map((metadata) => ({ pages: metadata.pages ?? 1 }))
  )

const IEND = [0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]

/** The file ends with its format's end marker: a truncated upload does not. */
const complete = (bytes: Uint8Array, format: string) => {
  const tail = (marker: ReadonlyArray<number>) => marker.every((b, i) => bytes[bytes.length - marker.length + i] === b)
  return format === "png" ? tail(IEND) : format === "jpeg" ? tail([0xff, 0xd9]) : false
}

/**
 * Whether leptonica can read the upload as it is: a complete, upright, single-page PNG (the same pixels our
 * PNG of it would hold), or a grey or RGB JPEG (decoded by leptonica's libjpeg rather than libvips'). That
 * skips a decode and an encode here, about 3% of OCR throughput with 2 workers. Everything else (EXIF
 * rotation, pages, CMYK, other formats) goes through `toPng`.
 */
export const readableAsIs = (bytes: Uint8Array, header: Header) =>
  header.pages === 1 && header.orientation === 1 &&
  (header.format === "png" || (header.format === "jpeg" && (header.channels === 1 || header.channels === 3))) &&
  complete(bytes, header.format)

/** One page of an image, upright, as a lossless PNG, within the pixel limit (measure it first). */
export const toPng = (bytes: Uint8Array, maxPixels: number, page: number): Effect.Effect<Buffer, ImageUndecodable> =>
  Effect.tryPromise({
    // failOn "error": a truncated or corrupt file is an error, not a half-grey picture.
    try: () => sharp(bytes, { limitInputPixels: maxPixels, failOn: "error", page }).rotate().png({ compressionLevel: 1 }).toBuffer(),
    catch: undecodable
  })
