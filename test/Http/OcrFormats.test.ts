/**
 * Every output format through the real server, each read back by a tool that reads it: an XML parser for hOCR,
 * Poppler's pdftotext for the searchable PDF, tesseract's TSV columns, plain text.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { DOMParser } from "@xmldom/xmldom"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makePdf } from "../support/pdfs.js"
import { awaitReady, testServer } from "../support/server.js"
import { skipping } from "../support/shared.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url)))

const ocr = (query: string, body: Uint8Array, contentType: string) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(HttpClientRequest.post(`/v1/ocr?${query}`).pipe(HttpClientRequest.bodyUint8Array(body, contentType)))
    const bytes = new Uint8Array(yield* response.arrayBuffer)
    return { status: response.status, contentType: response.headers["content-type"] ?? "", bytes, text: new TextDecoder().decode(bytes) }
  })

const hasPoppler = (() => {
  try {
    execFileSync("pdftotext", ["-v"], { stdio: "ignore" })
    return true
  } catch {
    return skipping("searchable PDF read back by pdftotext", "pdftotext (Debian's poppler-utils) is not installed")
  }
})()

/** pdftotext's reading of a PDF, one string per page. */
const pdftotext = (pdf: Uint8Array) => {
  const file = join(mkdtempSync(join(tmpdir(), "inferd-pdf-")), "out.pdf")
  writeFileSync(file, pdf)
  return execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" }).split("\f").slice(0, -1)
}

const tiff = fixture("three-pages.tif")

layer(testServer({ pool: { size: 2 } }), { timeout: 180_000, excludeTestServices: true })("OCR output formats", (it) => {
  it.effect("?format=text is the JSON answer's text, pages apart by form feeds", () =>
    Effect.gen(function*() {
      yield* awaitReady
      const text = yield* ocr("format=text", tiff, "image/tiff")
      assert.strictEqual(text.status, 200)
      assert.match(text.contentType, /^text\/plain/)
      const pages = text.text.split("\f")
      assert.lengthOf(pages, 3)
      assert.include(pages[0], "This is a lot of 12 point text")
      assert.strictEqual(pages[1]!.trim(), "Tesseract.js")
    }))

  it.effect("?format=hocr is one well-formed XHTML document with a numbered ocr_page per page", () =>
    Effect.gen(function*() {
      const hocr = yield* ocr("format=hocr", tiff, "image/tiff")
      assert.strictEqual(hocr.status, 200)
      assert.match(hocr.contentType, /^application\/xhtml\+xml/)
      const errors: Array<string> = []
      const document = new DOMParser({ onError: (level, message) => void errors.push(`${level}: ${message}`) }).parseFromString(hocr.text, "application/xhtml+xml")
      assert.deepStrictEqual(errors, [])
      const elements = Array.from(document.getElementsByTagName("*"))
      const pages = elements.filter((e) => e.getAttribute("class") === "ocr_page")
      assert.deepStrictEqual(pages.map((p) => p.getAttribute("id")), ["page_1", "page_2", "page_3"])
      assert.deepStrictEqual(pages.map((p) => /ppageno (\d+)/.exec(p.getAttribute("title") ?? "")?.[1]), ["0", "1", "2"])
      const words = elements.filter((e) => e.getAttribute("class") === "ocrx_word")
      assert.isTrue(words.some((w) => w.getAttribute("id")?.startsWith("word_2_") && w.textContent === "Tesseract.js"))
      assert.strictEqual(new Set(elements.map((e) => e.getAttribute("id")).filter((id) => id !== null)).size, elements.filter((e) => e.getAttribute("id") !== null).length)
    }))

  it.effect("?format=tsv has tesseract's header row and each page's rows under its own number", () =>
    Effect.gen(function*() {
      const tsv = yield* ocr("format=tsv", tiff, "image/tiff")
      assert.strictEqual(tsv.status, 200)
      const rows = tsv.text.trimEnd().split("\n").map((row) => row.split("\t"))
      assert.deepStrictEqual(rows[0], ["level", "page_num", "block_num", "par_num", "line_num", "word_num", "left", "top", "width", "height", "conf", "text"])
      assert.deepStrictEqual([...new Set(rows.slice(1).map((row) => row[1]))], ["1", "2", "3"])
      assert.isTrue(rows.some((row) => row[0] === "5" && row[1] === "2" && row[11] === "Tesseract.js"))
    }))

  it.effect.skipIf(!hasPoppler)("?format=pdf of a TIFF: one searchable page per page, which pdftotext reads", () =>
    Effect.gen(function*() {
      const pdf = yield* ocr("format=pdf", tiff, "image/tiff")
      assert.strictEqual(pdf.status, 200)
      assert.strictEqual(pdf.contentType, "application/pdf")
      const pages = pdftotext(pdf.bytes)
      assert.lengthOf(pages, 3)
      assert.include(pages[0]!.replace(/\s+/g, " "), "This is a lot of 12 point text")
      assert.include(pages[1], "Tesseract.js")
    }))

  it.effect.skipIf(!hasPoppler)("?format=pdf of a PDF keeps its pages and lays the OCR'd text over the scanned one", () =>
    Effect.gen(function*() {
      const input = yield* Effect.promise(() => makePdf([
        { kind: "png", image: fixture("testocr.png"), dpi: 150 },
        { kind: "text", lines: ["This page had its text already."] }
      ]))
      assert.deepStrictEqual(pdftotext(input).map((page) => page.trim()), ["", "This page had its text already."])
      const pdf = yield* ocr("format=pdf", input, "application/pdf")
      assert.strictEqual(pdf.status, 200, pdf.text.slice(0, 300))
      const pages = pdftotext(pdf.bytes)
      assert.lengthOf(pages, 2)
      assert.include(pages[0]!.replace(/\s+/g, " "), "This is a lot of 12 point text")
      assert.strictEqual(pages[1]!.trim(), "This page had its text already.")
    }))
})
