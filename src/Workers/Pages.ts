/**
 * One page of an image or a PDF, read as the options say: a PDF page that carries text answers from its text
 * layer unless OCR is forced; any other page is OCR'd, a PDF page after rendering it at the asked dpi. The
 * hOCR, TSV or PDF the format asks for comes with it, numbered as the page it is.
 */
import { Context, Effect, Layer } from "effect"
import { isPdf } from "./DocumentKind.js"
import { measure, pageCount, readableAsIs, toPng } from "./Image.js"
import { renumberHocr, renumberTsv, textLayerHocr, textLayerTsv } from "./Layout.js"
import { OcrEngine, type Recognition } from "./Ocr.js"
import { PdfRenderer } from "./Pdf.js"
import { defaultOcrOptions, type DocumentUnreadable, type ImageTooLarge, type ImageUndecodable, type InferenceFailed, type OcrOptions, type PageReading, type WorkerSettings } from "./Protocol.js"
import type { Rendered } from "./RenderProtocol.js"

/** A portable greymap: the rendered page as leptonica reads it without decoding (a PNG took 3x longer to make). */
const pgm = (pixels: Uint8Array, width: number, height: number) => {
  const header = new TextEncoder().encode(`P5\n${width} ${height}\n255\n`)
  const file = new Uint8Array(header.byteLength + pixels.byteLength)
  file.set(header)
  file.set(pixels, header.byteLength)
  return file
}

type PageFailure = ImageUndecodable | ImageTooLarge | DocumentUnreadable | InferenceFailed

export interface PageReaderService {
  readonly read: (image: Uint8Array, page?: number, options?: OcrOptions) => Effect.Effect<PageReading, PageFailure>
  readonly pages: (document: Uint8Array) => Effect.Effect<{ readonly pages: number }, PageFailure>
}

export class PageReader extends Context.Tag("inferd/PageReader")<PageReader, PageReaderService>() {}

const now = Effect.clockWith((clock) => clock.currentTimeMillis)

export const make = (settings: WorkerSettings) =>
  Effect.gen(function*() {
    const engine = yield* OcrEngine
    const renderer = yield* PdfRenderer

    const recognition = (options: OcrOptions, dpi: number | undefined, pdf: Recognition["pdf"]): Recognition => ({
      lang: options.lang,
      psm: options.psm,
      dpi,
      hocr: options.format === "hocr",
      pdf: options.format === "pdf" ? pdf : undefined
    })

    const ocrImage = (image: Uint8Array, page: number, options: OcrOptions) =>
      Effect.gen(function*() {
        // sharp counts pages from 0.
        const header = yield* measure(image, settings.maxPixels, page - 1)
        // The file's resolution sizes tesseract's PDF page; where it has none that tesseract takes, the option's.
        const dpi = options.format !== "pdf" ? undefined : header.density !== undefined && header.density >= 70 ? Math.round(header.density) : options.dpi
        const read = (bytes: Uint8Array) => engine.recognize(bytes, recognition(options, dpi, "page"))
        const viaPng = Effect.flatMap(toPng(image, settings.maxPixels, page - 1), read)
        // What leptonica refuses to read as it is takes the PNG path, where a broken file gets its typed error.
        const recognized = yield* readableAsIs(image, header) ? Effect.orElse(read(image), () => viaPng) : viaPng
        return { ...recognized, width: header.width, height: header.height }
      })

    const fromTextLayer = (rendered: Extract<Rendered, { kind: "text" }>, page: number, format: OcrOptions["format"]) => ({
      source: "text" as const,
      text: rendered.text,
      confidence: 100,
      words: rendered.words.map((word) => ({ ...word, confidence: 100 })),
      width: rendered.width,
      height: rendered.height,
      hocr: format === "hocr" ? textLayerHocr(rendered.words, page, rendered.width, rendered.height) : undefined,
      tsv: format === "tsv" ? textLayerTsv(rendered.words, page, rendered.width, rendered.height) : undefined,
      pdf: undefined
    })

    const pdfPage = (document: Uint8Array, page: number, options: OcrOptions) =>
      Effect.gen(function*() {
        const rendered = yield* renderer.page(document, page, options.dpi, options.ocr === "auto")
        if (rendered.kind === "text") return fromTextLayer(rendered, page, options.format)
        const recognized = yield* engine.recognize(pgm(rendered.pixels, rendered.width, rendered.height), recognition(options, options.dpi, "textOnly"))
        return { ...recognized, width: rendered.width, height: rendered.height }
      })

    const read = (image: Uint8Array, page = 1, options: OcrOptions = defaultOcrOptions) =>
      Effect.gen(function*() {
        const start = yield* now
        const read = isPdf(image) ? yield* pdfPage(image, page, options) : yield* ocrImage(image, page, options)
        const reading: PageReading = {
          page,
          source: "source" in read ? read.source : "ocr",
          text: read.text,
          confidence: read.confidence,
          words: read.words,
          width: read.width,
          height: read.height,
          durationMs: (yield* now) - start,
          ...(options.format === "hocr" && read.hocr !== undefined ? { hocr: "source" in read ? read.hocr : renumberHocr(read.hocr, page) } : {}),
          ...(options.format === "tsv" && read.tsv !== undefined ? { tsv: "source" in read ? read.tsv : renumberTsv(read.tsv, page) } : {}),
          ...(read.pdf === undefined ? {} : { pdf: read.pdf })
        }
        return reading
      })

    const pages = (document: Uint8Array) => isPdf(document) ? Effect.map(renderer.pages(document), (pages) => ({ pages })) : pageCount(document)

    return PageReader.of({ read, pages })
  })

export const layer = (settings: WorkerSettings) => Layer.effect(PageReader, make(settings))
