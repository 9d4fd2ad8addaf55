/**
 * The inbox loop on a real folder while half of its filesystem calls fail: it keeps running, backs off,
 * says so in its status, and once the faults stop it catches up by itself with every file intact.
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { SystemError } from "@effect/platform/Error"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Schedule } from "effect"
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Inbox from "../../src/Fibers/Inbox.js"
import * as Loops from "../../src/Fibers/Loops.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import { poolOptions } from "../support/server.js"

const page = new URL("../fixtures/images/simple.png", import.meta.url).pathname

/** A FileSystem whose every other call (while `faulty.on`) fails with an I/O error. */
const faulty = { on: true, calls: 0, failed: 0 }
const flaky = <A, E>(effect: Effect.Effect<A, E>, method: string): Effect.Effect<A, E | SystemError> =>
  Effect.suspend((): Effect.Effect<A, E | SystemError> => {
    if (faulty.on && faulty.calls++ % 2 === 0) {
      faulty.failed++
      return Effect.fail(new SystemError({ reason: "Unknown", module: "FileSystem", method, description: "injected I/O fault" }))
    }
    return effect
  })

const FlakyFileSystem = Layer.effect(
  FileSystem.FileSystem,
  Effect.map(FileSystem.FileSystem, (fs) => ({
    ...fs,
    exists: (path) => flaky(fs.exists(path), "exists"),
    readDirectory: (path, options) => flaky(fs.readDirectory(path, options), "readDirectory"),
    readFile: (path) => flaky(fs.readFile(path), "readFile"),
    rename: (from, to) => flaky(fs.rename(from, to), "rename"),
    stat: (path) => flaky(fs.stat(path), "stat")
  }) satisfies FileSystem.FileSystem)
).pipe(Layer.provide(NodeContext.layer))

const dir = mkdtempSync(join(tmpdir(), "inferd-inbox-faults-"))
const names = Array.from({ length: 6 }, (_, i) => `f${i}.png`)
names.forEach((name) => copyFileSync(page, join(dir, name)))

describe("inbox under injected I/O faults", () => {
  it.live("backs off while half the I/O calls fail, then recovers and loses no file", () =>
    Effect.gen(function*() {
      const loops = yield* Loops.Loops
      const status = Effect.flatMap(loops.get("inbox"), Option.match({ onNone: () => Effect.die("no inbox loop"), onSome: (l) => l.status }))

      // While faults are on, the loop must be seen failing and backing off, and still be alive.
      const backingOff = yield* status.pipe(Effect.delay("20 millis"), Effect.repeat({ until: (s) => s.state === "backing-off" }), Effect.timeout("20 seconds"))
      assert.isAbove(backingOff.consecutiveFailures, 0)
      assert.isNotNull(backingOff.lastError)
      assert.isAbove(faulty.failed, 0)

      faulty.on = false
      const left = () => readdirSync(dir).filter((f) => f.endsWith(".png"))
      yield* Effect.sync(left).pipe(Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (l) => l.length === 0 }), Effect.timeout("60 seconds"))
      for (const name of names) {
        assert.isTrue(existsSync(join(dir, "done", name)), name)
        assert.strictEqual(JSON.parse(readFileSync(join(dir, "outbox", `${name}.json`), "utf8")).text.trim(), "Tesseract.js")
      }
      const recovered = yield* status.pipe(Effect.delay("50 millis"), Effect.repeat({ until: (s) => s.consecutiveFailures === 0 }), Effect.timeout("30 seconds"))
      assert.isAbove(recovered.failures, 0)
      assert.notStrictEqual(recovered.state, "backing-off")
    }).pipe(
      Effect.provide(Inbox.layer.pipe(
        Layer.provideMerge(Loops.layer),
        Layer.provide(Layer.scoped(WorkerPool.WorkerPool, WorkerPool.make(poolOptions()))),
        Layer.provide(FlakyFileSystem),
        Layer.provide(NodeContext.layer),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson({ INFERD_INBOX: dir, INFERD_INBOX_INTERVAL: "200 millis" })))
      ))
    ), 120_000)
})
