/**
 * The inbox with real files and a real worker pool: what it reads, what it refuses into failed/ and why, and a
 * real PNG arriving in two halves, which must be read whole and never failed.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Inbox from "../../src/Fibers/Inbox.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import { poolOptions } from "../support/pool.js"

const fixture = (path: string) => new URL(`../fixtures/${path}`, import.meta.url).pathname
const Pool = Layer.scoped(WorkerPool.WorkerPool, WorkerPool.make(poolOptions()))

/** Backdates a file, as if its writer had finished a minute ago. */
const settle = (file: string) => utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000))
const failure = (dir: string, name: string) =>
  Schema.decodeUnknownSync(Inbox.InboxFailure)(JSON.parse(readFileSync(join(dir, "failed", `${name}.error.json`), "utf8")))

layer(Layer.merge(Pool, NodeContext.layer), { timeout: 120_000, excludeTestServices: true })("Inbox (real files, real pool)", (it) => {
  it.effect("OCRs images, refuses other files into failed/ with the reason, and waits for a half-copied PNG", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "inferd-inbox-files-"))
      const png = readFileSync(fixture("images/testocr.png"))
      copyFileSync(fixture("images/simple.png"), join(dir, "simple.png"))
      copyFileSync(fixture("audio/robin_whistle.ogg"), join(dir, "robin.ogg"))
      copyFileSync(fixture("audio/vad-4-segment-test_16k.wav"), join(dir, "speech-not-a-scan.png"))
      writeFileSync(join(dir, "notes.txt"), "not a scan\n")
      for (const name of readdirSync(dir)) settle(join(dir, name))
      // A copy under way: half the PNG, written just now.
      writeFileSync(join(dir, "page.png"), png.subarray(0, png.length >> 1))
      const { scanOnce } = yield* Inbox.makeScanner({ dir })
      const outcomes = Effect.map(scanOnce, (reports) => Object.fromEntries(reports.map((r) => [r.file, r.outcome])))

      assert.deepStrictEqual(yield* outcomes, {
        "simple.png": "done", "robin.ogg": "failed", "speech-not-a-scan.png": "failed", "notes.txt": "failed", "page.png": "settling"
      })
      assert.strictEqual(JSON.parse(readFileSync(join(dir, "outbox", "simple.png.json"), "utf8")).text.trim(), "Tesseract.js")
      assert.deepInclude(failure(dir, "robin.ogg"), { _tag: "UnsupportedMediaType", file: "robin.ogg" })
      assert.include(failure(dir, "robin.ogg").message, "is audio")
      assert.deepInclude(failure(dir, "notes.txt"), { _tag: "UnsupportedMediaType" })
      // Named as an image, but a WAV inside: the worker's own check refuses it.
      assert.deepInclude(failure(dir, "speech-not-a-scan.png"), { _tag: "ImageUndecodable" })

      // The copy finishes and, seen unchanged once more, the page is read whole.
      writeFileSync(join(dir, "page.png"), png)
      settle(join(dir, "page.png"))
      assert.deepStrictEqual(yield* outcomes, { "page.png": "settling" })
      assert.deepStrictEqual(yield* outcomes, { "page.png": "done" })
      assert.match(JSON.parse(readFileSync(join(dir, "outbox", "page.png.json"), "utf8")).text, /^This is a lot of 12 point text/)
      assert.deepStrictEqual(readdirSync(join(dir, "failed")).sort(), [
        "notes.txt", "notes.txt.error.json", "robin.ogg", "robin.ogg.error.json", "speech-not-a-scan.png", "speech-not-a-scan.png.error.json"
      ])
    }))
})
