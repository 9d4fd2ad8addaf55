/**
 * The inbox over a real pool: every page of a multi-page TIFF and of a PDF lands in one result, as JSON or in
 * the format `INFERD_INBOX_FORMAT` asks for.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Inbox from "../../src/Fibers/Inbox.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import { defaultOcrOptions } from "../../src/Workers/Protocol.js"
import { makePdf } from "../support/pdfs.js"
import { poolOptions } from "../support/pool.js"

const fixture = (name: string) => new Uint8Array(NodeFs.readFileSync(new URL(`../fixtures/images/${name}`, import.meta.url)))

/** Writes a file whose mtime is a minute old, so it counts as finished. */
const drop = (dir: string, name: string, content: Uint8Array) => {
  const file = NodePath.join(dir, name)
  NodeFs.writeFileSync(file, content)
  const past = new Date(Date.now() - 60_000)
  NodeFs.utimesSync(file, past, past)
}

const Pool = Layer.scoped(WorkerPool.WorkerPool, WorkerPool.make(poolOptions({ size: 2 })))

describe("Inbox with documents (real pool)", () => {
  it.live("a three-page TIFF and a PDF of a scan and a text page: every page, as JSON and as text", () =>
    Effect.gen(function*() {
      const pdf = yield* Effect.promise(() => makePdf([
        { kind: "png", image: fixture("simple.png"), dpi: 150 },
        { kind: "text", lines: ["The second page is text already."] }
      ]))
      const json = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "inferd-inbox-docs-"))
      drop(json, "three-pages.tif", fixture("three-pages.tif"))
      drop(json, "mixed.pdf", pdf)
      const asJson = yield* Inbox.makeScanner({ dir: json })
      const report = yield* asJson.scanOnce
      assert.deepStrictEqual(report.map((r) => [r.file, r.outcome]).sort(), [["mixed.pdf", "done"], ["three-pages.tif", "done"]])
      const tiff = JSON.parse(NodeFs.readFileSync(NodePath.join(json, "outbox", "three-pages.tif.json"), "utf8")) as Inbox.InboxResult
      assert.deepStrictEqual(tiff.pages.map((p) => p.page), [1, 2, 3])
      assert.strictEqual(tiff.pages[1]!.text.trim(), "Tesseract.js")
      const mixed = JSON.parse(NodeFs.readFileSync(NodePath.join(json, "outbox", "mixed.pdf.json"), "utf8")) as Inbox.InboxResult
      assert.deepStrictEqual(mixed.pages.map((p) => [p.page, p.source]), [[1, "ocr"], [2, "text"]])

      const text = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "inferd-inbox-docs-"))
      drop(text, "mixed.pdf", pdf)
      const asText = yield* Inbox.makeScanner({ dir: text, ocr: { ...defaultOcrOptions, format: "text" } })
      yield* asText.scanOnce
      const pages = NodeFs.readFileSync(NodePath.join(text, "outbox", "mixed.pdf.txt"), "utf8").split("\f")
      assert.deepStrictEqual(pages.map((page) => page.trim()), ["Tesseract.js", "The second page is text already."])
    }).pipe(Effect.provide(Layer.merge(Pool, NodeContext.layer))), 120_000)
})
