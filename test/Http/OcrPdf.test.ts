/**
 * PDFs through the real server, pool, renderer thread and tesseract: scanned pages OCR'd and text pages answered
 * from their text layer, in order; languages; every output format read back by a tool that reads it; bad and
 * hostile PDFs answered with typed errors while the daemon goes on.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import { ocrAnswer } from "../support/client.js"
import { awaitReady, post, testServer } from "../support/server.js"
import { bombs, makePdf } from "../support/pdfs.js"
import * as shared from "../support/shared.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url)))

const wordsOf = (text: string) => text.toLowerCase().split(/[^\p{L}\p{N}']+/u).filter((word) => word !== "")

/** The share of the truth's words found in what was read, each as often as the truth has it. */
const recall = (read: string, truth: string) => {
  const left = new Map<string, number>()
  for (const word of wordsOf(read)) left.set(word, (left.get(word) ?? 0) + 1)
  const expected = wordsOf(truth)
  const found = expected.filter((word) => {
    const n = left.get(word) ?? 0
    if (n > 0) left.set(word, n - 1)
    return n > 0
  })
  return found.length / expected.length
}

// Rendering a page may take 10 s here (a busy machine takes over 5 s for the 6-megapixel scan), so that the page
// that never ends is cut short sooner than by default.
layer(testServer({ pool: { size: 2, settings: WorkerSettings.forTests({ pageTimeoutMs: 10_000 }) } }), { timeout: 180_000, excludeTestServices: true })("OCR of PDFs", (it) => {
  it.effect("a PDF of a scanned page, a text page and another scan: every page in order, each with its source", () =>
    Effect.gen(function*() {
      yield* awaitReady
      const pdf = yield* Effect.promise(() => makePdf([
        { kind: "png", image: fixture("testocr.png"), dpi: 150 },
        { kind: "text", lines: ["A born-digital page of the document.", "It carries its own text layer, read without OCR."] },
        { kind: "png", image: fixture("simple.png"), dpi: 150 }
      ]))
      const body = yield* Effect.flatMap(post("/v1/ocr", pdf, "application/pdf"), ocrAnswer)
      const pages = body.pages
      assert.deepStrictEqual(pages.map((p) => [p.page, p.source]), [[1, "ocr"], [2, "text"], [3, "ocr"]])
      assert.include(pages[0]!.text, "This is a lot of 12 point text to test the")
      assert.strictEqual(pages[1]!.text, "A born-digital page of the document.\nIt carries its own text layer, read without OCR.\n")
      assert.strictEqual(pages[2]!.text.trim(), "Tesseract.js")
      // The scan of 640x480 pixels at 150 dpi, rendered at 300 dpi.
      assert.deepStrictEqual([pages[0]!.width, pages[0]!.height], [1280, 960])
    }))

  it.effect.skipIf(!shared.has("scanned pages with ground truth", "data/images/ocr/meditations.jpg", "data/images/ocr/meditations.gt.txt", "data/manifest.json"))(
    "scans of a book page and a test page around a text page: every page in order, and each scan's word recall",
    () =>
      Effect.gen(function*() {
        const manifest = JSON.parse(readFileSync(shared.file("data/manifest.json"), "utf8")) as { entries: ReadonlyArray<{ file: string; ground_truth: { text?: string } }> }
        const truths = [
          readFileSync(shared.file("data/images/ocr/meditations.gt.txt"), "utf8"),
          manifest.entries.find((entry) => entry.file === "images/ocr/testocr.png")!.ground_truth.text!
        ]
        const pdf = yield* Effect.promise(() => makePdf([
          { kind: "jpeg", image: new Uint8Array(readFileSync(shared.file("data/images/ocr/meditations.jpg"))), dpi: 300 },
          { kind: "text", lines: ["Between the scans, a page of born-digital text."] },
          { kind: "png", image: fixture("testocr.png"), dpi: 150 }
        ]))
        const body = yield* Effect.flatMap(post("/v1/ocr", pdf, "application/pdf"), ocrAnswer)
        const pages = body.pages
        assert.deepStrictEqual(pages.map((p) => [p.page, p.source]), [[1, "ocr"], [2, "text"], [3, "ocr"]])
        assert.strictEqual(pages[1]!.text, "Between the scans, a page of born-digital text.\n")
        const recalls = [recall(pages[0]!.text, truths[0]!), recall(pages[2]!.text, truths[1]!)]
        yield* Effect.log(`word recall of the scanned pages: meditations.jpg ${recalls[0]!.toFixed(3)}, testocr.png ${recalls[1]!.toFixed(3)}`)
        for (const value of recalls) assert.isAtLeast(value, 0.9)
      })
  )

  it.effect("?ocr=force OCRs a text page too", () =>
    Effect.gen(function*() {
      const pdf = yield* Effect.promise(() => makePdf([{ kind: "text", lines: ["Forced to read this line by OCR."] }]))
      const body = yield* Effect.flatMap(post("/v1/ocr?ocr=force&dpi=150", pdf, "application/pdf"), ocrAnswer)
      const [page] = body.pages
      assert.deepStrictEqual([page!.source, page!.width, page!.height], ["ocr", 1240, 1755])
      assert.include(page!.text, "Forced to read this line by OCR.")
    }))

  const hostile: ReadonlyArray<readonly [string, () => Uint8Array, number, string, string | undefined]> = [
    ["an encrypted PDF", bombs.encrypted, 422, "DocumentUnreadable", "encrypted"],
    ["garbage after a PDF header", bombs.garbage, 422, "DocumentUnreadable", "malformed"],
    ["a page of absurd size", bombs.hugePage, 413, "ImageTooLarge", undefined],
    ["201 pages, over INFERD_MAX_PAGES", bombs.manyPages, 413, "TooManyPages", undefined],
    ["arrays nested 100 000 deep", bombs.deepArrays, 422, "DocumentUnreadable", "too-complex"],
    ["forms nested 20 000 deep (pdf.js would recurse for seconds)", bombs.deepForms, 422, "DocumentUnreadable", "too-complex"]
  ]
  for (const [what, make, status, tag, reason] of hostile) {
    it.effect(`${what}: ${status} ${tag}, and the daemon reads the next page`, () =>
      Effect.gen(function*() {
        const response = yield* post("/v1/ocr", make(), "application/pdf")
        assert.strictEqual(response.status, status, JSON.stringify(response.body))
        assert.strictEqual(response.body._tag, tag)
        if (reason !== undefined) assert.strictEqual(response.body.reason, reason)
        const next = yield* post("/v1/ocr", fixture("simple.png"), "image/png")
        assert.strictEqual(next.status, 200)
      }))
  }
})
