/**
 * The PDF renderer's thread: pdf.js (the legacy build, the one that runs on Node 20) with @napi-rs/canvas, in
 * a thread of its own beside each worker, because a page built to exhaust a renderer (millions of path
 * segments, forms nested thousands deep) cannot be cancelled from inside: only terminating the thread stops
 * it (see Pdf.ts). It answers one request at a time: a document's page count, or one page, as its text layer
 * when it has one and OCR is not forced, else as 8-bit grey pixels at the asked dpi.
 */
import { createCanvas } from "@napi-rs/canvas"
import { Effect, Either } from "effect"
import { createRequire } from "node:module"
import * as path from "node:path"
import { parentPort } from "node:worker_threads"
import { getDocument, type PDFDocumentProxy, type PDFPageProxy, Util } from "pdfjs-dist/legacy/build/pdf.mjs"
import type { RenderReply, RenderRequest, TextWord } from "./RenderProtocol.js"
import { formDepth, maxFormDepth } from "./PdfDepth.js"
import { selfTestPdf } from "./RenderSelfTest.js"

const assets = path.dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json"))

type Failure = Extract<RenderReply, { ok: false }>["error"]

const failure = (cause: unknown): Failure => {
  const name = cause instanceof Error ? cause.name : ""
  const message = cause instanceof Error ? cause.message : String(cause)
  if (name === "PasswordException") return { reason: "encrypted", message: "the PDF is encrypted with a password" }
  if (message.includes("call stack")) return { reason: "too-complex", message: `the PDF nests its objects too deeply to read (${message})` }
  return { reason: "malformed", message: `the PDF could not be read: ${message}` }
}

/** The one door to pdf.js's promises. */
const use = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: failure })

const open = (bytes: Uint8Array, maxPixels: number) =>
  Effect.acquireRelease(
    use(() =>
      getDocument({
        // A copy: pdf.js takes ownership of what it is given, and the caller's bytes may be shared.
        data: new Uint8Array(bytes),
        isEvalSupported: false,
        // Images larger than a page may be are dropped rather than decoded into gigabytes.
        maxImageSize: maxPixels,
        standardFontDataUrl: `${assets}/standard_fonts/`,
        cMapUrl: `${assets}/cmaps/`,
        // Without it JPEG 2000 images render blank, with only a warning.
        wasmUrl: `${assets}/wasm/`,
        iccUrl: `${assets}/iccs/`,
        verbosity: 0
      }).promise
    ),
    (document) => Effect.promise(() => document.destroy())
  )

/** A page carries text when its text layer has this many non-space characters. */
const textThreshold = 20

/**
 * The text layer as words with boxes in pixels at `scale`, and as lines of text. pdf.js gives runs of text
 * with their baseline's transform; a run's words share its width in proportion to their characters.
 */
const textLayer = (page: PDFPageProxy, scale: number) =>
  Effect.map(use(() => page.getTextContent()), (content) => {
    const viewport = page.getViewport({ scale })
    const words: Array<TextWord> = []
    let text = ""
    for (const item of content.items) {
      if (!("str" in item)) continue
      const [, , c, d, x, y] = Util.transform(viewport.transform, item.transform) as [number, number, number, number, number, number]
      const height = Math.hypot(c, d)
      const perChar = item.str.length === 0 ? 0 : (item.width * scale) / item.str.length
      for (const match of item.str.matchAll(/\S+/g)) {
        const x0 = x + match.index * perChar
        words.push({ text: match[0], bbox: { x0: Math.round(x0), y0: Math.round(y - height), x1: Math.round(x0 + match[0].length * perChar), y1: Math.round(y) } })
      }
      text += item.str + (item.hasEOL ? "\n" : "")
    }
    return { words, text: text.split("\n").map((line) => line.trimEnd()).join("\n").trim() + "\n" }
  })

/** Renders the page on white and keeps one grey byte per pixel: what tesseract reads, at a quarter of RGBA. */
const grey = (page: PDFPageProxy, scale: number, width: number, height: number) =>
  Effect.gen(function*() {
    const canvas = createCanvas(width, height)
    const context = canvas.getContext("2d")
    context.fillStyle = "#ffffff"
    context.fillRect(0, 0, width, height)
    const viewport = page.getViewport({ scale })
    // @napi-rs/canvas is what pdf.js itself draws on under Node, but its types are not the DOM's.
    yield* use(() => page.render({ canvas: canvas as unknown as Parameters<PDFPageProxy["render"]>[0]["canvas"], viewport }).promise)
    const rgba = context.getImageData(0, 0, width, height).data
    canvas.width = 0
    const pixels = new Uint8Array(width * height)
    for (let i = 0, j = 0; j < pixels.length; i += 4, j++) pixels[j] = (rgba[i]! * 299 + rgba[i + 1]! * 587 + rgba[i + 2]! * 114) / 1000
    return pixels
  })

const withPage = <A>(document: PDFDocumentProxy, n: number, f: (page: PDFPageProxy) => Effect.Effect<A, Failure>) =>
  Effect.acquireUseRelease(use(() => document.getPage(n)), f, (page) => Effect.sync(() => page.cleanup()))

const handle = (request: RenderRequest): Effect.Effect<Extract<RenderReply, { ok: true }>["value"], Failure> => {
  switch (request.op) {
    case "inspect":
      return Effect.scoped(Effect.gen(function*() {
        const document = yield* open(request.document, request.maxPixels)
        const depth = yield* formDepth(new Uint8Array(request.document))
        if (depth !== undefined && depth > maxFormDepth) {
          return yield* Effect.fail<Failure>({ reason: "too-complex", message: `the PDF nests forms more than ${maxFormDepth} deep` })
        }
        return { pages: document.numPages }
      }))
    case "page":
      return Effect.scoped(Effect.gen(function*() {
        const document = yield* open(request.document, request.maxPixels)
        if (request.page > document.numPages) return yield* Effect.fail<Failure>({ reason: "malformed", message: `the PDF has no page ${request.page} (it has ${document.numPages})` })
        return yield* withPage(document, request.page, (page) =>
          Effect.gen(function*() {
            const scale = request.dpi / 72
            const viewport = page.getViewport({ scale })
            // Points times scale lands a hair over a whole pixel more often than not (230.4 pt at 300 dpi).
            const width = Math.ceil(viewport.width - 1e-6)
            const height = Math.ceil(viewport.height - 1e-6)
            if (request.textLayer) {
              const layer = yield* textLayer(page, scale)
              if (layer.text.replace(/\s/g, "").length >= textThreshold) return { kind: "text" as const, width, height, ...layer }
            }
            if (width * height > request.maxPixels || width === 0 || height === 0) {
              return yield* Effect.fail<Failure>({ reason: "too-large", message: `page ${request.page} is ${width}x${height} pixels at ${request.dpi} dpi, over the limit of ${request.maxPixels} (INFERD_MAX_PIXELS)`, width, height })
            }
            return { kind: "image" as const, width, height, pixels: yield* grey(page, scale, width, height) }
          }))
      }))
    case "selftest":
      return selfTest
  }
}

/**
 * A text page and a JPEG 2000 page must render with ink on them: a broken install (standard fonts or the
 * JPEG 2000 decoder not found) renders them blank, with nothing but a warning.
 */
const selfTest = Effect.scoped(Effect.gen(function*() {
  const document = yield* open(selfTestPdf(), 1_000_000)
  for (const [n, what] of [[1, "a text page"], [2, "a JPEG 2000 page"]] as const) {
    const pixels = yield* withPage(document, n, (page) => grey(page, 1, 72, 72))
    if (!pixels.some((value) => value < 128)) return yield* Effect.fail<Failure>({ reason: "broken", message: `the PDF renderer draws ${what} blank: its install is broken` })
  }
  return { ok: true as const }
}))

parentPort?.on("message", (request: RenderRequest) => {
  Effect.runFork(Effect.either(handle(request)).pipe(Effect.map((result) => {
    const reply: RenderReply = Either.isRight(result) ? { id: request.id, ok: true, value: result.right } : { id: request.id, ok: false, error: result.left }
    const transfer = Either.isRight(result) && "pixels" in result.right ? [result.right.pixels.buffer as ArrayBuffer] : []
    parentPort?.postMessage(reply, transfer)
  })))
})
