/**
 * A searchable PDF out of the pages' own (pdf-lib): a PDF's pages are copied untouched, images, fonts and
 * text pages alike, and each OCR'd page gets tesseract's invisible text drawn over it, turned with the page's
 * `/Rotate` so that the words lie where the rendered page showed them; an image's pages are tesseract's
 * (the image with its text).
 */
import { Effect } from "effect"
import { degrees, PDFDocument, type PDFPage } from "pdf-lib"
import { DocumentUnreadable, type SearchablePdf } from "./Protocol.js"

const unreadable = (cause: unknown) => {
  const message = cause instanceof Error ? cause.message : String(cause)
  return new DocumentUnreadable(
    message.includes("encrypted")
      ? { reason: "encrypted", message: "a searchable copy of an encrypted PDF cannot be written" }
      : { reason: "malformed", message: `the searchable PDF could not be written: ${message}` }
  )
}

/** The one door to pdf-lib's promises. */
const use = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: unreadable })

/** Draws the text layer (sized as the page is seen) over the page as it is stored. */
const overlay = (page: PDFPage, layer: Uint8Array) =>
  Effect.gen(function*() {
    const [embedded] = yield* use(() => page.doc.embedPdf(layer, [0]))
    const { x, y, width, height } = page.getCropBox()
    const angle = ((page.getRotation().angle % 360) + 360) % 360
    const seen = angle === 90 || angle === 270 ? { width: height, height: width } : { width, height }
    const origin = angle === 90 ? { x: x + width, y } : angle === 180 ? { x: x + width, y: y + height } : angle === 270 ? { x, y: y + height } : { x, y }
    page.drawPage(embedded!, { ...origin, ...seen, rotate: degrees(angle) })
  })

export const assemble = (request: SearchablePdf) =>
  Effect.gen(function*() {
    if (request.document === undefined) {
      const out = yield* use(() => PDFDocument.create())
      for (const { pdf } of request.pages) {
        if (pdf === undefined) continue
        const source = yield* use(() => PDFDocument.load(pdf))
        const [page] = yield* use(() => out.copyPages(source, [0]))
        out.addPage(page!)
      }
      return { pdf: yield* use(() => out.save()) }
    }
    const document = request.document
    const out = yield* use(() => PDFDocument.load(new Uint8Array(document), { updateMetadata: false }))
    for (const { page, pdf } of request.pages) {
      if (pdf !== undefined) yield* overlay(out.getPage(page - 1), pdf)
    }
    return { pdf: yield* use(() => out.save()) }
  })
