import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { mkdtempSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Models from "../../src/Layers/Models.js"

describe("Models", () => {
  it.effect("reuses a folder's answer for 2 s without touching the disk, then looks again (an Effect Cache on the clock)", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "inferd-models-"))
      const registry = yield* Models.Models
      const states = Effect.map(registry.status(dir), (all) => all.map((s) => s.state))
      assert.deepStrictEqual(yield* states, ["missing", "missing"])
      writeFileSync(join(dir, Models.FACE_MODELS[0]!.file), "not a model")
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* states, ["missing", "missing"])
      yield* TestClock.adjust("1001 millis")
      assert.deepStrictEqual(yield* states, ["invalid", "missing"])
    }).pipe(Effect.provide(Models.layer), Effect.provide(NodeContext.layer)))

  it.effect("says missing, invalid or present, and hashes a file again only when its size or mtime changed", () => {
    // The node file system, counting the files it streams: sha256 is the only reader of whole files here.
    const hashed: Array<string> = []
    const Counting = Layer.effect(
      FileSystem.FileSystem,
      Effect.map(FileSystem.FileSystem, (fs) => ({
        ...fs,
        stream: (path, options) => (hashed.push(path), fs.stream(path, options))
      }) satisfies FileSystem.FileSystem)
    ).pipe(Layer.provide(NodeContext.layer))
    return Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "inferd-models-"))
      const registry = yield* Models.Models
      const [yunet, mobile] = Models.FACE_MODELS
      const big = join(dir, yunet!.file)
      writeFileSync(join(dir, mobile!.file), "short")
      // Right size, wrong bytes: only the sha256 can tell.
      writeFileSync(big, new Uint8Array(yunet!.bytes))
      const status = yield* registry.status(dir)
      assert.deepStrictEqual(status.map((s) => s.state), ["invalid", "invalid"])
      assert.strictEqual(status[1]!.detail, `5 bytes, expected ${mobile!.bytes}`)
      assert.match(status[0]!.detail!, /^sha256 [0-9a-f]{64}, expected daede240/)
      assert.deepStrictEqual(hashed, [big]) // the short file is refused by its size, unread

      // Past the folder's 2 s: every file is looked at again, but the unchanged one is not hashed again.
      yield* TestClock.adjust("3 seconds")
      assert.deepStrictEqual(yield* registry.status(dir), status)
      assert.deepStrictEqual(hashed, [big])

      // Same size, new bytes and mtime: hashed once more.
      const changed = new Uint8Array(yunet!.bytes).fill(1)
      writeFileSync(big, changed)
      utimesSync(big, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000))
      yield* TestClock.adjust("3 seconds")
      const again = yield* registry.status(dir)
      assert.deepStrictEqual(hashed, [big, big])
      assert.notStrictEqual(again[0]!.detail, status[0]!.detail)
    }).pipe(Effect.provide(Models.layer), Effect.provide(Counting), Effect.provide(NodeContext.layer))
  })
})
