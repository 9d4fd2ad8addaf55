import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
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
})
