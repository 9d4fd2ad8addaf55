import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import * as Tasks from "../../src/Pool/Tasks.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import { poolOptions } from "../support/pool.js"

const simplePng = readFileSync(new URL("../fixtures/images/simple.png", import.meta.url))

// Bytes that own their ArrayBuffer are moved to the worker; any other view is copied. A Buffer under 4 KiB is
// a view into Node's shared 8 KiB pool, which Node 21+ refuses to transfer (DataCloneError) where 20 copied it.
describe("bytes sent to a worker (real worker thread, real tesseract.js)", () => {
  it.live("are copied when they are a view into a larger buffer, moved when they own theirs", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* WorkerPool.make(poolOptions())
      const pooled = Buffer.from(simplePng)
      assert.isAbove(pooled.buffer.byteLength, pooled.byteLength, "a small Buffer is a view into Node's pool")
      const result = yield* pool.submit(Tasks.ocr(pooled))
      assert.strictEqual(result.text.trim(), "Tesseract.js")
      assert.strictEqual(result.width, 320)
      assert.isTrue(pooled.equals(simplePng), "the caller's Buffer is left as it was")

      const whole = new Uint8Array(4096).fill(7)
      assert.deepStrictEqual(yield* pool.submit(Tasks.echo(1, whole.subarray(96, 1096))), { n: 1, bytes: 1000 })
      assert.strictEqual(whole.byteLength, 4096, "a subarray's neighbours are not detached")
      assert.strictEqual(whole[4095], 7)

      const own = new Uint8Array(1000)
      assert.deepStrictEqual(yield* pool.submit(Tasks.echo(2, own)), { n: 2, bytes: 1000 })
      assert.strictEqual(own.byteLength, 0, "bytes that own their buffer are transferred, not copied")
    })), 120_000)
})
