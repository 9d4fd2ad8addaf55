/**
 * PDFs through the real server, pool, renderer thread and tesseract: scanned pages OCR'd and text pages answered
 * from their text layer, in order; languages; every output format read back by a tool that reads it; bad and
 * hostile PDFs answered with typed errors while the daemon goes on.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import * as WorkerSettings from "../../src/Layers/WorkerSettings.js"
import { awaitReady, post, send, testServer } from "../support/server.js"
import { bombs, makePdf } from "../support/pdfs.js"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url)))

interface Page { readonly page: number; readonly source: string; readonly text: string; readonly width: number; readonly height: number }

const raw = (path: string, body: Uint8Array, contentType: string) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyUint8Array(body, contentType)))
    return { status: response.status, contentType: response.headers["content-type"] ?? "", bytes: new Uint8Array(yield* response.arrayBuffer) }
  })

// Rendering a page may take 2 s here, so that the page that never ends is cut short sooner than by default.
layer(testServer({ pool: { size: 2, settings: WorkerSettings.forTests({ pageTimeoutMs: 2000 }) } }), { timeout: 180_000, excludeTestServices: true })("OCR of PDFs", (it) => {
  it.effect("a PDF of a scanned page, a text page and another scan: every page in order, each with its source", () =>
    Effect.gen(function*() {
      yield* awaitReady
      const pdf = yield* Effect.promise(() => makePdf([
        { kind: "png", image: fixture("testocr.png"), dpi: 150 },
        { kind: "text", lines: ["A born-digital page of the document.", "It carries its own text layer, read without OCR."] },
        { kind: "png", image: fixture("simple.png"), dpi: 150 }
      ]))
      const { status, body } = yield* post("/v1/ocr", pdf, "application/pdf")
      assert.strictEqual(status, 200, JSON.stringify(body))
      const pages = body.pages as ReadonlyArray<Page>
      assert.deepStrictEqual(pages.map((p) => [p.page, p.source]), [[1, "ocr"], [2, "text"], [3, "ocr"]])
      assert.include(pages[0]!.text, "This is a lot of 12 point text to test the")
      assert.strictEqual(pages[1]!.text, "A born-digital page of the document.\nIt carries its own text layer, read without OCR.\n")
      assert.strictEqual(pages[2]!.text.trim(), "Tesseract.js")
      // The scan of 640x480 pixels at 150 dpi, rendered at 300 dpi.
      assert.deepStrictEqual([pages[0]!.width, pages[0]!.height], [1280, 960])
    }))

  it.effect("?ocr=force OCRs a text page too", () =>
    Effect.gen(function*() {
      const pdf = yield* Effect.promise(() => makePdf([{ kind: "text", lines: ["Forced to read this line by OCR."] }]))
      const { status, body } = yield* post("/v1/ocr?ocr=force&dpi=150", pdf, "application/pdf")
      assert.strictEqual(status, 200, JSON.stringify(body))
      const [page] = body.pages as ReadonlyArray<Page>
      assert.deepStrictEqual([page!.source, page!.width, page!.height], ["ocr", 1240, 1755])
      assert.include(page!.text, "Forced to read this line by OCR.")
    }))

  const hostile: ReadonlyArray<readonly [string, () => Uint8Array, number, string, string | undefined]> = [
    ["an encrypted PDF", bombs.encrypted, 422, "DocumentUnreadable", "encrypted"],
    ["garbage after a PDF header", bombs.garbage, 422, "DocumentUnreadable", "malformed"],
    ["a page of absurd size", bombs.hugePage, 413, "ImageTooLarge", undefined],
    ["arrays nested 100 000 deep", bombs.deepArrays, 422, "DocumentUnreadable", "too-complex"],
    ["forms nested 20 000 deep (rendering never ends)", bombs.deepForms, 422, "DocumentUnreadable", "too-complex"]
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
