/**
 * A PDF page that takes its renderer past INFERD_PDF_PAGE_TIMEOUT (two million path segments, seconds of work
 * that pdf.js cannot cancel): the renderer thread is terminated, the answer is a typed 422, and the next PDF is
 * rendered by a fresh thread.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import { bombs, textPagePdf } from "../support/pdfs.js"
import { awaitReady, post, testServer } from "../support/server.js"

// A deadline far below what the path bomb takes (3 s and more here), far above what a text page does.
layer(testServer({ pool: { size: 1, settings: WorkerSettings.forTests({ pageTimeoutMs: 1500 }) } }), { timeout: 120_000, excludeTestServices: true })("PDF page deadline", (it) => {
  it.effect("a page that overruns the deadline is a 422 too-complex, and the next PDF reads", () =>
    Effect.gen(function*() {
      yield* awaitReady
      const first = yield* post("/v1/ocr", textPagePdf("Read before the bomb, to start the renderer."), "application/pdf")
      assert.strictEqual(first.status, 200, JSON.stringify(first.body))
      const bomb = yield* post("/v1/ocr", bombs.paths(), "application/pdf")
      assert.strictEqual(bomb.status, 422, JSON.stringify(bomb.body))
      assert.deepInclude(bomb.body, { _tag: "DocumentUnreadable", reason: "too-complex", message: "the PDF took over 1500 ms to render (INFERD_PDF_PAGE_TIMEOUT)" })
      const next = yield* post("/v1/ocr", textPagePdf("Read after the bomb, by a fresh renderer thread."), "application/pdf")
      assert.strictEqual(next.status, 200, JSON.stringify(next.body))
      assert.strictEqual(next.body.text, "Read after the bomb, by a fresh renderer thread.\n")
    }))
})
