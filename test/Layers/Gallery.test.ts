import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Gallery from "../../src/Layers/Gallery.js"
import * as Tasks from "../../src/Pool/Tasks.js"
import * as WorkerPool from "../../src/Pool/WorkerPool.js"
import * as WorkerSettings from "../../src/Pool/WorkerSettings.js"
import { poolOptions } from "../support/pool.js"
import * as shared from "../support/shared.js"

/** A unit vector along axis `i` of 128, tilted towards axis `j` by `t`. */
const unit = (i: number, j = i, t = 0) => {
  const v = Array.from({ length: 128 }, (_, k) => (k === i ? 1 : 0) + (k === j ? t : 0))
  const n = Math.hypot(...v)
  return v.map((x) => x / n)
}

const tempGallery = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "inferd-gallery-" })
  return { dir, open: Gallery.make({ dir, threshold: 0.5 }) }
})

describe("Gallery (gallery.json in a temporary folder)", () => {
  it.scoped("persists enrolments and removals across a new instance on the same folder", () =>
    Effect.gen(function*() {
      const { open } = yield* tempGallery
      const first = yield* open
      assert.deepStrictEqual(yield* first.enroll("alice", [unit(0), unit(0, 1, 0.1)]), { personId: "alice", embeddings: 2 })
      yield* first.enroll("bob", [unit(5)])
      yield* first.enroll("carol", [unit(9)])
      yield* first.remove("carol")
      // Ids that are also names of Object.prototype's members are people like any other.
      yield* first.enroll("__proto__", [unit(7)])
      yield* first.enroll("constructor", [unit(8)])
      const second = yield* open
      assert.deepStrictEqual(yield* second.list, [
        { personId: "__proto__", embeddings: 1 },
        { personId: "alice", embeddings: 2 },
        { personId: "bob", embeddings: 1 },
        { personId: "constructor", embeddings: 1 }
      ])
      assert.strictEqual((yield* second.identify(unit(5)))?.personId, "bob")
      assert.strictEqual((yield* second.identify(unit(7)))?.personId, "__proto__")
      yield* second.remove("__proto__")
      assert.strictEqual((yield* (yield* open).list).length, 3)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("re-enrolling replaces a person's embeddings (PUT)", () =>
    Effect.gen(function*() {
      const gallery = yield* (yield* tempGallery).open
      yield* gallery.enroll("alice", [unit(0), unit(1), unit(2)])
      yield* gallery.enroll("alice", [unit(3)])
      assert.deepStrictEqual(yield* gallery.list, [{ personId: "alice", embeddings: 1 }])
      assert.deepStrictEqual(yield* gallery.identify(unit(3)), { personId: "alice", similarity: 1 })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("20 concurrent enrolls all end up in the file", () =>
    Effect.gen(function*() {
      const { open } = yield* tempGallery
      const gallery = yield* open
      yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => gallery.enroll(`person-${i}`, [unit(i)]), { concurrency: "unbounded" })
      assert.strictEqual((yield* gallery.list).length, 20)
      const reloaded = yield* open
      assert.deepStrictEqual((yield* reloaded.list).map((p) => p.personId).sort(), Array.from({ length: 20 }, (_, i) => `person-${i}`).sort())
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("ignores and removes a temporary file a crash left behind", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const { dir, open } = yield* tempGallery
      yield* (yield* open).enroll("alice", [unit(0)])
      // A crash mid-write: half a JSON document under the temporary name.
      yield* fs.writeFileString(path.join(dir, "gallery.json.tmp"), "{\"version\":1,\"people\":[{\"personId\":\"mallory\",\"embe")
      const reopened = yield* open
      assert.deepStrictEqual(yield* reopened.list, [{ personId: "alice", embeddings: 1 }])
      assert.isFalse(yield* fs.exists(path.join(dir, "gallery.json.tmp")))
      yield* reopened.enroll("bob", [unit(1)])
      assert.strictEqual((yield* (yield* open).list).length, 2)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("moves a gallery file that does not parse aside, keeps it, and starts empty", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const { dir, open } = yield* tempGallery
      yield* fs.writeFileString(path.join(dir, "gallery.json"), "not json")
      const gallery = yield* open
      assert.deepStrictEqual(yield* gallery.list, [])
      const aside = (yield* fs.readDirectory(dir)).filter((name) => name.startsWith("gallery.json.corrupt-"))
      assert.strictEqual(aside.length, 1)
      assert.strictEqual(yield* fs.readFileString(path.join(dir, aside[0]!)), "not json")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("refuses invalid person ids and unknown people", () =>
    Effect.gen(function*() {
      const gallery = yield* Gallery.Gallery
      for (const bad of ["", "a/b", "../x", "x".repeat(65), "name with space", "é"]) {
        const error = yield* Effect.flip(gallery.enroll(bad, [unit(0)]))
        assert.strictEqual(error._tag, "InvalidPersonId", bad)
      }
      assert.strictEqual((yield* gallery.enroll("A.b_c-9", [unit(0)])).personId, "A.b_c-9")
      const missing = yield* Effect.flip(gallery.remove("nobody"))
      assert.deepInclude(missing, { _tag: "PersonNotFound", personId: "nobody" })
    }).pipe(Effect.provide(Gallery.layerTest())))

  it.effect("identifies by the mean of a person's embeddings, and not under the threshold", () =>
    Effect.gen(function*() {
      const gallery = yield* Gallery.Gallery
      // Alice's two photos straddle axis 0; Bob has one photo close to the probe's tilt.
      yield* gallery.enroll("alice", [unit(0, 1, 0.5), unit(0, 2, 0.5)])
      yield* gallery.enroll("bob", [unit(3)])
      const alice = yield* gallery.identify(unit(0))
      assert.strictEqual(alice?.personId, "alice")
      assert.approximately(alice!.similarity, 0.9428, 1e-3)
      assert.isNull(yield* gallery.identify(unit(7)))
      // cos = 0.447: under 0.5.
      assert.isNull(yield* gallery.identify(unit(3, 8, 2)))
    }).pipe(Effect.provide(Gallery.layerTest({ threshold: 0.5 }))))

  it.effect("a failed save changes nothing", () =>
    Effect.gen(function*() {
      let saves = 0
      const gallery = yield* Gallery.makeWith({
        load: Effect.succeed({ version: 1, people: [] }),
        save: () => ++saves > 1 ? Effect.fail(new Gallery.GalleryStorageFailed({ message: "disk full" })) : Effect.void
      }, 0.5)
      yield* gallery.enroll("alice", [unit(0)])
      const error = yield* Effect.flip(gallery.enroll("bob", [unit(1)]))
      assert.strictEqual(error._tag, "GalleryStorageFailed")
      assert.deepStrictEqual((yield* gallery.list).map((p) => p.personId), ["alice"])
      assert.isNull(yield* gallery.identify(unit(1)))
    }))
})

const MODELS = fileURLToPath(new URL("../../../shared/data/models", import.meta.url))
const PHOTOS = fileURLToPath(new URL("../../../shared/data/images/faces", import.meta.url))
const hasShared = shared.has("Gallery with real embeddings", "data/models/MobileFaceNet.onnx", "data/models/version-RFB-640.onnx", "data/images/faces")

const Pool = Layer.scoped(WorkerPool.WorkerPool, WorkerPool.make(poolOptions({ taskTimeout: Duration.seconds(60), settings: WorkerSettings.forTests({ modelsDir: MODELS }) })))

/** The faces of a shared photo, left to right, with embeddings. */
const faces = (name: string) =>
  Effect.flatMap(WorkerPool.WorkerPool, (pool) =>
    pool.submit(Tasks.detectFaces(new Uint8Array(readFileSync(`${PHOTOS}/${name}`)), { model: "accurate", threshold: 0.7, embed: true }))).pipe(
      Effect.map((result) => [...result.faces].sort((a, b) => a.box.x - b.box.x).map((face) => face.embedding!))
    )

describe.skipIf(!hasShared)("Gallery with real embeddings", () => {
  layer(Layer.merge(Pool, Gallery.layerTest()), { timeout: 120_000, excludeTestServices: true })("(real worker)", (it) => {
    it.effect("rank-1: enrolled from obama.jpg (A) and biden.jpg (B), names every other photo of them", () =>
      Effect.gen(function*() {
        const gallery = yield* Gallery.Gallery
        yield* gallery.enroll("A", yield* faces("obama.jpg"))
        yield* gallery.enroll("B", yield* faces("biden.jpg"))
        const [obama2] = yield* faces("obama2.jpg")
        const [rgba] = yield* faces("obama_rgba_32bit.png")
        const [left, right] = yield* faces("two_people.jpg")
        const named = yield* Effect.forEach([obama2!, rgba!, left!, right!], (e) => gallery.identify(e))
        yield* Effect.log(`identified: ${JSON.stringify(named)}`)
        assert.deepStrictEqual(named.map((m) => m?.personId), ["A", "A", "A", "B"])
        // Strangers from the group photos match no one.
        for (const name of ["group4_ultraface2.jpg", "family5_ultraface19.jpg", "group3_ultraface23.jpg", "pair_ultraface13.jpg"]) {
          for (const stranger of yield* faces(name)) assert.isNull(yield* gallery.identify(stranger), name)
        }
      }))
  })
})
